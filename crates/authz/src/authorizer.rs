//! The question every enforcement point asks, and its answer.

use super::action::Action;

/// Who wants to do what to which object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    /// The authenticated principal; `None`: anonymous.
    pub subject: Option<&'a str>,
    pub action: Action,
    /// The role, user, path, principal... the action's ACLs name; `None` for actions whose
    /// object is implicit.
    pub object: Option<&'a str>,
}

/// A refusal, worded for the 403 the caller gets: it names the action.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.message())]
pub struct Denied {
    pub subject: Option<String>,
    pub action: Action,
    pub object: Option<String>,
    /// Why, when the authorizer says more than "no ACL allows it".
    pub reason: Option<String>,
    /// The authorizer could not decide (a plugin failed): refused, fail-closed, but not
    /// remembered, so the next request asks again.
    pub failure: bool,
}

impl Denied {
    pub fn new(request: &Request<'_>, reason: Option<String>) -> Denied {
        Denied {
            subject: request.subject.map(str::to_string),
            action: request.action,
            object: request.object.map(str::to_string),
            reason,
            failure: false,
        }
    }

    /// A refusal because the authorizer failed to decide (`reason` says how).
    pub fn failed(request: &Request<'_>, reason: String) -> Denied {
        Denied {
            failure: true,
            ..Denied::new(request, Some(reason))
        }
    }

    fn message(&self) -> String {
        let who = match &self.subject {
            Some(principal) => format!("Principal '{principal}'"),
            None => "An anonymous caller".to_string(),
        };
        let what = match &self.object {
            Some(object) => format!(" on {} '{object}'", self.action.object_field()),
            None => String::new(),
        };
        let why = self
            .reason
            .as_ref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        format!(
            "{who} is not authorized to {}{what}{why}",
            self.action.name()
        )
    }
}

/// Decides requests. Implementations are pure and quick (the local ACLs) or bounded and
/// fail-closed (a plugin): a failure to decide is a refusal.
pub trait Authorizer: Send + Sync + std::fmt::Debug {
    fn authorize(&self, request: &Request<'_>) -> Result<(), Denied>;

    /// Whether `action` can be refused at all: a server skips the work of asking (a round
    /// outside its lock) when it cannot.
    fn restricts(&self, _action: Action) -> bool {
        true
    }

    /// Each of `objects` (a framework's roles); the first refusal.
    fn authorize_all(
        &self,
        subject: Option<&str>,
        action: Action,
        objects: &[&str],
    ) -> Result<(), Denied> {
        for object in objects {
            self.authorize(&Request {
                subject,
                action,
                object: Some(object),
            })?;
        }
        Ok(())
    }
}

/// No ACLs given: everything is allowed (Mesos' default).
#[derive(Debug, Default, Clone, Copy)]
pub struct AllowAll;

impl Authorizer for AllowAll {
    fn authorize(&self, _: &Request<'_>) -> Result<(), Denied> {
        Ok(())
    }

    fn restricts(&self, _: Action) -> bool {
        false
    }
}
