//! App ids: slash-separated paths such as `/shop/web` (Marathon's `PathId`). Empty segments
//! are dropped (`//shop//web` is `/shop/web`), `.` and `..` are resolved, and a relative id is
//! taken from the root. Tasks carry the id in "safe" form, segments joined by `_`
//! (`shop_web`), which is reversible because `_` is not allowed in a segment.

use std::sync::LazyLock;

use regex::Regex;

/// One segment: lowercase letters, digits, dashes and dots; no dash or dot at either end.
const SEGMENT_PATTERN: &str = r"^(([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9\-]*[a-z0-9])|(\.|\.\.)$";

/// Java's `matches()` must match the whole segment, so the pattern is anchored as a whole.
static SEGMENT: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(&format!("^(?:{SEGMENT_PATTERN})$")).ok());

/// Segments that name sub-resources of an app in the URL, so no app may end with them.
const RESERVED: [&str; 3] = ["restart", "tasks", "versions"];

/// A canonical, absolute app id.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PathId {
    segments: Vec<String>,
}

impl PathId {
    /// The canonical absolute form of `text`: never fails; [`PathId::problems`] says whether
    /// the result is a valid app id.
    pub fn parse(text: &str) -> PathId {
        let mut segments: Vec<String> = Vec::new();
        for part in text.split('/').filter(|p| !p.is_empty()) {
            match part {
                "." => {}
                ".." => {
                    segments.pop();
                }
                other => segments.push(other.to_string()),
            }
        }
        PathId { segments }
    }

    /// The id from its safe form (`shop_web` is `/shop/web`).
    pub fn from_safe(safe: &str) -> PathId {
        PathId::parse(&safe.replace('_', "/"))
    }

    /// Why `text` is not a valid app id (empty when it is), in Marathon's words.
    pub fn problems(text: &str) -> Vec<String> {
        let id = PathId::parse(text);
        let mut problems = Vec::new();
        let raw_segments: Vec<&str> = text.split('/').filter(|p| !p.is_empty()).collect();
        if let Some(pattern) = SEGMENT.as_ref()
            && raw_segments.iter().any(|s| !pattern.is_match(s))
        {
            problems.push(format!(
                "must fully match regular expression '{SEGMENT_PATTERN}'"
            ));
        }
        if id.segments.is_empty() {
            problems.push("Path must contain at least one path element".to_string());
        } else if id
            .segments
            .last()
            .is_some_and(|last| RESERVED.contains(&last.as_str()))
        {
            problems.push(format!(
                "must not end with any of the following reserved keywords: {}",
                RESERVED.join(", ")
            ));
        }
        problems
    }

    pub fn is_root(&self) -> bool {
        self.segments.is_empty()
    }

    /// `shop_web`: the form inside task ids and store keys.
    pub fn safe(&self) -> String {
        self.segments.join("_")
    }

    /// `web.shop`: a hostname-like name (the tasks' `name`, as Marathon sets it).
    pub fn hostname(&self) -> String {
        let mut reversed: Vec<&str> = self.segments.iter().map(String::as_str).collect();
        reversed.reverse();
        reversed.join(".")
    }

    /// Every proper ancestor, nearest first (`/a/b/c` gives `/a/b`, `/a`), the root excluded.
    pub fn ancestors(&self) -> Vec<PathId> {
        (1..self.segments.len())
            .rev()
            .map(|n| PathId {
                segments: self.segments[..n].to_vec(),
            })
            .collect()
    }

    /// Whether this id lies under `group` (a group path such as `/shop`), or is it.
    pub fn is_within(&self, group: &PathId) -> bool {
        self.segments.starts_with(&group.segments)
    }
}

impl std::fmt::Display for PathId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "/{}", self.segments.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_drops_doubled_slashes_and_resolves_dots() {
        assert_eq!(PathId::parse("//shop//web/").to_string(), "/shop/web");
        assert_eq!(PathId::parse("shop/web").to_string(), "/shop/web");
        assert_eq!(
            PathId::parse("/shop/./cart/../web").to_string(),
            "/shop/web"
        );
        assert!(PathId::parse("/").is_root());
    }

    #[test]
    fn safe_form_round_trips_and_hostname_reverses() {
        let id = PathId::parse("/shop/web");
        assert_eq!(id.safe(), "shop_web");
        assert_eq!(PathId::from_safe("shop_web"), id);
        assert_eq!(id.hostname(), "web.shop");
        assert_eq!(
            id.ancestors()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            vec!["/shop"]
        );
    }

    #[test]
    fn problems_name_marathons_rules() {
        assert!(PathId::problems("/shop/web-1").is_empty());
        assert!(PathId::problems("/my.app").is_empty());
        assert!(PathId::problems("/Shop")[0].starts_with("must fully match regular expression"));
        assert!(PathId::problems("/shop_web")[0].starts_with("must fully match"));
        assert!(PathId::problems("/-web")[0].starts_with("must fully match"));
        assert_eq!(
            PathId::problems("/"),
            vec!["Path must contain at least one path element"]
        );
        assert_eq!(
            PathId::problems("/shop/tasks"),
            vec![
                "must not end with any of the following reserved keywords: restart, tasks, versions"
            ]
        );
    }
}
