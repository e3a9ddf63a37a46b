//! The rules every id from input keeps (task, framework, executor, agent): Mesos'
//! `common::validation::validateID` (non-empty, no control characters, no path separators),
//! plus what Corral needs because ids become file and directory names on agents: not `.` or
//! `..`, and at most [`MAX_ID_BYTES`] bytes. A refusal quotes the id shortened, so a 1 MiB id
//! does not end up in every log line.

use std::fmt;

/// `NAME_MAX` on Linux: an id that is a sandbox directory or checkpoint file name must fit.
pub const MAX_ID_BYTES: usize = 255;

/// How much of a refused id its error quotes.
const QUOTED_CHARS: usize = 64;

/// Why an id was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidId {
    /// What the id names ("Task", "Framework", ...).
    pub kind: &'static str,
    /// The start of the id, escaped, for the message.
    pub quoted: String,
    pub problem: &'static str,
}

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ID '{}' is invalid: {}",
            self.kind, self.quoted, self.problem
        )
    }
}

impl std::error::Error for InvalidId {}

/// Checks one id; `kind` names it in the error.
pub fn validate_id(kind: &'static str, id: &str) -> Result<(), InvalidId> {
    let problem = if id.is_empty() {
        Some("ID must not be empty")
    } else if id.len() > MAX_ID_BYTES {
        Some("ID must be at most 255 bytes (it becomes a file name on agents)")
    } else if id == "." || id == ".." {
        Some("'.' and '..' are disallowed")
    } else if id.contains('/') || id.contains('\\') {
        Some("'/' and '\\' are disallowed")
    } else if id.chars().any(char::is_control) {
        Some("ID must not contain control characters")
    } else {
        None
    };
    match problem {
        Some(problem) => Err(InvalidId {
            kind,
            quoted: quote(id),
            problem,
        }),
        None => Ok(()),
    }
}

/// `id` for a message: its first characters, escaped, with `...` when cut.
pub fn quote(id: &str) -> String {
    let mut quoted: String = id.chars().take(QUOTED_CHARS).collect::<String>();
    quoted = quoted.escape_debug().to_string();
    if id.chars().count() > QUOTED_CHARS {
        quoted.push_str("...");
    }
    quoted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_ids_pass() {
        for id in [
            "t1",
            "shop_web.4f1c",
            "a-b_c.d:e@f",
            &"x".repeat(MAX_ID_BYTES),
        ] {
            assert_eq!(validate_id("Task", id), Ok(()), "{id}");
        }
    }

    #[test]
    fn each_rule_refuses_with_its_reason() {
        let cases = [
            ("", "must not be empty"),
            (".", "'.' and '..'"),
            ("..", "'.' and '..'"),
            ("a/b", "'/' and '\\'"),
            ("a\\b", "'/' and '\\'"),
            ("a\nb", "control characters"),
            ("a\u{7f}", "control characters"),
        ];
        for (id, reason) in cases {
            let err = validate_id("Task", id).expect_err(id);
            assert!(err.to_string().contains(reason), "{id:?}: {err}");
        }
    }

    #[test]
    fn a_long_id_is_refused_and_quoted_short() {
        let id = "x".repeat(MAX_ID_BYTES + 1);
        let err = validate_id("Framework", &id).expect_err("too long");
        assert!(err.to_string().starts_with("Framework ID 'xxxx"));
        assert!(err.to_string().contains("at most 255 bytes"));
        let huge = "y".repeat(1 << 20);
        let message = validate_id("Task", &huge).expect_err("1 MiB").to_string();
        assert!(
            message.len() < 200,
            "the message stays short: {} bytes",
            message.len()
        );
    }

    #[test]
    fn the_byte_limit_counts_bytes_not_characters() {
        // 128 two-byte characters: 256 bytes, over the file-name limit.
        let id = "é".repeat(128);
        assert!(validate_id("Task", &id).is_err());
        assert!(validate_id("Task", &"é".repeat(127)).is_ok());
    }
}
