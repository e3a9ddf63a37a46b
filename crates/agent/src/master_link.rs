//! The agent's way to the master: its HTTP client, the master it follows now (the leader,
//! once registered) and whether the current stream has registered it.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::locks::lock;

pub struct MasterLink {
    http: reqwest::Client,
    /// `host:port` of the master this agent follows now; `--master` may list several.
    now: Mutex<String>,
    /// Whether the master has registered us on the current stream.
    registered: AtomicBool,
}

impl MasterLink {
    pub fn new(http: reqwest::Client, first: String) -> MasterLink {
        MasterLink {
            http,
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
