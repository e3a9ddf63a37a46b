//! v0's answers filtered for one caller, as apache/mesos `src/master/readonly_handler.cpp`
//! filters them: `/master/state` and `/master/frameworks` list the frameworks the caller may
//! view, each with the tasks and executors it may view, and `/master/state` its `flags` only
//! with `view_flags`; `/master/state-summary` the frameworks it may view; `/master/roles`
//! the roles it may view; the agents of `/master/state`, `/master/state-summary` and
//! `/master/slaves` the reservations and resources of the roles it may view (`SlaveWriter`,
//! `SlavesWriter::writeSlave`). (`/master/tasks` is filtered before its page is cut, in
//! `v0_state.rs`.) The decisions are `view_filter.rs`'s.

use std::sync::Arc;

use serde_json::Value;

use corral_authz::{Action, Authorizer};

use super::view_filter::{FrameworkUsers, ViewMemo, Views};

/// `/master/state` as `subject` may see it under `authorizer`: what the endpoint does to
/// each answer (exported for `corral bench auth`, which times it alone).
pub fn state_for(subject: Option<&str>, authorizer: Arc<dyn Authorizer>, answer: &mut Value) {
    state(&mut ViewMemo::new(subject).with(authorizer), answer);
}

/// `/master/state`.
pub fn state(views: &mut Views<'_>, state: &mut Value) {
    if let Value::Object(fields) = state
        && !views.may_view_flags()
    {
        fields.remove("flags");
    }
    frameworks(views, state);
    agents(views, state);
}

/// The agents (`slaves`) of `/master/state`, `/master/state-summary` and `/master/slaves`:
/// reservations of the roles the caller may view, and of the `*_full` resource lists the
/// resources whose every role it may view.
pub fn agents(views: &mut Views<'_>, answer: &mut Value) {
    if !views.restricts(&[Action::ViewRoles]) {
        return;
    }
    let Some(Value::Array(agents)) = answer.get_mut("slaves") else {
        return;
    };
    for agent in agents {
        for key in ["reserved_resources", "reserved_resources_full"] {
            if let Some(Value::Object(by_role)) = agent.get_mut(key) {
                by_role.retain(|role, _| views.allows(Action::ViewRoles, role));
                for list in by_role.values_mut() {
                    viewable_resources(views, list);
                }
            }
        }
        for key in [
            "unreserved_resources_full",
            "used_resources_full",
            "offered_resources_full",
        ] {
            if let Some(list) = agent.get_mut(key) {
                viewable_resources(views, list);
            }
        }
    }
}

/// Keeps the resources (protobuf JSON) of a list whose every role may be viewed (Mesos'
/// `approved<VIEW_ROLE>(Resource)`); anything else (a scalar summary) is left as it is.
fn viewable_resources(views: &mut Views<'_>, list: &mut Value) {
    let Value::Array(resources) = list else {
        return;
    };
    resources.retain(|resource| {
        let legacy = resource["role"].as_str().filter(|role| *role != "*");
        let reserved = resource["reservations"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r["role"].as_str());
        let allocated = resource
            .pointer("/allocation_info/role")
            .and_then(Value::as_str);
        let mut roles = legacy.into_iter().chain(reserved).chain(allocated);
        roles.all(|role| views.allows(Action::ViewRoles, role))
    });
}

/// `/master/frameworks` (and the frameworks of `/master/state`).
pub fn frameworks(views: &mut Views<'_>, answer: &mut Value) {
    let actions = [
        Action::ViewFrameworks,
        Action::ViewTasks,
        Action::ViewExecutors,
    ];
    if !views.restricts(&actions) {
        return;
    }
    // An answer lists up to a hundred completed frameworks, mostly of a few users: each
    // user's views are decided once, found again by a short scan (no hashing, no copy).
    let mut by_user: Vec<(String, UserViews)> = Vec::new();
    for key in ["frameworks", "completed_frameworks"] {
        if let Some(Value::Array(list)) = answer.get_mut(key) {
            list.retain_mut(|framework| viewable_framework(views, &mut by_user, framework));
        }
    }
}

/// What a framework of one user shows: itself, and its tasks and executors that run as
/// that user (most of them).
#[derive(Debug, Clone, Copy)]
struct UserViews {
    framework: bool,
    tasks: bool,
    executors: bool,
}

/// Whether the framework may be seen; its tasks and executors keep the viewable ones.
fn viewable_framework(
    views: &mut Views<'_>,
    by_user: &mut Vec<(String, UserViews)>,
    framework: &mut Value,
) -> bool {
    let Value::Object(fields) = framework else {
        return false;
    };
    let user = fields
        .get("user")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let slot = match by_user.iter().position(|(known, _)| known == user) {
        Some(slot) => slot,
        None => {
            let decided = UserViews {
                framework: views.may_view_framework(user),
                tasks: views.may_view_task(None, user),
                executors: views.may_view_executor(None, user),
            };
            by_user.push((user.to_string(), decided));
            by_user.len() - 1
        }
    };
    let (user, own) = (by_user[slot].0.as_str(), by_user[slot].1);
    if !own.framework {
        return false;
    }
    for (key, value) in fields.iter_mut() {
        let Value::Array(items) = value else {
            continue;
        };
        match key.as_str() {
            "tasks" | "unreachable_tasks" | "completed_tasks" => {
                items.retain(|task| match task.get("user").and_then(Value::as_str) {
                    None => own.tasks,
                    Some(task_user) if task_user == user => own.tasks,
                    task_user => views.may_view_task(task_user, user),
                })
            }
            "executors" => items.retain(|executor| {
                match executor.pointer("/command/user").and_then(Value::as_str) {
                    None => own.executors,
                    Some(executor_user) if executor_user == user => own.executors,
                    executor_user => views.may_view_executor(executor_user, user),
                }
            }),
            _ => {}
        }
    }
    true
}

/// `/master/state-summary`: its frameworks carry no user, so `users` names them.
pub fn summary(views: &mut Views<'_>, summary: &mut Value, users: &FrameworkUsers) {
    agents(views, summary);
    if !views.restricts(&[Action::ViewFrameworks]) {
        return;
    }
    if let Some(Value::Array(list)) = summary.get_mut("frameworks") {
        list.retain(|framework| {
            let user = framework["id"].as_str().and_then(|id| users.get(id));
            user.is_some_and(|user| views.may_view_framework(user))
        });
    }
}

/// `/master/roles`.
pub fn roles(views: &mut Views<'_>, answer: &mut Value) {
    if !views.restricts(&[Action::ViewRoles]) {
        return;
    }
    if let Some(Value::Array(roles)) = answer.get_mut("roles") {
        roles.retain(|role| {
            role["name"]
                .as_str()
                .is_some_and(|name| views.allows(Action::ViewRoles, name))
        });
    }
}
