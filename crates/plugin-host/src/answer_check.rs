//! Checks on what a plugin answers, before the host acts on it. A plugin's answer is data
//! from outside: a grant of NaN cpus or an answer of 100 MB is refused here as `BadAnswer`,
//! so the master and agent only ever see well-formed values.
//!
//! The size bound is checked after wasmtime has copied the answer out of the instance; the
//! instance's memory cap bounds that copy.

use corral_wit::allocator::exports::corral::plugin::allocator::Grant;
use corral_wit::executor::exports::corral::plugin::executor::Action;
use corral_wit::types as wit;

/// Largest answer an allocator may give (`allocate` or `inspect`): 16 MiB, room for grants
/// on tens of thousands of agents.
pub const MAX_ALLOCATOR_ANSWER_BYTES: usize = 16 << 20;
/// Largest answer an executor may give to one call: 1 MiB.
pub const MAX_EXECUTOR_ANSWER_BYTES: usize = 1 << 20;
/// Most actions in one executor answer.
pub const MAX_EXECUTOR_ACTIONS: usize = 1024;

/// Per-element overhead used when sizing answers (ids, tags, lengths).
const ELEMENT_OVERHEAD: usize = 16;

pub(crate) fn check_grants(grants: &[Grant]) -> Result<(), String> {
    let size: usize = grants.iter().map(grant_size).sum();
    check_size(size, MAX_ALLOCATOR_ANSWER_BYTES)?;
    for (i, g) in grants.iter().enumerate() {
        let at = |what: String| format!("grant {i} (agent '{}'): {what}", g.agent_id);
        if g.agent_id.is_empty() || g.framework_id.is_empty() || g.role.is_empty() {
            return Err(at(
                "agent id, framework id and role must not be empty".to_string()
            ));
        }
        if g.resources.is_empty() {
            return Err(at("grants no resources".to_string()));
        }
        for r in &g.resources {
            check_resource(r).map_err(at)?;
        }
    }
    Ok(())
}

