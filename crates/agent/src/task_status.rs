//! Building the status updates the agent reports, and reading a task's kill grace period.

use corral_api::v1::{AgentId, KillPolicy, Labels, StatusSource, TaskId, TaskState, TaskStatus};

/// The grace between SIGTERM and SIGKILL when neither the kill nor the task names one.
pub const DEFAULT_KILL_GRACE_MS: u64 = 3000;

/// The pieces of a status update that vary; the rest is filled by [`new_status`].
#[derive(Debug, Clone, Default)]
pub struct StatusFields {
    pub message: Option<String>,
    pub reason: Option<String>,
    pub healthy: Option<bool>,
    pub labels: Option<Labels>,
}

/// Seconds since the Unix epoch, as status timestamps (and Mesos' state times) count them.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A status update with a fresh uuid (base64 of 16 bytes, as Mesos sends it) and the time.
pub fn new_status(
    task_id: &TaskId,
    state: TaskState,
    source: StatusSource,
    agent_id: Option<AgentId>,
    fields: StatusFields,
) -> TaskStatus {
    use base64::Engine;
    let uuid = base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().as_bytes());
    let timestamp = now_secs();
    TaskStatus {
        task_id: task_id.clone(),
        state,
        message: fields.message,
        source: Some(source),
        reason: fields.reason,
        agent_id,
        timestamp: Some(timestamp),
        uuid: Some(uuid),
        healthy: fields.healthy,
        labels: fields.labels,
        ..Default::default()
    }
}

/// The grace period a kill policy names, in milliseconds.
pub fn grace_ms(policy: Option<&KillPolicy>) -> Option<u64> {
    policy
        .and_then(|p| p.grace_period)
        .map(|d| u64::try_from(d.nanoseconds / 1_000_000).unwrap_or(0))
}
