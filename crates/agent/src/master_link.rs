//! The agent's way to the master: its HTTP client, the master it follows now (the leader,
//! once registered), whether the current stream has registered it, and whether the master
//! has marked it gone (then the agent shuts down: `gone.rs`).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

use super::locks::lock;
use corral_api::agent_protocol::is_gone_refusal;

pub struct MasterLink {
    http: reqwest::Client,
    /// "https" when `--master` says https://, else "http".
    scheme: &'static str,
    /// `host:port` of the master this agent follows now; `--master` may list several.
    now: Mutex<String>,
    /// Whether the master has registered us on the current stream.
    registered: AtomicBool,
    /// What the master said when it marked this agent gone; set once.
    gone: watch::Sender<Option<String>>,
}

impl MasterLink {
    pub fn new(http: reqwest::Client, scheme: &'static str, first: String) -> MasterLink {
        MasterLink {
            http,
            scheme,
            now: Mutex::new(first),
            registered: AtomicBool::new(false),
            gone: watch::Sender::new(None),
        }
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// `host:port` of the master the agent talks to now.
    pub fn master_now(&self) -> String {
        lock(&self.now).clone()
    }

    /// `path` on `master` (`host:port`), over http or https as `--master` says.
    pub fn url(&self, master: &str, path: &str) -> String {
        format!("{}://{master}{path}", self.scheme)
    }

    /// `path` on the master the agent talks to now.
    pub fn url_now(&self, path: &str) -> String {
        self.url(&self.master_now(), path)
    }

    pub fn follow(&self, master: String) {
        *lock(&self.now) = master;
    }

    pub fn is_registered(&self) -> bool {
        self.registered.load(Ordering::SeqCst)
    }

    /// Sets whether the current stream has registered the agent; returns what it was.
    pub fn set_registered(&self, registered: bool) -> bool {
        self.registered.swap(registered, Ordering::SeqCst)
    }

    /// The master marked this agent gone, saying `message`; the first word stands.
    pub fn mark_gone(&self, message: String) {
        self.gone.send_if_modified(|gone| {
            if gone.is_some() {
                return false;
            }
            tracing::warn!("the master says: {message}");
            *gone = Some(message);
            true
        });
    }

    /// Marks the agent gone if a refused call (`status`, `body`) says so; returns whether.
    pub fn gone_if_refused(&self, status: u16, body: &str) -> bool {
        let gone = is_gone_refusal(status, body);
        if gone {
            let message = serde_json::from_str::<serde_json::Value>(body)
                .ok()
                .and_then(|v| v.get("message")?.as_str().map(str::to_string))
                .unwrap_or_else(|| body.to_string());
            self.mark_gone(message);
        }
        gone
    }

    pub fn is_gone(&self) -> bool {
        self.gone.borrow().is_some()
    }

    /// Resolves with the master's message once it marks this agent gone.
    pub async fn gone(&self) -> String {
        let mut told = self.gone.subscribe();
        // The guard `wait_for` returns is not Send: cloned out at once. The sender lives as
        // long as `self`, so the wait cannot fail.
        let message = told
            .wait_for(Option::is_some)
            .await
            .map(|message| message.clone())
            .ok()
            .flatten();
        message.unwrap_or_default()
    }
}
