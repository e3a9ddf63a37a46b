//! The local authorizer: Mesos' `--acls` document (apache/mesos docs/authorization.md), read
//! strictly (an unknown action, a missing entity or a misspelt field is refused, naming
//! where), and evaluated as Mesos does: for each request the first ACL of its action whose
//! subjects and objects both cover it decides (NONE in either denies); when none does,
//! `permissive` (default true) decides. The objects of `manage_apps` and `view_apps` are
//! Marathon path ids, matched as a tree (`path_tree.rs`).

use std::collections::HashMap;

use serde_json::Value;

use super::action::Action;
use super::authorizer::{Authorizer, Denied, Request};
use super::entity::Entity;
use super::path_tree;

#[derive(Debug, Clone, PartialEq, Eq)]
struct Acl {
    principals: Entity,
    objects: Entity,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acls {
    permissive: bool,
    rules: HashMap<Action, Vec<Acl>>,
}

#[derive(Debug, thiserror::Error)]
pub enum AclsError {
    #[error("cannot read the ACLs file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("the ACLs are not valid JSON: {0}")]
    Syntax(String),
    #[error("the ACLs: {0}")]
    Invalid(String),
}

impl Acls {
    /// `--acls` takes the JSON itself or a path to it (as Mesos' flag does).
    pub fn from_flag(text: &str) -> Result<Acls, AclsError> {
        if text.trim_start().starts_with('{') {
            return Acls::parse(text);
        }
        let path = text.strip_prefix("file://").unwrap_or(text);
        let read = std::fs::read_to_string(path).map_err(|e| AclsError::Read {
            path: path.to_string(),
            reason: e.to_string(),
        })?;
        Acls::parse(&read)
    }

    /// Refuses ACLs for actions the server does not enforce: an operator who writes them
    /// expects a refusal that would never come.
    pub fn refuse_unenforced(&self, enforced: &[Action]) -> Result<(), AclsError> {
        let mut unenforced: Vec<&str> = self
            .rules
            .keys()
            .filter(|a| !enforced.contains(a))
            .map(|a| a.name())
            .collect();
        unenforced.sort_unstable();
        if unenforced.is_empty() {
            return Ok(());
        }
        Err(AclsError::Invalid(format!(
            "{} not enforced by Corral yet; remove them (docs/security.md lists what is)",
            unenforced.join(", ")
        )))
    }

    pub fn parse(text: &str) -> Result<Acls, AclsError> {
        let document: Value =
            serde_json::from_str(text).map_err(|e| AclsError::Syntax(e.to_string()))?;
        let Value::Object(fields) = document else {
            return Err(AclsError::Invalid("expected a JSON object".into()));
        };
        let mut acls = Acls {
            permissive: true,
            rules: HashMap::new(),
        };
        for (key, value) in fields {
            if key == "permissive" {
                acls.permissive = value.as_bool().ok_or_else(|| {
                    AclsError::Invalid("'permissive' must be true or false".into())
                })?;
                continue;
            }
            let action = Action::from_name(&key).ok_or_else(|| {
                let known: Vec<&str> = Action::ALL.iter().map(|a| a.name()).collect();
                AclsError::Invalid(format!(
                    "unknown action '{key}' (known: permissive, {})",
                    known.join(", ")
                ))
            })?;
            let Value::Array(entries) = value else {
                return Err(AclsError::Invalid(format!(
                    "'{key}' must be a list of ACLs"
                )));
            };
            let rules = acls.rules.entry(action).or_default();
            for (i, entry) in entries.into_iter().enumerate() {
                let rule = parse_rule(action, entry)
                    .map_err(|reason| AclsError::Invalid(format!("{key}[{i}]: {reason}")))?;
                rules.push(rule);
            }
        }
        Ok(acls)
    }
}

fn parse_rule(action: Action, entry: Value) -> Result<Acl, String> {
    let Value::Object(mut fields) = entry else {
        return Err("expected an object".into());
    };
    let object_field = action.object_field();
    let mut take = |name: &str| -> Result<Entity, String> {
        let value = fields
            .remove(name)
            .ok_or_else(|| format!("'{name}' is missing"))?;
        serde_json::from_value(value).map_err(|e| format!("'{name}': {e}"))
    };
    let principals = take("principals")?;
    let objects = take(object_field)?;
    if action.objects_are_paths()
        && let Some(problem) = objects.values.iter().find_map(|v| path_tree::problem(v))
    {
        return Err(format!("'{object_field}': {problem}"));
    }
    if let Some(extra) = fields.keys().next() {
        return Err(format!(
            "unknown field '{extra}' (an ACL of {} has 'principals' and '{object_field}')",
            action.name()
        ));
    }
    Ok(Acl {
        principals,
        objects,
    })
}

impl Authorizer for Acls {
    fn authorize(&self, request: &Request<'_>) -> Result<(), Denied> {
        let rules = self.rules.get(&request.action).map(Vec::as_slice);
        let paths = request.action.objects_are_paths();
        let deciding = rules.unwrap_or_default().iter().find(|acl| {
            let object = if paths {
                acl.objects.covers_path(request.object)
            } else {
                acl.objects.covers(request.object)
            };
            acl.principals.covers(request.subject) && object
        });
        let allowed = match deciding {
            Some(acl) => acl.principals.grants() && acl.objects.grants(),
            None => self.permissive,
        };
        if allowed {
            Ok(())
        } else {
            Err(Denied::new(request, None))
        }
    }

