//! Conversions between Mesos wire types (crate::api::v1) and WIT types.

use super::bindings::types as wit;
use crate::api::v1;

/// A Mesos task as the WIT `task-info` an executor or hook sees.
pub fn task_to_wit(
    _task: &v1::TaskInfo,
    _framework_id: &str,
    _container_id: &str,
    _sandbox: &str,
) -> wit::TaskInfo {
    todo!("implemented by the plugin runtime work")
}

pub fn resources_to_wit(_list: &[v1::Resource]) -> Vec<wit::Resource> {
    todo!("implemented by the plugin runtime work")
}

pub fn resources_from_wit(_list: &[wit::Resource]) -> Vec<v1::Resource> {
    todo!("implemented by the plugin runtime work")
}

/// "TASK_RUNNING" and friends from the WIT enum.
pub fn task_state_from_wit(_state: wit::TaskState) -> v1::TaskState {
    todo!("implemented by the plugin runtime work")
}