pub(crate) fn check_resource(r: &wit::Resource) -> Result<(), String> {
    if r.name.is_empty() {
        return Err("a resource has no name".to_string());
    }
    match &r.value {
        wit::ResourceValue::Scalar(v) if !v.is_finite() || *v < 0.0 => {
            Err(format!("resource '{}' has scalar value {v}", r.name))
        }
        wit::ResourceValue::Ranges(ranges) => match ranges.iter().find(|x| x.begin > x.end) {
            Some(x) => Err(format!(
                "resource '{}' has range {}-{} that ends before it begins",
                r.name, x.begin, x.end
            )),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

pub(crate) fn check_inspect(json: &str) -> Result<(), String> {
    check_size(json.len(), MAX_ALLOCATOR_ANSWER_BYTES)?;
    serde_json::from_str::<serde::de::IgnoredAny>(json)
        .map(|_| ())
        .map_err(|e| format!("inspect must return JSON: {e}"))
}

pub(crate) fn check_actions(actions: &[Action]) -> Result<(), String> {
    if actions.len() > MAX_EXECUTOR_ACTIONS {
        return Err(format!(
            "{} actions in one answer, more than the {MAX_EXECUTOR_ACTIONS} allowed",
            actions.len()
        ));
    }
    let size: usize = actions.iter().map(action_size).sum();
    check_size(size, MAX_EXECUTOR_ANSWER_BYTES)?;
    for (i, action) in actions.iter().enumerate() {
        match action {
            Action::Spawn(spawn) if spawn.command.value.is_empty() => {
                return Err(format!(
                    "action {i}: spawn of process {} has an empty command",
                    spawn.id
                ));
            }
            Action::Signal(s) if !(1..=64).contains(&s.signal) => {
                return Err(format!(
                    "action {i}: signal {} to process {} is not a signal number",
                    s.signal, s.id
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_size(size: usize, max: usize) -> Result<(), String> {
    if size > max {
        Err(format!(
            "the answer is about {size} bytes, over the limit of {max} bytes"
        ))
    } else {
        Ok(())
    }
}

fn grant_size(g: &Grant) -> usize {
    ELEMENT_OVERHEAD
        + g.agent_id.len()
        + g.framework_id.len()
        + g.role.len()
        + g.resources.iter().map(resource_size).sum::<usize>()
}

fn resource_size(r: &wit::Resource) -> usize {
    let value = match &r.value {
        wit::ResourceValue::Scalar(_) => 8,
        wit::ResourceValue::Ranges(x) => x.len() * 16,
        wit::ResourceValue::Set(items) => items.iter().map(|s| s.len() + ELEMENT_OVERHEAD).sum(),
    };
    ELEMENT_OVERHEAD + r.name.len() + value + r.reservation.as_ref().map_or(0, String::len)
}

fn command_size(c: &wit::CommandInfo) -> usize {
    c.value.len()
        + c.arguments
            .iter()
            .map(|a| a.len() + ELEMENT_OVERHEAD)
            .sum::<usize>()
        + c.environment
            .iter()
            .map(|e| e.name.len() + e.value.len() + ELEMENT_OVERHEAD)
            .sum::<usize>()
        + c.user.as_ref().map_or(0, String::len)
}

fn labels_size(labels: &[wit::Label]) -> usize {
    labels
        .iter()
        .map(|l| l.key.len() + l.value.len() + ELEMENT_OVERHEAD)
        .sum()
}

fn action_size(a: &Action) -> usize {
    ELEMENT_OVERHEAD
        + match a {
            Action::Spawn(s) => command_size(&s.command),
            Action::SendStatus(s) => {
                s.message.as_ref().map_or(0, String::len)
                    + s.reason.as_ref().map_or(0, String::len)
                    + labels_size(&s.labels)
            }
            Action::Check(c) => match &c.check.kind {
                wit::CheckKind::Command(cmd) => command_size(cmd),
                wit::CheckKind::Http(h) => h.path.len() + h.scheme.len(),
                wit::CheckKind::Tcp(_) => 0,
            },
            Action::Signal(_) | Action::SetTimer(_) | Action::CancelTimer(_) | Action::Done => 0,
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_wit::executor::exports::corral::plugin::executor::{SendSignal, Status};

    fn grant(value: wit::ResourceValue) -> Grant {
        Grant {
            agent_id: "a".into(),
            framework_id: "f".into(),
            role: "*".into(),
            resources: vec![wit::Resource {
                name: "cpus".into(),
                value,
                reservation: None,
                revocable: false,
            }],
        }
    }

    #[test]
    fn negative_nan_and_infinite_scalars_are_refused() {
        check_grants(&[grant(wit::ResourceValue::Scalar(1.0))]).expect("fine");
        for bad in [-1.0, f64::NAN, f64::INFINITY] {
            let err = check_grants(&[grant(wit::ResourceValue::Scalar(bad))]).unwrap_err();
            assert!(err.contains("scalar value"), "{err}");
        }
    }

    #[test]
    fn backwards_ranges_and_empty_ids_are_refused() {
        let backwards = wit::ResourceValue::Ranges(vec![wit::ValueRange { begin: 5, end: 4 }]);
        assert!(check_grants(&[grant(backwards)]).is_err());
        let mut no_agent = grant(wit::ResourceValue::Scalar(1.0));
        no_agent.agent_id.clear();
        assert!(check_grants(&[no_agent]).is_err());
    }

    #[test]
    fn oversized_answers_are_refused() {
        let mut g = grant(wit::ResourceValue::Scalar(1.0));
        g.role = "r".repeat(MAX_ALLOCATOR_ANSWER_BYTES);
        let err = check_grants(&[g]).unwrap_err();
        assert!(err.contains("over the limit"), "{err}");
        assert!(check_inspect(&"x".repeat(MAX_ALLOCATOR_ANSWER_BYTES + 1)).is_err());
    }

    #[test]
    fn inspect_must_be_json() {
        check_inspect(r#"{"frameworks": []}"#).expect("json");
        assert!(check_inspect("not json").is_err());
    }

    #[test]
    fn bad_signals_and_too_many_actions_are_refused() {
        let signal = |signal| Action::Signal(SendSignal { id: 1, signal });
        check_actions(&[signal(15), Action::Done]).expect("fine");
        assert!(check_actions(&[signal(0)]).is_err());
        let status = Action::SendStatus(Status {
            state: wit::TaskState::Running,
            message: Some("m".repeat(MAX_EXECUTOR_ANSWER_BYTES)),
            reason: None,
            healthy: None,
            labels: vec![],
        });
        assert!(check_actions(&[status]).is_err());
        assert!(check_actions(&vec![Action::Done; MAX_EXECUTOR_ACTIONS + 1]).is_err());
    }
}
