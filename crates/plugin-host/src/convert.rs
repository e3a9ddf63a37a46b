//! Conversions between Mesos wire types (corral_api::v1) and WIT types.
//!
//! What a WIT type cannot say is dropped on the way in: reservation details beyond the role
//! (type, principal, labels), environment variable types, URIs. Coming back, resources are
//! normalized (`corral_api::resources::normalize`), with a static reservation for a role.

use super::allocator::{AgentSnapshot, Allocation, FrameworkSnapshot, Grant, Quota};
use corral_api::resources::{normalize, reservation_role};
use corral_api::v1;
use corral_wit::allocator::exports::corral::plugin::allocator as wit_alloc;
use corral_wit::types as wit;

/// Mesos defaults for `HealthCheck` fields a task leaves out.
const DEFAULT_HEALTH_DELAY_S: f64 = 15.0;
const DEFAULT_HEALTH_INTERVAL_S: f64 = 10.0;
const DEFAULT_HEALTH_TIMEOUT_S: f64 = 20.0;
const DEFAULT_HEALTH_FAILURES: u32 = 3;
const DEFAULT_HEALTH_GRACE_S: f64 = 10.0;

/// A Mesos task as the WIT `task-info` an executor or hook sees.
pub fn task_to_wit(
    task: &v1::TaskInfo,
    framework_id: &str,
    container_id: &str,
    sandbox: &str,
) -> wit::TaskInfo {
    wit::TaskInfo {
        task_id: task.task_id.value.clone(),
        name: task.name.clone(),
        framework_id: framework_id.to_string(),
        agent_id: task.agent_id.value.clone(),
        container_id: container_id.to_string(),
        resources: resources_to_wit(&task.resources),
        command: task.command.as_ref().map(command_to_wit),
        labels: labels_to_wit(task.labels.as_ref()),
        kill_grace_period_ms: task
            .kill_policy
            .as_ref()
            .and_then(|k| k.grace_period)
            .map(|d| u64::try_from(d.nanoseconds / 1_000_000).unwrap_or(0)),
        health_check: task.health_check.as_ref().and_then(health_check_to_wit),
        sandbox: sandbox.to_string(),
    }
}

pub fn command_to_wit(command: &v1::CommandInfo) -> wit::CommandInfo {
    wit::CommandInfo {
        shell: command.is_shell(),
        value: command.value.clone().unwrap_or_default(),
        arguments: command.arguments.clone(),
        environment: command
            .environment
            .iter()
            .flat_map(|e| &e.variables)
            .map(|v| wit::EnvVar {
                name: v.name.clone(),
                value: v.value.clone().unwrap_or_default(),
            })
            .collect(),
        user: command.user.clone(),
    }
}

pub fn labels_to_wit(labels: Option<&v1::Labels>) -> Vec<wit::Label> {
    labels
        .into_iter()
        .flat_map(|l| &l.labels)
        .map(|l| wit::Label {
            key: l.key.clone(),
            value: l.value.clone().unwrap_or_default(),
        })
        .collect()
}

/// `None` for an empty list, as Mesos leaves `labels` out when there are none.
pub fn labels_from_wit(labels: &[wit::Label]) -> Option<v1::Labels> {
    (!labels.is_empty()).then(|| v1::Labels {
        labels: labels
            .iter()
            .map(|l| v1::Label {
                key: l.key.clone(),
                value: Some(l.value.clone()),
            })
            .collect(),
    })
}

