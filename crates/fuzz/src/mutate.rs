//! The stable runner's mutator, hand-written (no dependency): byte-level mutations (bit
//! flips, byte inserts, deletes, duplicates, splices of two corpus entries, truncation,
//! tokens that break parsers) and, for inputs that are JSON, mutations of the tree (extreme
//! and non-finite-looking numbers, very long strings, deep nesting, wrong types, unknown
//! keys, subtrees of other corpus entries).

use serde_json::{Map, Value};

use super::rng::Rng;

/// The largest input the runner makes.
pub const MAX_INPUT: usize = 64 * 1024;

/// Tokens that break parsers, inserted anywhere.
const TOKENS: &[&[u8]] = &[
    b"1e306",
    b"-1e306",
    b"1e400",
    b"-0",
    b"1e-400",
    b"NaN",
    b"Infinity",
    b"null",
    b"true",
    b"\"\"",
    b"[",
    b"]",
    b"{",
    b"}",
    b",",
    b":",
    b";",
    b"(",
    b")",
    b"-",
    b"\\u0000",
    b"\\ud800",
    b"18446744073709551615",
    b"18446744073709551616",
    b"-9223372036854775809",
    b"4294967296",
    b"0.0005",
    b"..",
    b"/",
    b"*",
    b"\n",
    b"\r\n",
    b"\xff\xfe",
    b"\xc3\xa9",
    b"9999999999999999999999",
];

/// Numbers a JSON node may become.
const NUMBERS: &[f64] = &[
    1e306,
    -1e306,
    f64::MAX,
    f64::MIN_POSITIVE,
    -0.0,
    0.0,
    -1.0,
    0.0005,
    0.0004,
    1e12,
    1e12 + 1.0,
    9_007_199_254_740_993.0,
    4_294_967_296.0,
    65_536.0,
    1e-300,
];

/// One mutant of `input`; `corpus` lends material for splices.
pub fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        if rng.one_in(2)
            && let Some(mutant) = mutate_json(rng, &out, corpus)
        {
            out = mutant;
            continue;
        }
        mutate_bytes(rng, &mut out, corpus);
    }
    out.truncate(MAX_INPUT);
    out
}

fn mutate_bytes(rng: &mut Rng, out: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    let len = out.len();
    match rng.below(10) {
        0 if len > 0 => {
            let at = rng.below(len);
            out[at] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let at = rng.below(len);
            out[at] = rng.byte();
        }
        2 => {
            let at = rng.below(len + 1);
            let bytes: Vec<u8> = (0..1 + rng.below(8)).map(|_| rng.byte()).collect();
            out.splice(at..at, bytes);
        }
        3 if len > 0 => {
            let start = rng.below(len);
            let end = start + rng.below((len - start).min(64)) + 1;
            out.drain(start..end.min(len));
        }
        4 if len > 0 => {
            // Duplicate a slice, possibly many times: long runs and repeated elements.
            let start = rng.below(len);
            let end = (start + 1 + rng.below(64)).min(len);
            let piece = out[start..end].to_vec();
            let most = if rng.one_in(8) { 512 } else { 4 };
            let times = 1 + rng.below(most);
            let at = rng.below(len + 1);
            let copies: Vec<u8> = piece
                .iter()
                .copied()
                .cycle()
                .take(piece.len() * times)
                .collect();
            out.splice(at..at, copies);
        }
        5 => {
            // Splice: this input's head, another's tail.
            if let Some(other) = rng.pick(corpus) {
                let head = rng.below(len + 1);
                let tail = rng.below(other.len() + 1);
                out.truncate(head);
                out.extend_from_slice(&other[tail..]);
            }
        }
        6 if len > 0 => out.truncate(rng.below(len)),
        7 | 8 => {
            if let Some(token) = rng.pick(TOKENS) {
                let at = rng.below(len + 1);
                if rng.one_in(2) && at < len {
                    // Replace the run of digits (or the byte) at `at` with the token.
                    let end = at
                        + out[at..]
                            .iter()
                            .take_while(|b| b.is_ascii_digit() || **b == b'.')
                            .count()
                            .max(1);
                    out.splice(at..end, token.iter().copied());
                } else {
                    out.splice(at..at, token.iter().copied());
                }
            }
        }
        _ if len > 0 => {
            let at = rng.below(len);
            out[at] = if rng.one_in(2) {
                out[at].wrapping_add(1)
            } else {
                out[at].wrapping_sub(1)
            };
        }
        _ => out.push(rng.byte()),
    }
}

