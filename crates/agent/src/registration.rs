//! The registration loop: subscribe to the master, follow its stream of commands, and
//! re-subscribe (with the saved id and the current tasks) whenever the stream ends, fails or
//! falls silent (3 x PING_INTERVAL_SECS). Logs once per change of state, not once per retry.
//!
//! `--master` may list several masters: each attempt goes to the next one, and a follower's
//! `307 Temporary Redirect` leads to the leader (the HTTP client follows it), whose address
//! is then used for status updates too.
//!
//! A master that marked the agent gone says so (a `Shutdown` command, or a 403 naming it):
//! the loop ends, and the agent shuts down (`gone.rs`). `--master etcd://...` (the masters' `--state`) reads
//! the leader from the masters' election before each attempt instead.
//!
//! When a registered stream ends (the leader died or stepped down), the agent tries every
//! master once at once, without backoff: a follower holds the request until the new leader
//! is elected, so the agent re-registers the moment it leads. Then the usual backoff.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use super::agent_cgroups::AgentCgroups;
use super::commands::Commands;
use super::identity::AgentIdentity;
use super::master_link::MasterLink;
use super::shutdown::Shutdown;
use super::status_updates::StatusUpdateManager;
use super::task_store::TaskStore;
use corral_api::agent_protocol::{AgentCommand, AgentScheme, AgentSubscribe, SUBSCRIBE_PATH};
use corral_api::recordio::Decoder;
use corral_api::v1::{AgentId, AgentInfo};

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
    #[error("the master marked this agent gone")]
    Gone,
}

/// What the registration loop works with.
pub(crate) struct RegistrationContext {
    pub link: Arc<MasterLink>,
    pub identity: Arc<AgentIdentity>,
    /// `--master`: one or several masters, or the masters' etcd.
    pub masters: String,
    /// What that etcd is read over (`--etcd-ca`, ...).
    pub etcd_tls: Option<corral_client::EtcdTls>,
    /// hostname, port, resources and attributes; the id comes from `identity`.
    pub info: AgentInfo,
    /// The tasks a subscription reports.
    pub tasks: Arc<TaskStore>,
    /// Made due again at each registration.
    pub updates: Arc<StatusUpdateManager>,
    /// For the isolation note a subscription carries.
    pub cgroups: Arc<AgentCgroups>,
    /// What the master's other commands do.
    pub commands: Commands,
    /// A stream silent this long is taken as broken.
    pub stream_silence: Duration,
    /// How the master reaches the agent's API: https when it serves TLS.
    pub scheme: AgentScheme,
    pub shutdown: Shutdown,
}

impl RegistrationContext {
    /// What the agent tells the master when it (re)subscribes.
    fn subscribe_message(&self) -> AgentSubscribe {
        let agent_id = self.identity.id();
        let mut info = self.info.clone();
        info.id = agent_id.clone();
        let (tasks, frameworks) = self
            .tasks
            .subscription(&agent_id.clone().unwrap_or_default());
        AgentSubscribe {
            tasks,
            frameworks,
            agent_id,
            info,
            version: corral_api::VERSION.to_string(),
            isolation_note: self.cgroups.fallback_note(),
            scheme: self.scheme,
        }
    }

    /// The master registered the agent: its id is adopted and saved, and every pending
    /// update is due at once.
    fn registered(&self, id: AgentId) {
        self.identity.adopt(id);
        self.link.set_registered(true);
        self.updates.mark_all_due();
    }
}

/// The masters in a `--master` list (comma-separated `host:port`s, without their scheme:
/// see [`scheme`]); never empty. An `etcd://` address is one entry, whole.
pub fn masters(list: &str) -> Vec<String> {
    if corral_state::names_etcd(list) {
        return vec![list.trim().to_string()];
    }
    let masters: Vec<String> = list
        .split(',')
        .map(str::trim)
        .map(|m| m.strip_prefix("https://").unwrap_or(m))
        .map(|m| m.strip_prefix("http://").unwrap_or(m))
        .map(|m| m.trim_end_matches('/'))
        .filter(|m| !m.is_empty())
        .map(String::from)
        .collect();
    if masters.is_empty() {
        vec![list.to_string()]
    } else {
        masters
    }
}

/// "https" when `--master` names its masters with https://, else "http".
pub fn scheme(list: &str) -> &'static str {
    if list.trim_start().starts_with("https://") {
        "https"
    } else {
        "http"
    }
}

