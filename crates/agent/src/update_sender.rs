//! Delivers the heads of the status update queues to the master while registered, and
//! resends each one every `status_update_retry` until its acknowledgement arrives.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::shared::AgentShared;
use corral_api::agent_protocol::{StatusUpdateMessage, UPDATE_PATH};
use corral_api::v1::{FrameworkId, TaskStatus};

/// How long to sleep when nothing is queued (a new update wakes the loop anyway).
const IDLE: Duration = Duration::from_secs(60);

pub async fn run(shared: Arc<AgentShared>) {
    let mut shutdown = shared.shutdown.clone();
    let retry = shared.config.status_update_retry;
    loop {
        if shared.registered.load(Ordering::SeqCst) {
            let due = shared.updates.take_due(Instant::now(), retry);
            if !due.is_empty() {
                send_all(&shared, due).await;
            }
        }
        let wake_at = match shared.registered.load(Ordering::SeqCst) {
            true => shared.updates.next_due(retry),
            false => None,
        };
        let sleep = wake_at.map_or(IDLE, |at| at.saturating_duration_since(Instant::now()));
        tokio::select! {
            _ = shared.updates_changed.notified() => {}
            _ = tokio::time::sleep(sleep) => {}
            _ = super::stopped(&mut shutdown) => return,
        }
    }
}

async fn send_all(shared: &Arc<AgentShared>, due: Vec<(FrameworkId, TaskStatus)>) {
    let Some(agent_id) = shared.agent_id() else {
        return;
    };
    let url = format!("http://{}{UPDATE_PATH}", shared.master_now());
    let sends = due.into_iter().map(|(framework_id, status)| {
        let message = StatusUpdateMessage {
            agent_id: agent_id.clone(),
            framework_id,
            status,
        };
        let request = shared.http.post(&url).json(&message).send();
        async move {
            let task = &message.status.task_id;
            match request.await {
                Ok(r) if r.status().is_success() => {
                    tracing::debug!("sent {} of task {task}", message.status.state)
                }
                // Not fatal: the update is resent after the retry interval.
                Ok(r) => {
                    tracing::debug!("master answered {} to an update of task {task}", r.status())
                }
                Err(e) => tracing::debug!("cannot send an update of task {task}: {e}"),
            }
        }
    });
    futures::future::join_all(sends).await;
}
