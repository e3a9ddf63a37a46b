//! The agent's way to the master: its HTTP client, the master it follows now (the leader,
//! once registered) and whether the current stream has registered it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::locks::lock;

pub struct MasterLink {
    http: reqwest::Client,
    /// "https" when `--master` says https://, else "http".
    scheme: &'static str,
    /// `host:port` of the master this agent follows now; `--master` may list several.
    now: Mutex<String>,
    /// Whether the master has registered us on the current stream.
    registered: AtomicBool,
}

impl MasterLink {
    pub fn new(http: reqwest::Client, scheme: &'static str, first: String) -> MasterLink {
        MasterLink {
            http,
            scheme,
            now: Mutex::new(first),
            registered: AtomicBool::new(false),
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
}
