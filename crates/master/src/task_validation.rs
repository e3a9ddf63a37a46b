//! Checks on one task of a LAUNCH, in the order the master applies them. Messages follow
//! Mesos' where Mesos has one, so framework authors can search for them.

use corral_api::ids::validate_id;
use corral_api::resources::{MAX_SCALAR, Resources};
use corral_api::v1::{AgentId, Resource, TaskInfo, ValueType};

use super::container_validation::validate_container;

/// Returns the task's resources when it may launch from `remaining` (what is left of the
/// call's offers), else the reason it may not.
pub fn validate_task(
    task: &TaskInfo,
    duplicate: bool,
    offer_agent: &AgentId,
    offer_role: &str,
    remaining: &Resources,
) -> Result<Resources, String> {
    validate_id("Task", &task.task_id.value).map_err(|e| e.to_string())?;
    if duplicate {
        return Err(format!("Task has duplicate ID: {}", task.task_id));
    }
    if &task.agent_id != offer_agent {
        return Err(format!(
            "Task uses invalid agent {} while agent {offer_agent} is expected",
            task.agent_id
        ));
    }
    if let Some(grace) = task.kill_policy.as_ref().and_then(|k| k.grace_period)
        && grace.nanoseconds < 0
    {
        return Err("Task's 'kill_policy.grace_period' must be non-negative".into());
    }
    let resources = validate_resources(&task.resources, offer_role)?;
    if !remaining.contains(&resources) {
        return Err(format!(
            "Total resources {} required by task and its executor is more than available {}",
            describe(&resources),
            describe(remaining)
        ));
    }
    if task.command.is_some() == task.executor.is_some() {
        return Err(
            "Task should have at least one (but not both) of CommandInfo or \
                    ExecutorInfo present"
                .into(),
        );
    }
    validate_container("Task", task.container.as_ref())?;
    if let Some(command) = &task.command {
        let has_value = command
            .value
            .as_deref()
            .is_some_and(|v| !v.trim().is_empty());
        if command.is_shell() && !has_value {
            return Err(
                "Task's `CommandInfo` is invalid: a shell command ('shell' is true, \
                        the default) must have a 'value'"
                    .into(),
            );
        }
        if !command.is_shell() && !has_value {
            return Err(
                "Task's `CommandInfo` is invalid: with 'shell' false, 'value' must \
                        name the executable to run"
                    .into(),
            );
        }
    }
    if let Some(executor) = &task.executor {
        validate_id("Executor", &executor.executor_id.value).map_err(|e| e.to_string())?;
        validate_container("Executor", executor.container.as_ref())?;
        if executor.command.is_none() {
            return Err(
                "Executor's `CommandInfo` is missing: Corral runs executors from their command \
                        (HTTP executors speaking /api/v1/executor)"
                    .into(),
            );
        }
        if executor
            .kind
            .as_deref()
            .is_some_and(|k| k != "CUSTOM" && k != "UNKNOWN")
        {
            return Err(format!(
                "Executor type {:?} is not supported: only CUSTOM executors with a command",
                executor.kind.as_deref().unwrap_or_default()
            ));
        }
    }
    Ok(resources)
}

/// What is wrong with one resource from input (a task's, an agent's), if anything: amounts
/// stay finite and within [`MAX_SCALAR`], so that sums stay finite and what is stored parses
/// back.
pub fn resource_problem(r: &Resource) -> Option<String> {
    match r.kind {
        ValueType::Scalar => match r.scalar.as_ref().map(|s| s.value) {
            None => Some("a SCALAR without 'scalar'".to_string()),
            Some(v) if !v.is_finite() || !(0.0..=MAX_SCALAR).contains(&v) => Some(format!(
                "scalar value {v} is not a number from 0 to {MAX_SCALAR:e}"
            )),
            Some(_) => None,
        },
        ValueType::Ranges => match &r.ranges {
            None => Some("RANGES without 'ranges'".to_string()),
            Some(x) if x.range.iter().any(|g| g.begin > g.end) => {
                Some("a range whose begin is past its end".to_string())
            }
            Some(_) => None,
        },
        ValueType::Set => r.set.is_none().then(|| "a SET without 'set'".to_string()),
        ValueType::Text => Some("TEXT is not a resource type".to_string()),
    }
}

fn validate_resources(list: &[Resource], offer_role: &str) -> Result<Resources, String> {
    if list.is_empty() {
        return Err("Task uses no resources".into());
    }
    for r in list {
        if let Some(problem) = resource_problem(r) {
            return Err(format!(
                "Task uses invalid resources: '{}' has {problem}",
                r.name
            ));
        }
        if let Some(role) = r.allocation_info.as_ref().and_then(|a| a.role.as_deref())
            && role != offer_role
        {
            return Err(format!(
                "Invalid task resources: '{}' is allocated to role '{role}' but the offers \
                 are for role '{offer_role}'",
                r.name
            ));
        }
    }
    let resources = Resources::from_list(list);
    if resources.is_empty() {
        return Err("Task uses no resources".into());
    }
    // GPUs are given whole (Mesos' words for the same check).
    let gpus = resources.scalar("gpus");
    if gpus.fract() != 0.0 {
        return Err(format!(
            "Task uses invalid resources: The 'gpus' resource must be an unsigned integer, \
             not {gpus}"
        ));
    }
    Ok(resources)
}

fn describe(resources: &Resources) -> String {
    let text = resources.summary();
    if text.is_empty() { "{}".into() } else { text }
}