/// A health check, with Mesos' defaults filled in. `None` when its type cannot be told or
/// its port does not fit a port number (the master refuses such tasks before they get here).
pub fn health_check_to_wit(check: &v1::HealthCheck) -> Option<wit::HealthCheck> {
    let kind = match check.kind.as_deref() {
        Some("COMMAND") => wit::CheckKind::Command(command_to_wit(check.command.as_ref()?)),
        Some("HTTP") => http_check_to_wit(check.http.as_ref()?)?,
        Some("TCP") => wit::CheckKind::Tcp(u16::try_from(check.tcp.as_ref()?.port).ok()?),
        // No type: older clients set just one of the fields.
        None | Some("UNKNOWN") => {
            if let Some(command) = &check.command {
                wit::CheckKind::Command(command_to_wit(command))
            } else if let Some(http) = &check.http {
                http_check_to_wit(http)?
            } else {
                wit::CheckKind::Tcp(u16::try_from(check.tcp.as_ref()?.port).ok()?)
            }
        }
        Some(_) => return None,
    };
    Some(wit::HealthCheck {
        kind,
        delay_seconds: check.delay_seconds.unwrap_or(DEFAULT_HEALTH_DELAY_S),
        interval_seconds: check.interval_seconds.unwrap_or(DEFAULT_HEALTH_INTERVAL_S),
        timeout_seconds: check.timeout_seconds.unwrap_or(DEFAULT_HEALTH_TIMEOUT_S),
        consecutive_failures: check
            .consecutive_failures
            .unwrap_or(DEFAULT_HEALTH_FAILURES),
        grace_period_seconds: check.grace_period_seconds.unwrap_or(DEFAULT_HEALTH_GRACE_S),
    })
}

fn http_check_to_wit(http: &v1::HttpCheckInfo) -> Option<wit::CheckKind> {
    Some(wit::CheckKind::Http(wit::HttpCheck {
        port: u16::try_from(http.port).ok()?,
        path: http.path.clone().unwrap_or_else(|| "/".to_string()),
        scheme: http.scheme.clone().unwrap_or_else(|| "http".to_string()),
    }))
}

/// Resources as WIT sees them. TEXT resources, which Mesos never offers, are left out.
pub fn resources_to_wit(list: &[v1::Resource]) -> Vec<wit::Resource> {
    list.iter().filter_map(resource_to_wit).collect()
}

fn resource_to_wit(r: &v1::Resource) -> Option<wit::Resource> {
    let value = match r.kind {
        v1::ValueType::Scalar => {
            wit::ResourceValue::Scalar(r.scalar.as_ref().map_or(0.0, |s| s.value))
        }
        v1::ValueType::Ranges => wit::ResourceValue::Ranges(
            r.ranges
                .iter()
                .flat_map(|x| &x.range)
                .map(|x| wit::ValueRange {
                    begin: x.begin,
                    end: x.end,
                })
                .collect(),
        ),
        v1::ValueType::Set => {
            wit::ResourceValue::Set(r.set.as_ref().map(|s| s.item.clone()).unwrap_or_default())
        }
        v1::ValueType::Text => return None,
    };
    Some(wit::Resource {
        name: r.name.clone(),
        value,
        reservation: reservation_role(r).map(str::to_string),
        revocable: r.revocable.is_some(),
    })
}

pub fn resources_from_wit(list: &[wit::Resource]) -> Vec<v1::Resource> {
    list.iter().map(resource_from_wit).collect()
}

fn resource_from_wit(r: &wit::Resource) -> v1::Resource {
    let mut out = v1::Resource {
        name: r.name.clone(),
        reservations: r
            .reservation
            .iter()
            .map(|role| v1::ReservationInfo {
                role: role.clone(),
                ..Default::default()
            })
            .collect(),
        revocable: r.revocable.then_some(v1::RevocableInfo {}),
        ..Default::default()
    };
    match &r.value {
        wit::ResourceValue::Scalar(v) => {
            out.kind = v1::ValueType::Scalar;
            out.scalar = Some(v1::Scalar { value: *v });
        }
        wit::ResourceValue::Ranges(ranges) => {
            out.kind = v1::ValueType::Ranges;
            out.ranges = Some(v1::Ranges {
                range: ranges
                    .iter()
                    .map(|x| v1::Range {
                        begin: x.begin,
                        end: x.end,
                    })
                    .collect(),
            });
        }
        wit::ResourceValue::Set(items) => {
            out.kind = v1::ValueType::Set;
            out.set = Some(v1::Set {
                item: items.clone(),
            });
        }
    }
    normalize(out)
}

