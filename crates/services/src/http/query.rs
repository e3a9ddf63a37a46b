//! Query strings as Marathon reads them: repeated keys (`embed=a&embed=b`), booleans in any
//! case (`force=True`; anything but `true` is false, as Java's `Boolean.valueOf`).

/// The decoded pairs of a query string.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let pairs = raw
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        Query { pairs }
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key` (and of `key[]`).
    pub fn all(&self, key: &str) -> Vec<&str> {
        let bracketed = format!("{key}[]");
        self.pairs
            .iter()
            .filter(|(k, _)| k == key || *k == bracketed)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// A boolean flag; `default` when absent.
    pub fn flag(&self, key: &str, default: bool) -> bool {
        self.get(key)
            .map_or(default, |v| v.trim().eq_ignore_ascii_case("true"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_in_any_case_and_repeated_keys() {
        let q = Query::parse(Some(
            "force=True&embed=apps.tasks&embed=apps.counts&scale=yes",
        ));
        assert!(q.flag("force", false));
        assert!(!q.flag("scale", true), "only 'true' is true, as in Java");
        assert!(q.flag("partialUpdate", true));
        assert_eq!(q.all("embed"), ["apps.tasks", "apps.counts"]);
        assert!(Query::parse(Some("force=TRUE")).flag("force", false));
        assert!(!Query::parse(None).flag("force", false));
    }
}
