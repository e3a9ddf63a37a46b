//! ACL objects that are Marathon path ids (`manage_apps`, `view_apps`): a value names a group
//! or an app, and covers it and everything under it, as DC/OS's
//! `dcos:service:marathon:marathon:services:/team-a` permission does (`/team-a` covers
//! `/team-a/web`, not `/team-ab`; `/` covers everything).

/// Whether the ACL value `value` (an absolute path, checked by [`problem`]) covers `path`.
pub fn covers(value: &str, path: &str) -> bool {
    let value = value.trim_end_matches('/');
    let path = path.trim_end_matches('/');
    value.is_empty()
        || path == value
        || path
            .strip_prefix(value)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Why `value` cannot be a path object of an ACL (`None` when it can): it must be absolute
/// and canonical, as Marathon shows ids.
pub fn problem(value: &str) -> Option<String> {
    if !value.starts_with('/') {
        return Some(format!(
            "'{value}' is not a path: an app or group id starts with '/' (\"/{value}\")"
        ));
    }
    let inner = value.trim_end_matches('/');
    let bad = inner
        .split('/')
        .skip(1)
        .any(|segment| segment.is_empty() || segment == "." || segment == "..");
    bad.then(|| format!("'{value}' is not a canonical path id (empty, '.' or '..' segments)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_covers_its_path_and_what_is_under_it() {
        assert!(covers("/team-a", "/team-a"));
        assert!(covers("/team-a", "/team-a/web"));
        assert!(covers("/team-a", "/team-a/db/primary"));
        assert!(covers("/team-a/", "/team-a/web"));
        assert!(!covers("/team-a", "/team-ab"));
        assert!(!covers("/team-a", "/team-ab/web"));
        assert!(!covers("/team-a/web", "/team-a"));
        assert!(!covers("/team-a", "/"));
        assert!(!covers("/team-a", "/team-b/team-a"));
    }

    #[test]
    fn the_root_covers_everything() {
        assert!(covers("/", "/"));
        assert!(covers("/", "/team-a"));
        assert!(covers("/", "/team-b/x/y"));
    }

    #[test]
    fn a_value_must_be_an_absolute_canonical_path() {
        assert_eq!(problem("/team-a"), None);
        assert_eq!(problem("/"), None);
        assert_eq!(problem("/team-a/web/"), None);
        assert!(problem("team-a").is_some_and(|p| p.contains("starts with '/'")));
        assert!(problem("").is_some());
        assert!(problem("/team-a//web").is_some());
        assert!(problem("/team-a/../b").is_some());
        assert!(problem("/./a").is_some());
    }
}