    fn restricts(&self, action: Action) -> bool {
        !self.permissive || self.rules.contains_key(&action)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(acls: &Acls, subject: Option<&str>, action: Action, object: &str) -> bool {
        acls.authorize(&Request {
            subject,
            action,
            object: Some(object),
        })
        .is_ok()
    }

    #[test]
    fn only_foo_may_register_with_analytics() {
        // docs/authorization.md, the first example.
        let acls = Acls::parse(
            r#"{"register_frameworks": [
                {"principals": {"values": ["foo"]}, "roles": {"values": ["analytics"]}},
                {"principals": {"type": "NONE"}, "roles": {"values": ["analytics"]}}]}"#,
        )
        .expect("valid");
        let register = Action::RegisterFrameworks;
        assert!(ask(&acls, Some("foo"), register, "analytics"));
        assert!(!ask(&acls, Some("bar"), register, "analytics"));
        assert!(!ask(&acls, None, register, "analytics"));
        assert!(ask(&acls, Some("bar"), register, "ads"), "permissive");
    }

    #[test]
    fn foo_may_register_with_its_roles_only() {
        let acls = Acls::parse(
            r#"{"register_frameworks": [
                {"principals": {"values": ["foo"]}, "roles": {"values": ["analytics", "ads"]}},
                {"principals": {"values": ["foo"]}, "roles": {"type": "NONE"}}]}"#,
        )
        .expect("valid");
        let register = Action::RegisterFrameworks;
        assert!(ask(&acls, Some("foo"), register, "ads"));
        assert!(!ask(&acls, Some("foo"), register, "web"));
        assert!(ask(&acls, Some("bar"), register, "web"));
    }

    #[test]
    fn not_permissive_denies_what_no_acl_allows() {
        let acls = Acls::parse(
            r#"{"permissive": false, "run_tasks": [
                {"principals": {"type": "ANY"}, "users": {"values": ["guest", "bar"]}}]}"#,
        )
        .expect("valid");
        assert!(ask(&acls, Some("x"), Action::RunTasks, "guest"));
        assert!(ask(&acls, None, Action::RunTasks, "bar"));
        let refused = acls
            .authorize(&Request {
                subject: Some("x"),
                action: Action::RunTasks,
                object: Some("root"),
            })
            .expect_err("root is not listed");
        assert_eq!(
            refused.to_string(),
            "Principal 'x' is not authorized to run_tasks on users 'root'"
        );
        assert!(!ask(&acls, Some("x"), Action::SwapAllocator, "drf"));
    }

    #[test]
    fn the_older_set_quotas_name_is_update_quotas() {
        let acls = Acls::parse(
            r#"{"set_quotas": [{"principals": {"type": "NONE"}, "roles": {"type": "ANY"}}]}"#,
        )
        .expect("valid");
        assert!(!ask(&acls, Some("ops"), Action::UpdateQuotas, "web"));
    }

    #[test]
    fn app_paths_cover_their_subtree_and_the_first_covering_acl_decides() {
        let acls = Acls::parse(
            r#"{"permissive": false,
                "manage_apps": [
                  {"principals": {"type": "NONE"}, "apps": {"values": ["/team-a/secret"]}},
                  {"principals": {"values": ["alice"]}, "apps": {"values": ["/team-a"]}}],
                "view_apps": [
                  {"principals": {"values": ["alice", "bob"]}, "apps": {"values": ["/team-a"]}},
                  {"principals": {"type": "ANY"}, "apps": {"values": ["/public/"]}}]}"#,
        )
        .expect("valid");
        let manage = Action::ManageApps;
        assert!(ask(&acls, Some("alice"), manage, "/team-a"));
        assert!(ask(&acls, Some("alice"), manage, "/team-a/web"));
        assert!(!ask(&acls, Some("alice"), manage, "/team-ab"));
        assert!(!ask(&acls, Some("alice"), manage, "/team-a/secret/db"));
        assert!(!ask(&acls, Some("bob"), manage, "/team-a/web"));
        let view = Action::ViewApps;
        assert!(ask(&acls, Some("bob"), view, "/team-a/web"));
        assert!(!ask(&acls, Some("bob"), view, "/team-b/x"));
        assert!(ask(&acls, None, view, "/public/site"));
        assert!(!ask(&acls, None, view, "/team-a/web"));
        let refused = acls
            .authorize(&Request {
                subject: Some("bob"),
                action: manage,
                object: Some("/team-a/web"),
            })
            .expect_err("bob only views");
        assert_eq!(
            refused.to_string(),
            "Principal 'bob' is not authorized to manage_apps on apps '/team-a/web'"
        );
    }

    #[test]
    fn other_actions_keep_exact_values() {
        let acls = Acls::parse(
            r#"{"permissive": false, "register_frameworks": [
                {"principals": {"type": "ANY"}, "roles": {"values": ["a"]}}]}"#,
        )
        .expect("valid");
        assert!(ask(&acls, Some("x"), Action::RegisterFrameworks, "a"));
        assert!(!ask(&acls, Some("x"), Action::RegisterFrameworks, "a/b"));
    }

    #[test]
    fn app_objects_must_be_paths() {
        let error = Acls::parse(
            r#"{"manage_apps": [
                {"principals": {"values": ["alice"]}, "apps": {"values": ["team-a"]}}]}"#,
        )
        .expect_err("not a path")
        .to_string();
        assert!(
            error.contains("manage_apps[0]: 'apps': 'team-a' is not a path"),
            "{error}"
        );
        assert!(
            Acls::parse(r#"{"view_apps": [{"principals": {}, "apps": {"type": "ANY"}}]}"#).is_ok()
        );
    }

    #[test]
    fn malformed_acls_are_refused_naming_where() {
        let error = |text: &str| Acls::parse(text).expect_err("refused").to_string();
        assert!(error(r#"{"run_task": []}"#).contains("unknown action 'run_task'"));
        assert!(
            error(r#"{"run_tasks": [{"principals": {"type": "ANY"}}]}"#)
                .contains("run_tasks[0]: 'users' is missing")
        );
        assert!(
            error(r#"{"run_tasks": [{"principals": {"type": "ALL"}, "users": {}}]}"#)
                .contains("run_tasks[0]: 'principals'")
        );
        assert!(
            error(r#"{"run_tasks": [{"principals": {}, "users": {}, "roles": {}}]}"#)
                .contains("unknown field 'roles'")
        );
        let syntax = error("{\n\"permissive\": tru,\n}");
        assert!(syntax.contains("line 2"), "{syntax}");
        assert!(error(r#"{"permissive": "no"}"#).contains("true or false"));
    }
}
