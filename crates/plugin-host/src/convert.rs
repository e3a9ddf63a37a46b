//! Conversions between the host's types (Mesos wire types, corral_api::v1, and the plugin
//! host's own) and the WIT types shared by every plugin kind: resources, labels, environment
//! variables, task states, agents and frameworks. Only the adapters use them: no WIT type
//! leaves this crate.
//!
//! What a WIT type cannot say is dropped on the way in: reservation details beyond the role
//! (type, principal, labels), environment variable types, URIs. Coming back, resources are
//! normalized (`corral_api::resources::normalize`), with a static reservation for a role.

use super::allocator::{AgentSnapshot, Allocation, FrameworkSnapshot, Grant, Quota};
use corral_api::resources::{normalize, reservation_role};
use corral_api::v1;
use corral_wit::allocator::exports::corral::plugin::allocator as wit_alloc;
use corral_wit::types as wit;

pub(crate) fn labels_to_wit(labels: Option<&v1::Labels>) -> Vec<wit::Label> {
    labels
        .into_iter()
        .flat_map(|l| &l.labels)
        .map(|l| wit::Label {
            key: l.key.clone(),
            value: l.value.clone().unwrap_or_default(),
        })
        .collect()
}

pub(crate) fn label_from_wit(l: wit::Label) -> v1::Label {
    v1::Label {
        key: l.key,
        value: Some(l.value),
    }
}

/// A Mesos command's variables as WIT's: a variable without a value is empty.
pub(crate) fn environment_to_wit(environment: Option<&v1::Environment>) -> Vec<wit::EnvVar> {
    environment
        .into_iter()
        .flat_map(|e| &e.variables)
        .map(env_var_to_wit)
        .collect()
}

pub(crate) fn env_var_to_wit(v: &v1::EnvironmentVariable) -> wit::EnvVar {
    wit::EnvVar {
        name: v.name.clone(),
        value: v.value.clone().unwrap_or_default(),
    }
}

pub(crate) fn env_var_from_wit(v: wit::EnvVar) -> v1::EnvironmentVariable {
    v1::EnvironmentVariable {
        name: v.name,
        value: Some(v.value),
    }
}

/// `None` for an empty list, as Mesos leaves `labels` out when there are none.
pub(crate) fn labels_from_wit(labels: &[wit::Label]) -> Option<v1::Labels> {
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

/// Resources as WIT sees them. TEXT resources, which Mesos never offers, are left out.
pub(crate) fn resources_to_wit(list: &[v1::Resource]) -> Vec<wit::Resource> {
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

pub(crate) fn resources_from_wit(list: &[wit::Resource]) -> Vec<v1::Resource> {
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
pub(crate) fn task_state_from_wit(state: wit::TaskState) -> v1::TaskState {
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

pub(crate) fn task_state_to_wit(state: v1::TaskState) -> wit::TaskState {
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

pub(crate) fn attribute_to_wit(a: &v1::Attribute) -> wit::Attribute {
    wit::Attribute {
        name: a.name.clone(),
        value: attribute_text(a),
    }
}

/// A Mesos attribute's value as text, as plugins see it: scalars as numbers, ranges as
/// "[a-b,c-d]", sets as "{a,b}", the way Mesos prints them.
pub fn attribute_text(a: &v1::Attribute) -> String {
    match a.kind {
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
    }
}

/// A text attribute from a plugin (a hook's agent decoration).
pub(crate) fn attribute_from_wit(a: wit::Attribute) -> v1::Attribute {
    v1::Attribute {
        name: a.name,
        kind: v1::ValueType::Text,
        text: Some(v1::Text { value: a.value }),
        ..Default::default()
    }
}

pub(crate) fn agent_to_wit(agent: &AgentSnapshot) -> wit::AgentInfo {
    wit::AgentInfo {
        id: agent.id.clone(),
        hostname: agent.hostname.clone(),
        resources: resources_to_wit(&agent.resources),
        attributes: agent.attributes.iter().map(attribute_to_wit).collect(),
    }
}

pub(crate) fn framework_to_wit(framework: &FrameworkSnapshot) -> wit::FrameworkInfo {
    wit::FrameworkInfo {
        id: framework.id.clone(),
        name: framework.name.clone(),
        roles: framework.roles.clone(),
        capabilities: framework.capabilities.clone(),
        principal: framework.principal.clone(),
    }
}

pub(crate) fn allocation_to_wit(a: &Allocation) -> wit_alloc::Allocation {
    wit_alloc::Allocation {
        framework_id: a.framework_id.clone(),
        role: a.role.clone(),
        resources: resources_to_wit(&a.resources),
    }
}

pub(crate) fn quota_to_wit(q: &Quota) -> wit_alloc::Quota {
    wit_alloc::Quota {
        role: q.role.clone(),
        guarantees: resources_to_wit(&q.guarantees),
        limits: resources_to_wit(&q.limits),
    }
}

pub(crate) fn grant_from_wit(g: &wit_alloc::Grant) -> Grant {
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
