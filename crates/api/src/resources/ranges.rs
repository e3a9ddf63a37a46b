//! Inclusive integer ranges, kept sorted and merged.

use crate::v1::Range;

pub fn merge(mut list: Vec<Range>) -> Vec<Range> {
    list.retain(|r| r.begin <= r.end);
    list.sort_by_key(|r| r.begin);
    let mut out: Vec<Range> = Vec::with_capacity(list.len());
    for r in list {
        match out.last_mut() {
            Some(last) if r.begin <= last.end.saturating_add(1) => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

pub fn subtract(have: Vec<Range>, take: &[Range]) -> Vec<Range> {
    let mut out = merge(have);
    for t in take {
        let mut next = Vec::with_capacity(out.len() + 1);
        for r in out {
            if t.end < r.begin || t.begin > r.end {
                next.push(r);
                continue;
            }
            if r.begin < t.begin {
                next.push(Range {
                    begin: r.begin,
                    end: t.begin - 1,
                });
            }
            if r.end > t.end {
                next.push(Range {
                    begin: t.end + 1,
                    end: r.end,
                });
            }
        }
        out = next;
    }
    out
}

pub fn contains(have: &[Range], want: &[Range]) -> bool {
    let have = merge(have.to_vec());
    want.iter()
        .filter(|w| w.begin <= w.end)
        .all(|w| have.iter().any(|h| h.begin <= w.begin && w.end <= h.end))
}
