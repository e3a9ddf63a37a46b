//! The registration loop: subscribe to the master, follow its stream of commands, and
//! re-subscribe (with the saved id and the current tasks) whenever the stream ends, fails or
//! falls silent. Logs once per change of state, not once per retry.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use super::shared::AgentShared;
use crate::api::agent_protocol::{AgentCommand, PING_INTERVAL_SECS, SUBSCRIBE_PATH};
use crate::api::recordio::Decoder;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// Why a subscription ended.
#[derive(Debug, thiserror::Error)]
enum StreamEnd {
    #[error("cannot reach the master: {0}")]
    Connect(String),
    #[error("the master refused the subscription ({status}): {body}")]
    Refused { status: u16, body: String },
    #[error("the master closed the stream")]
    Closed,
    #[error("the stream failed: {0}")]
    Broken(String),
    #[error("nothing heard from the master for {0:?}")]
    Silent(Duration),
    #[error("the agent is stopping")]
    Stopping,
}

pub async fn run(shared: Arc<AgentShared>) {
    let mut shutdown = shared.shutdown.clone();
    let mut backoff = FIRST_BACKOFF;
    // Whether the last attempt failed, so repeated failures are logged once.
    let mut failing = false;
    loop {
        let outcome = tokio::select! {
            outcome = follow_stream(&shared) => outcome,
            _ = super::stopped(&mut shutdown) => StreamEnd::Stopping,
        };
        let was_registered = shared
            .registered
            .swap(false, std::sync::atomic::Ordering::SeqCst);
        if let StreamEnd::Stopping = outcome {
            return;
        }
        if was_registered {
            tracing::warn!(
                "lost the master at {}: {outcome}; reconnecting",
                shared.config.master
            );
            backoff = FIRST_BACKOFF;
            failing = true;
        } else if !failing {
            tracing::warn!(
                "cannot register with the master at {}: {outcome}; retrying",
                shared.config.master
            );
            failing = true;
        } else {
            tracing::debug!("registration attempt failed: {outcome}");
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = super::stopped(&mut shutdown) => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// One subscription, from the POST to the end of its stream.
async fn follow_stream(shared: &Arc<AgentShared>) -> StreamEnd {
    let url = format!("http://{}{SUBSCRIBE_PATH}", shared.config.master);
    let body = shared.subscribe_message();
    let response = match shared.http.post(&url).json(&body).send().await {
        Ok(r) => r,
        Err(e) => return StreamEnd::Connect(error_chain(&e)),
    };
    if !response.status().is_success() {
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        return StreamEnd::Refused { status, body };
    }
    let silence = Duration::from_secs(3 * PING_INTERVAL_SECS);
    let mut stream = response.bytes_stream();
    let mut decoder = Decoder::default();
    loop {
        let chunk = match tokio::time::timeout(silence, stream.next()).await {
            Err(_) => return StreamEnd::Silent(silence),
            Ok(None) => return StreamEnd::Closed,
            Ok(Some(Err(e))) => return StreamEnd::Broken(error_chain(&e)),
            Ok(Some(Ok(chunk))) => chunk,
        };
        decoder.feed(&chunk);
        loop {
            let record = match decoder.next_record() {
                Ok(Some(record)) => record,
                Ok(None) => break,
                Err(e) => return StreamEnd::Broken(e.to_string()),
            };
            match serde_json::from_slice::<AgentCommand>(&record) {
                Ok(command) => {
                    if let AgentCommand::Registered { agent_id } = &command
                        && !shared.registered.load(std::sync::atomic::Ordering::SeqCst)
                    {
                        tracing::info!(
                            "registered with the master at {} as agent {agent_id}",
                            shared.config.master
                        );
                    }
                    shared.handle_command(command);
                }
                Err(e) => tracing::error!(
                    "ignoring a command from the master that cannot be read: {e}: {}",
                    String::from_utf8_lossy(&record[..record.len().min(200)])
                ),
            }
        }
    }
}

/// reqwest's top-level message hides the cause ("error sending request"); show all of it.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