pub(crate) async fn run(ctx: RegistrationContext) {
    let from_election = corral_state::names_etcd(&ctx.masters);
    let masters = masters(&ctx.masters);
    let mut next = 0;
    // Attempts left without backoff after a registered stream ended.
    let mut immediate = 0;
    let mut shutdown = ctx.shutdown.clone();
    let mut backoff = FIRST_BACKOFF;
    // Whether the last attempt failed, so repeated failures are logged once.
    let mut failing = false;
    let mut refused_logged = false;
    loop {
        let mut master = masters[next % masters.len()].clone();
        next += 1;
        let attempt = async {
            if from_election {
                match leader_from_election(&master, ctx.etcd_tls.as_ref()).await {
                    Ok(leader) => master = leader,
                    Err(e) => return StreamEnd::Connect(e),
                }
            }
            follow_stream(&ctx, &master).await
        };
        let outcome = tokio::select! {
            outcome = attempt => outcome,
            _ = shutdown.stopped() => StreamEnd::Stopping,
        };
        let was_registered = ctx.link.set_registered(false);
        // Gone: `gone.rs` shuts the agent down; no more attempts.
        if let StreamEnd::Stopping | StreamEnd::Gone = outcome {
            return;
        }
        if was_registered {
            let lost = ctx.link.master_now();
            tracing::warn!("lost the master at {lost}: {outcome}; reconnecting");
            backoff = FIRST_BACKOFF;
            failing = true;
            refused_logged = false;
            immediate = masters.len();
            // The master just lost is the least likely to lead now: try the others first.
            // A dying process's port drops SYNs for a moment, and one dropped SYN costs a
            // second of TCP's retransmission timer.
            next = skip_master(&masters, next, &lost);
        } else if !failing || matches!(outcome, StreamEnd::Refused { .. }) && !refused_logged {
            // A refusal (e.g. an agent marked gone) is worth saying even mid-retry, once.
            tracing::warn!("cannot register with the master at {master}: {outcome}; retrying");
            refused_logged |= matches!(outcome, StreamEnd::Refused { .. });
            failing = true;
        } else {
            tracing::debug!("registration attempt failed: {outcome}");
        }
        if immediate > 0 {
            immediate -= 1;
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.stopped() => return,
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// `next`, or the index after it when `next` names `lost` (among several masters).
pub fn skip_master(masters: &[String], next: usize, lost: &str) -> usize {
    if masters.len() > 1 && masters[next % masters.len()] == lost {
        next + 1
    } else {
        next
    }
}

/// One subscription, from the POST to the end of its stream.
async fn follow_stream(ctx: &RegistrationContext, master: &str) -> StreamEnd {
    let url = ctx.link.url(master, SUBSCRIBE_PATH);
    let body = ctx.subscribe_message();
    let response = match ctx.link.http().post(&url).json(&body).send().await {
        Ok(r) => r,
        Err(e) => return StreamEnd::Connect(error_chain(&e)),
    };
    if !response.status().is_success() {
        let status = response.status().as_u16();
        let body = response.text().await.unwrap_or_default();
        if ctx.link.gone_if_refused(status, &body) {
            return StreamEnd::Gone;
        }
        return StreamEnd::Refused { status, body };
    }
    // Where the redirects (if any) ended: the leader.
    let leader = response.url();
    if let Some(host) = leader.host_str() {
        let now = match leader.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        ctx.link.follow(now);
    }
    let silence = ctx.stream_silence;
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
                Ok(AgentCommand::Registered { agent_id }) => {
                    // Claimed before any cgroup is made under the id: other agents'
                    // sweeps of idle cgroups leave it alone (`agent_cgroups.rs`).
                    let (cgroups, id) = (ctx.cgroups.clone(), agent_id.value.clone());
                    if let Err(e) = tokio::task::spawn_blocking(move || cgroups.claim(&id)).await {
                        tracing::error!("claiming the agent's cgroups panicked: {e}");
                    }
                    if !ctx.link.is_registered() {
                        tracing::info!(
                            "registered with the master at {} as agent {agent_id}",
                            ctx.link.master_now()
                        );
                    }
                    ctx.registered(agent_id);
                }
                Ok(AgentCommand::Shutdown { message }) => {
                    ctx.link.mark_gone(message);
                    return StreamEnd::Gone;
                }
                Ok(command) => ctx.commands.handle(command),
                Err(e) => tracing::error!(
                    "ignoring a command from the master that cannot be read: {e}: {}",
                    String::from_utf8_lossy(&record[..record.len().min(200)])
                ),
            }
        }
    }
}

/// The leading master's `host:port` as the masters' election in etcd names it.
async fn leader_from_election(
    etcd: &str,
    tls: Option<&corral_client::EtcdTls>,
) -> Result<String, String> {
    corral_client::master_address::MasterAddress::pick_with_tls(etcd, None, tls)
        .await
        .map(|leader| leader.to_string())
        .map_err(|e| e.to_string())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lost_master_is_tried_last() {
        let masters: Vec<String> = ["a:1", "b:2", "c:3"].map(String::from).to_vec();
        assert_eq!(skip_master(&masters, 1, "b:2"), 2, "b just died: c next");
        assert_eq!(skip_master(&masters, 4, "b:2"), 5, "indices wrap");
        assert_eq!(skip_master(&masters, 2, "b:2"), 2, "c is not the lost one");
        let one = vec!["a:1".to_string()];
        assert_eq!(skip_master(&one, 0, "a:1"), 0, "a single master is retried");
    }
}