/// "TASK_RUNNING" and friends from the WIT enum.
pub fn task_state_from_wit(state: wit::TaskState) -> v1::TaskState {
    use v1::TaskState as M;
    use wit::TaskState as W;
    match state {
        W::Staging => M::TaskStaging,
        W::Starting => M::TaskStarting,
        W::Running => M::TaskRunning,
        W::Killing => M::TaskKilling,
        W::Finished => M::TaskFinished,
        W::Failed => M::TaskFailed,
        W::Killed => M::TaskKilled,
        W::Error => M::TaskError,
        W::Lost => M::TaskLost,
        W::Dropped => M::TaskDropped,
        W::Unreachable => M::TaskUnreachable,
        W::Gone => M::TaskGone,
        W::GoneByOperator => M::TaskGoneByOperator,
        W::Unknown => M::TaskUnknown,
    }
}

pub fn task_state_to_wit(state: v1::TaskState) -> wit::TaskState {
    use v1::TaskState as M;
    use wit::TaskState as W;
    match state {
        M::TaskStaging => W::Staging,
        M::TaskStarting => W::Starting,
        M::TaskRunning => W::Running,
        M::TaskKilling => W::Killing,
        M::TaskFinished => W::Finished,
        M::TaskFailed => W::Failed,
        M::TaskKilled => W::Killed,
        M::TaskError => W::Error,
        M::TaskLost => W::Lost,
        M::TaskDropped => W::Dropped,
        M::TaskUnreachable => W::Unreachable,
        M::TaskGone => W::Gone,
        M::TaskGoneByOperator => W::GoneByOperator,
        M::TaskUnknown => W::Unknown,
    }
}

/// A Mesos attribute as text: scalars as numbers, ranges as "[a-b,c-d]", sets as "{a,b}", the
/// way Mesos prints them.
pub fn attribute_to_wit(a: &v1::Attribute) -> wit::Attribute {
    let value = match a.kind {
        v1::ValueType::Text => a.text.as_ref().map(|t| t.value.clone()).unwrap_or_default(),
        v1::ValueType::Scalar => a
            .scalar
            .as_ref()
            .map(|s| s.value.to_string())
            .unwrap_or_default(),
        v1::ValueType::Ranges => {
            let parts: Vec<String> = a
                .ranges
                .iter()
                .flat_map(|r| &r.range)
                .map(|r| format!("{}-{}", r.begin, r.end))
                .collect();
            format!("[{}]", parts.join(","))
        }
        v1::ValueType::Set => {
            let items = a.set.as_ref().map(|s| s.item.join(",")).unwrap_or_default();
            format!("{{{items}}}")
        }
    };
    wit::Attribute {
        name: a.name.clone(),
        value,
    }
}

pub fn agent_to_wit(agent: &AgentSnapshot) -> wit::AgentInfo {
    wit::AgentInfo {
        id: agent.id.clone(),
        hostname: agent.hostname.clone(),
        resources: resources_to_wit(&agent.resources),
        attributes: agent.attributes.iter().map(attribute_to_wit).collect(),
    }
}

pub fn framework_to_wit(framework: &FrameworkSnapshot) -> wit::FrameworkInfo {
    wit::FrameworkInfo {
        id: framework.id.clone(),
        name: framework.name.clone(),
        roles: framework.roles.clone(),
        capabilities: framework.capabilities.clone(),
        principal: framework.principal.clone(),
    }
}

pub fn allocation_to_wit(a: &Allocation) -> wit_alloc::Allocation {
    wit_alloc::Allocation {
        framework_id: a.framework_id.clone(),
        role: a.role.clone(),
        resources: resources_to_wit(&a.resources),
    }
}

pub fn quota_to_wit(q: &Quota) -> wit_alloc::Quota {
    wit_alloc::Quota {
        role: q.role.clone(),
        guarantees: resources_to_wit(&q.guarantees),
        limits: resources_to_wit(&q.limits),
    }
}

pub fn grant_from_wit(g: &wit_alloc::Grant) -> Grant {
    Grant {
        agent_id: g.agent_id.clone(),
        framework_id: g.framework_id.clone(),
        role: g.role.clone(),
        resources: resources_from_wit(&g.resources),
    }
}

#[cfg(test)]
#[path = "convert_tests.rs"]
mod tests;
