//! The `policy` authorizer: allows or denies by the rules of a policy document, the
//! configuration its activation gives (JSON). The first rule that matches a request decides;
//! when none does, `default` does ("deny" unless it says "allow").
//!
//! ```json
//! {
//!   "rules": [
//!     {"effect": "deny", "subjects": ["intern"], "actions": ["run_tasks"], "objects": ["root"],
//!      "reason": "interns do not run tasks as root"},
//!     {"effect": "allow", "subjects": ["@authenticated"], "actions": ["*"]}
//!   ],
//!   "default": "deny"
//! }
//! ```
//!
//! A rule's `subjects` are principals, `@authenticated` (any principal) or `@anonymous` (a
//! caller with none); its `actions` are `--acls` action names; its `objects` are values (a
//! role, a user, a plugin...), `none` (an implicit object) or prefixes ending in `*`
//! (`dev/*`). `"*"` matches anything; a list left out matches anything too. A document that
//! does not parse, or names an unknown effect, refuses the activation with the position.

use corral_sdk::authorizer::{Authorizer, Decision, Request};
use serde::Deserialize;

/// The parsed policy document.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    rules: Vec<Rule>,
    #[serde(default)]
    default: Effect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    effect: Effect,
    subjects: Option<Vec<String>>,
    actions: Option<Vec<String>>,
    objects: Option<Vec<String>>,
    /// Given to the caller with a denial.
    reason: Option<String>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Effect {
    Allow,
    #[default]
    Deny,
}

impl Policy {
    /// Parses a policy document; an empty one allows nothing.
    pub fn parse(text: &str) -> Result<Policy, String> {
        if text.trim().is_empty() {
            return Ok(Policy::default());
        }
        serde_json::from_str(text).map_err(|e| format!("the policy document is invalid: {e}"))
    }

    /// The decision of the first rule matching `request`, else the default's.
    pub fn decide(&self, request: &Request) -> Decision {
        let rule = self
            .rules
            .iter()
            .enumerate()
            .find(|(_, r)| r.matches(request));
        match rule {
            Some((_, rule)) if rule.effect == Effect::Allow => Decision::Allow,
            Some((index, rule)) => Decision::Deny(
                rule.reason
                    .clone()
                    .unwrap_or_else(|| format!("rule {} of the policy denies it", index + 1)),
            ),
            None if self.default == Effect::Allow => Decision::Allow,
            None => Decision::Deny("no rule of the policy allows it".to_string()),
        }
    }
}

impl Rule {
    fn matches(&self, request: &Request) -> bool {
        let subject = |pattern: &str| match (pattern, request.subject.as_deref()) {
            ("*", _) | ("@authenticated", Some(_)) | ("@anonymous", None) => true,
            (name, Some(subject)) => name == subject,
            _ => false,
        };
        let action = |pattern: &str| pattern == "*" || pattern == request.action;
        let object = |pattern: &str| match (pattern, request.object.as_deref()) {
            ("*", _) | ("none", None) => true,
            (pattern, Some(object)) => match pattern.strip_suffix('*') {
                Some(prefix) => object.starts_with(prefix),
                None => pattern == object,
            },
            _ => false,
        };
        any(&self.subjects, subject) && any(&self.actions, action) && any(&self.objects, object)
    }
}

/// Whether a list left out, or one of its patterns, matches.
fn any(patterns: &Option<Vec<String>>, matches: impl Fn(&str) -> bool) -> bool {
    patterns
        .as_ref()
        .is_none_or(|list| list.iter().any(|p| matches(p)))
}

/// The component's state: the policy its activation gave.
#[derive(Default)]
pub struct PolicyAuthorizer {
    policy: Policy,
}

impl Authorizer for PolicyAuthorizer {
    fn init(&mut self, config: String) -> Result<(), String> {
        self.policy = Policy::parse(&config)?;
        Ok(())
    }

    fn authorize(&mut self, request: Request) -> Result<Decision, String> {
        Ok(self.policy.decide(&request))
    }
}

corral_sdk::export_authorizer!(PolicyAuthorizer);

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: &str = r#"{
        "rules": [
            {"effect": "deny", "subjects": ["intern"], "actions": ["run_tasks"],
             "objects": ["root"], "reason": "interns do not run tasks as root"},
            {"effect": "allow", "subjects": ["@anonymous"], "actions": ["view_frameworks"]},
            {"effect": "deny", "actions": ["register_frameworks"], "objects": ["prod/*"]},
            {"effect": "allow", "subjects": ["@authenticated"], "actions": ["*"]}
        ]
    }"#;

    fn request(subject: Option<&str>, action: &str, object: Option<&str>) -> Request {
        Request {
            subject: subject.map(str::to_string),
            action: action.to_string(),
            object: object.map(str::to_string),
        }
    }

    fn decide(subject: Option<&str>, action: &str, object: Option<&str>) -> Decision {
        Policy::parse(POLICY)
            .expect("the test policy parses")
            .decide(&request(subject, action, object))
    }

    #[test]
    fn the_first_matching_rule_decides_with_its_reason() {
        let denied = decide(Some("intern"), "run_tasks", Some("root"));
        assert_eq!(
            denied,
            Decision::Deny("interns do not run tasks as root".into())
        );
        assert_eq!(
            decide(Some("intern"), "run_tasks", Some("nobody")),
            Decision::Allow
        );
        assert_eq!(
            decide(Some("alice"), "run_tasks", Some("root")),
            Decision::Allow
        );
    }

    #[test]
    fn prefixes_match_objects_and_a_rule_without_reason_is_named() {
        assert_eq!(
            decide(Some("alice"), "register_frameworks", Some("prod/web")),
            Decision::Deny("rule 3 of the policy denies it".into())
        );
        assert_eq!(
            decide(Some("alice"), "register_frameworks", Some("dev")),
            Decision::Allow
        );
    }

    #[test]
    fn anonymous_callers_get_only_what_names_them_and_the_default_denies() {
        assert_eq!(
            decide(None, "view_frameworks", Some("root")),
            Decision::Allow
        );
        assert_eq!(
            decide(None, "run_tasks", Some("nobody")),
            Decision::Deny("no rule of the policy allows it".into())
        );
    }

    #[test]
    fn implicit_objects_match_none_and_star_only() {
        let policy = Policy::parse(
            r#"{"rules": [{"effect": "allow", "objects": ["none"]}], "default": "deny"}"#,
        )
        .expect("parses");
        assert_eq!(
            policy.decide(&request(Some("a"), "install_plugins", None)),
            Decision::Allow
        );
        assert!(matches!(
            policy.decide(&request(Some("a"), "install_plugins", Some("x"))),
            Decision::Deny(_)
        ));
    }

    #[test]
    fn bad_documents_are_refused_with_the_position() {
        let error = Policy::parse(r#"{"rules": [{"effect": "perhaps"}]}"#).unwrap_err();
        assert!(error.contains("unknown variant `perhaps`"), "{error}");
        assert!(error.contains("line 1 column"), "{error}");
        let error = Policy::parse(r#"{"rulez": []}"#).unwrap_err();
        assert!(error.contains("unknown field `rulez`"), "{error}");
        assert!(
            Policy::parse("").is_ok(),
            "an empty document denies everything"
        );
    }
}
