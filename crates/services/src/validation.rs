//! Validation failures as Marathon reports them: HTTP 422 with
//! `{"message": "Object is not valid", "details": [{"path": "/cpus", "errors": [...]}]}`.
//! Paths are JSON paths in Marathon's notation: `/constraints(0)`, `/healthChecks(1)/path`.

use serde_json::{Value, json};

pub const NOT_VALID: &str = "Object is not valid";

/// Every problem found in one request body, in the order found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations {
    found: Vec<(String, String)>,
}

impl Violations {
    pub fn new() -> Self {
        Self::default()
    }

    /// One problem at `path` (a JSON path; `/` for the whole object).
    pub fn add(&mut self, path: &str, error: impl Into<String>) {
        let path = if path.is_empty() { "/" } else { path };
        self.found.push((path.to_string(), error.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// Every problem as (path, error).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.found.iter().map(|(p, e)| (p.as_str(), e.as_str()))
    }

    /// Whether some problem is at exactly `path`.
    pub fn has(&self, path: &str) -> bool {
        self.found.iter().any(|(p, _)| p == path)
    }

    /// `Ok(value)` when nothing was found, else these violations.
    pub fn into_result<T>(self, value: T) -> Result<T, Violations> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// The 422 body: one entry per path, its errors in order, duplicates dropped.
    pub fn to_json(&self) -> Value {
        let mut details: Vec<(String, Vec<String>)> = Vec::new();
        for (path, error) in &self.found {
            match details.iter_mut().find(|(p, _)| p == path) {
                Some((_, errors)) => {
                    if !errors.contains(error) {
                        errors.push(error.clone());
                    }
                }
                None => details.push((path.clone(), vec![error.clone()])),
            }
        }
        let details: Vec<Value> = details
            .into_iter()
            .map(|(path, errors)| json!({"path": path, "errors": errors}))
            .collect();
        json!({"message": NOT_VALID, "details": details})
    }
}

impl std::fmt::Display for Violations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.iter().map(|(p, e)| format!("{p}: {e}")).collect();
        f.write_str(&parts.join("; "))
    }
}

/// `prefix/key` for an object member.
pub fn member(prefix: &str, key: &str) -> String {
    format!("{prefix}/{key}")
}

/// `prefix(index)` for an array element, as Marathon writes it.
pub fn element(prefix: &str, index: usize) -> String {
    format!("{prefix}({index})")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_errors_by_path_in_marathons_shape() {
        let mut v = Violations::new();
        v.add("/cpus", "got -1.0, expected 0.001 or more");
        v.add(
            "",
            "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'.",
        );
        v.add("/cpus", "got -1.0, expected 0.001 or more");
        v.add(
            &element("/constraints", 0),
            "UNIQUE does not accept a value",
        );
        assert_eq!(
            v.to_json(),
            json!({
                "message": "Object is not valid",
                "details": [
                    {"path": "/cpus", "errors": ["got -1.0, expected 0.001 or more"]},
                    {"path": "/", "errors": ["AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."]},
                    {"path": "/constraints(0)", "errors": ["UNIQUE does not accept a value"]}
                ]
            })
        );
        assert!(v.has("/constraints(0)"));
    }
}
