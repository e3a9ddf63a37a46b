//! Names as Mesos-DNS makes them (records/labels/labels.go, records/generator.go): each
//! label lowercased, `.` `_` `-` turned into `-`, other characters dropped, cut to 63
//! bytes (RFC 1123) without leading or trailing `-`; a canonical task name carries a hash of
//! the task id (SHA-1, z-base-32, 5 characters) and the tail of the agent id.

use sha1::{Digest, Sha1};

/// Longest DNS label (RFC 1123).
pub const MAX_LABEL: usize = 63;

/// One label of a name, as Mesos-DNS's `labels.RFC1123`.
pub fn label(name: &str) -> String {
    let mapped: Vec<u8> = name
        .chars()
        .filter_map(|c| match c {
            'A'..='Z' => Some(c.to_ascii_lowercase() as u8),
            'a'..='z' | '0'..='9' => Some(c as u8),
            '-' | '.' | '_' => Some(b'-'),
            _ => None,
        })
        .collect();
    let cut = trim_cut(&mapped, MAX_LABEL);
    // Only ASCII letters, digits and '-' remain.
    String::from_utf8(cut).unwrap_or_default()
}

/// `labels.trimCut`: trims `-` on the left, cuts at `max`, trims `-` on the right of the cut
/// and refills what that trimmed from past the cut.
fn trim_cut(label: &[u8], max: usize) -> Vec<u8> {
    let start = label.iter().position(|b| *b != b'-').unwrap_or(label.len());
    let trim = &label[start..];
    let size = trim.len().min(max);
    let head_end = trim[..size]
        .iter()
        .rposition(|b| *b != b'-')
        .map_or(0, |i| i + 1);
    let mut head = trim[..head_end].to_vec();
    if head.len() == size {
        return head;
    }
    let rest = &trim[size..];
    let tail_start = rest.iter().position(|b| *b != b'-').unwrap_or(rest.len());
    let tail = &rest[tail_start..];
    if !tail.is_empty() {
        let room = size - head.len();
        head.extend_from_slice(&tail[..tail.len().min(room)]);
    }
    head
}

/// `labels.DomainFrag`: a dotted name made of valid labels (empty ones dropped). A framework
/// named `my.fw` keeps its two labels.
pub fn domain_frag(name: &str) -> String {
    name.split('.')
        .map(label)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(".")
}

const ZBASE32: &[u8; 32] = b"ybndrfg8ejkmcpqxot1uwisza345h769";

/// Mesos-DNS's `hashString`: the first 5 z-base-32 characters of the id's SHA-1.
pub fn task_id_hash(task_id: &str) -> String {
    let digest = Sha1::digest(task_id.as_bytes());
    // 5 characters are 25 bits: the first 4 bytes hold them.
    let bits = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
    (0..5)
        .map(|i| ZBASE32[((bits >> (27 - 5 * i)) & 0x1f) as usize] as char)
        .collect()
}

/// Mesos-DNS's `slaveIDTail`: the last `-`-separated part of an agent id, lowercased
/// (`...-S3` is `s3`).
pub fn agent_id_tail(agent_id: &str) -> String {
    agent_id
        .rsplit('-')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_sanitized_as_mesos_dns_does() {
        // Cases from Mesos-DNS's labels_test.go (RFC1123).
        assert_eq!(label("4abc123"), "4abc123");
        assert_eq!(label("-abc123"), "abc123");
        assert_eq!(label("abc123-"), "abc123");
        assert_eq!(label("abc-123"), "abc-123");
        assert_eq!(label("abc--123"), "abc--123");
        assert_eq!(
            label("fd%gsf---gs7-f$gs--d7fddg-123"),
            "fdgsf---gs7-fgs--d7fddg-123"
        );
        assert_eq!(
            label("fd%gsf---gs7-f$gs--d7fddg-123"),
            "fdgsf---gs7-fgs--d7fddg-123"
        );
        assert_eq!(label("Web_Server.Prod"), "web-server-prod");
        assert_eq!(label("ünïcode"), "ncode");
        let long = "a".repeat(70);
        assert_eq!(label(&long).len(), 63);
        // A '-' at the cut is dropped and the label refilled from past it.
        let at_cut = format!("{}-{}", "a".repeat(62), "bcd");
        assert_eq!(label(&at_cut), format!("{}b", "a".repeat(62)));
    }

    #[test]
    fn domain_fragments_keep_their_labels() {
        assert_eq!(domain_frag("marathon"), "marathon");
        assert_eq!(domain_frag("My.Frame_work"), "my.frame-work");
        assert_eq!(domain_frag("a..b."), "a.b");
        assert_eq!(domain_frag("!!!"), "");
    }

    #[test]
    fn task_hashes_match_mesos_dns() {
        // sha1("") = da39a3ee...: its first 25 bits in z-base-32.
        assert_eq!(task_id_hash(""), "5eh48");
        assert_eq!(task_id_hash("x").len(), 5);
        assert_ne!(task_id_hash("a"), task_id_hash("b"));
    }

    #[test]
    fn agent_tails_are_the_last_part_lowercased() {
        assert_eq!(agent_id_tail("20150101-000000-1-S3"), "s3");
        assert_eq!(agent_id_tail("m1-S0"), "s0");
        assert_eq!(agent_id_tail("plain"), "plain");
    }
}