/// A mutant of the JSON tree of `input`, or `None` when `input` is not JSON.
fn mutate_json(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Option<Vec<u8>> {
    let mut value: Value = serde_json::from_slice(input).ok()?;
    let nodes = count(&value);
    let target = rng.below(nodes);
    let mut donor = donor_subtree(rng, corpus);
    let mut index = 0;
    visit(&mut value, target, &mut index, &mut |node: &mut Value| {
        replace(rng, node, donor.take())
    });
    serde_json::to_vec(&value).ok()
}

/// A random subtree of a random corpus entry that is JSON.
fn donor_subtree(rng: &mut Rng, corpus: &[Vec<u8>]) -> Option<Value> {
    let entry = rng.pick(corpus)?;
    let mut value: Value = serde_json::from_slice(entry).ok()?;
    let target = rng.below(count(&value));
    let mut index = 0;
    let mut found = None;
    visit(&mut value, target, &mut index, &mut |node: &mut Value| {
        found = Some(node.clone())
    });
    found
}

fn count(value: &Value) -> usize {
    1 + match value {
        Value::Array(items) => items.iter().map(count).sum(),
        Value::Object(fields) => fields.values().map(count).sum(),
        _ => 0,
    }
}

/// Calls `f` on the `target`-th node in pre-order.
fn visit(value: &mut Value, target: usize, index: &mut usize, f: &mut dyn FnMut(&mut Value)) {
    if *index == target {
        f(value);
        *index += 1;
        return;
    }
    *index += 1;
    match value {
        Value::Array(items) => {
            for item in items {
                if *index > target {
                    return;
                }
                visit(item, target, index, f);
            }
        }
        Value::Object(fields) => {
            for item in fields.values_mut() {
                if *index > target {
                    return;
                }
                visit(item, target, index, f);
            }
        }
        _ => {}
    }
}

fn replace(rng: &mut Rng, node: &mut Value, donor: Option<Value>) {
    match rng.below(10) {
        0 => {
            if let Some(n) = rng
                .pick(NUMBERS)
                .and_then(|n| serde_json::Number::from_f64(*n))
            {
                *node = Value::Number(n);
            }
        }
        1 => {
            let big = [u64::MAX, 1 << 53, u64::from(u32::MAX) + 1, 0];
            *node = match rng.pick(&big) {
                Some(n) => Value::from(*n),
                None => Value::from(i64::MIN),
            };
        }
        2 => *node = Value::String(odd_string(rng)),
        3 => {
            let wrong = [
                Value::Null,
                Value::Bool(true),
                Value::Object(Map::new()),
                Value::Array(Vec::new()),
                Value::from(0),
                Value::String(String::new()),
            ];
            if let Some(w) = rng.pick(&wrong) {
                *node = w.clone();
            }
        }
        4 => {
            // Deep nesting, around serde_json's recursion limit of 128.
            let depth = 100 + rng.below(40);
            let mut nested = std::mem::take(node);
            for _ in 0..depth {
                nested = if rng.one_in(2) {
                    Value::Array(vec![nested])
                } else {
                    let mut fields = Map::new();
                    fields.insert("a".into(), nested);
                    Value::Object(fields)
                };
            }
            *node = nested;
        }
        5 => match node {
            Value::Object(fields) => {
                if rng.one_in(2) {
                    fields.insert(format!("unknown_{}", rng.below(100)), Value::from(1));
                } else if let Some(key) = fields.keys().nth(rng.below(fields.len())).cloned() {
                    fields.remove(&key);
                }
            }
            Value::Array(items) => {
                if let Some(item) = items.get(rng.below(items.len())).cloned() {
                    let most = if rng.one_in(4) { 256 } else { 3 };
                    let times = 1 + rng.below(most);
                    items.extend(std::iter::repeat_n(item, times));
                } else {
                    items.clear();
                }
            }
            _ => *node = Value::Array(vec![std::mem::take(node)]),
        },
        6 | 7 => {
            if let Some(donor) = donor {
                *node = donor;
            }
        }
        8 => {
            if let Value::String(s) = node {
                // Numbers and specials as strings (proto3 JSON writes them so).
                let specials = ["NaN", "Infinity", "-Infinity", "1e306", "-1", "0x10", " 1 "];
                if let Some(special) = rng.pick(&specials) {
                    *s = (*special).to_string();
                }
            } else if let Value::Number(n) = node {
                *node = Value::String(n.to_string());
            }
        }
        _ => {
            if let Value::Number(n) = node
                && let Some(f) = n.as_f64()
            {
                let scaled = f * [10.0, -1.0, 1e300, 0.5][rng.below(4)];
                if let Some(n) = serde_json::Number::from_f64(scaled) {
                    *node = Value::Number(n);
                }
            } else {
                *node = Value::String(odd_string(rng));
            }
        }
    }
}

fn odd_string(rng: &mut Rng) -> String {
    match rng.below(9) {
        0 => String::new(),
        1 => "x".repeat(255 + rng.below(3)),
        2 => "y".repeat(20_000),
        3 => "é".repeat(127 + rng.below(3)),
        4 => ["/", "..", ".", "a/b", "a\\b", "*", "-a", "a//b", " "][rng.below(9)].to_string(),
        5 => "\u{0}\u{7f}\n".to_string(),
        6 => "\u{202e}\u{fffd}\u{1F600}".to_string(),
        7 => "a".repeat(1 + rng.below(8)),
        _ => format!("{}", rng.next_u64()),
    }
}
