//! Several authorizers asked in turn: a request goes through only if every one allows it (the
//! master's local ACLs, then its authorizer plugin). The first refusal is the answer.

use std::sync::Arc;

use super::action::Action;
use super::authorizer::{Authorizer, Denied, Request};

#[derive(Debug, Clone)]
pub struct AllOf(pub Vec<Arc<dyn Authorizer>>);

impl Authorizer for AllOf {
    fn authorize(&self, request: &Request<'_>) -> Result<(), Denied> {
        self.0.iter().try_for_each(|a| a.authorize(request))
    }

    fn restricts(&self, action: Action) -> bool {
        self.0.iter().any(|a| a.restricts(action))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Acls, AllowAll};

    #[test]
    fn every_authorizer_must_allow_and_the_first_refusal_answers() {
        let acls = Acls::parse(
            r#"{"permissive": true, "run_tasks": [
                {"principals": {"values": ["bob"]}, "users": {"type": "NONE"}}]}"#,
        )
        .expect("valid ACLs");
        let both = AllOf(vec![Arc::new(AllowAll), Arc::new(acls)]);
        let asked = |subject| Request {
            subject: Some(subject),
            action: Action::RunTasks,
            object: Some("root"),
        };
        assert!(both.authorize(&asked("alice")).is_ok());
        let denied = both.authorize(&asked("bob")).unwrap_err();
        assert_eq!(denied.action, Action::RunTasks);
        assert!(both.restricts(Action::RunTasks));
        assert!(!AllOf(vec![Arc::new(AllowAll)]).restricts(Action::RunTasks));
    }
}
