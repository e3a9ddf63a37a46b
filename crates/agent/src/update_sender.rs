//! Delivers the heads of the status update queues to the master while registered, and
//! resends each one every `status_update_retry` until its acknowledgement arrives. An update
//! is sent only once it is on disk (as Mesos checkpoints before forwarding).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::identity::AgentIdentity;
use super::master_link::MasterLink;
use super::shutdown::Shutdown;
use super::status_updates::StatusUpdateManager;
use corral_api::agent_protocol::{StatusUpdateMessage, UPDATE_PATH};
use corral_api::v1::{FrameworkId, TaskStatus};

/// How long to sleep when nothing is queued (a new update wakes the loop anyway).
const IDLE: Duration = Duration::from_secs(60);

/// What the update sender works with.
pub struct UpdateSenderContext {
    pub updates: Arc<StatusUpdateManager>,
    pub link: Arc<MasterLink>,
    pub identity: Arc<AgentIdentity>,
    /// How long to wait for an acknowledgement before resending.
    pub retry: Duration,
    pub shutdown: Shutdown,
}

pub async fn run(ctx: UpdateSenderContext) {
    let mut shutdown = ctx.shutdown.clone();
    loop {
        if ctx.link.is_registered() {
            let due = ctx.updates.take_due(Instant::now(), ctx.retry);
            if !due.is_empty() {
                ctx.updates.flush().await;
                send_all(&ctx, due).await;
            }
        }
        let wake_at = match ctx.link.is_registered() {
            true => ctx.updates.next_due(ctx.retry),
            false => None,
        };
        let sleep = wake_at.map_or(IDLE, |at| at.saturating_duration_since(Instant::now()));
        tokio::select! {
            _ = ctx.updates.changed() => {}
            _ = tokio::time::sleep(sleep) => {}
            _ = shutdown.stopped() => return,
        }
    }
}

async fn send_all(ctx: &UpdateSenderContext, due: Vec<(FrameworkId, TaskStatus)>) {
    let Some(agent_id) = ctx.identity.id() else {
        return;
    };
    let url = ctx.link.url_now(UPDATE_PATH);
    let sends = due.into_iter().map(|(framework_id, status)| {
        let message = StatusUpdateMessage {
            agent_id: agent_id.clone(),
            framework_id,
            status,
        };
        let request = ctx.link.http().post(&url).json(&message).send();
        let link = &ctx.link;
        async move {
            let task = &message.status.task_id;
            match request.await {
                Ok(r) if r.status().is_success() => {
                    tracing::debug!("sent {} of task {task}", message.status.state)
                }
                // Not fatal: the update is resent after the retry interval; unless the
                // master marked this agent gone (then it shuts down).
                Ok(r) => {
                    let status = r.status();
                    let body = r.text().await.unwrap_or_default();
                    if !link.gone_if_refused(status.as_u16(), &body) {
                        tracing::debug!("master answered {status} to an update of task {task}")
                    }
                }
                Err(e) => tracing::debug!("cannot send an update of task {task}: {e}"),
            }
        }
    });
    futures::future::join_all(sends).await;
}
