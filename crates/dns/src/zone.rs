//! What the server answers from, shared by the DNS and HTTP sides and written by the feed:
//! the current record set (swapped whole), the SOA serial, and how fresh it all is.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use serde::Serialize;

use super::records::RecordSet;

/// How the feed stands: shown by `/v1/config` and `/metrics`.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct FeedStatus {
    /// The master the stream comes from (`host:port`).
    pub leader: Option<String>,
    /// Whether the stream is open now.
    pub connected: bool,
    /// When the records last changed (ms since the epoch).
    pub generated_ms: Option<u64>,
    /// Since when the stream has been down, the last known records still served.
    pub stale_since_ms: Option<u64>,
    /// Full resynchronisations (SUBSCRIBED snapshots) taken.
    pub resyncs: u64,
    /// Operator events applied.
    pub events: u64,
}

#[derive(Default)]
pub struct Zone {
    records: RwLock<Arc<RecordSet>>,
    serial: AtomicU32,
    status: Mutex<FeedStatus>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Zone {
    pub fn records(&self) -> Arc<RecordSet> {
        self.records
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Installs a new generation; the SOA serial becomes its time (seconds), as Mesos-DNS.
    pub fn install(&self, records: RecordSet, now_ms: u64) {
        *self.records.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(records);
        let seconds = u32::try_from(now_ms / 1000).unwrap_or(u32::MAX);
        // Strictly increasing, even for two generations within a second.
        let _ = self
            .serial
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |old| {
                Some(seconds.max(old.wrapping_add(1)))
            });
        lock(&self.status).generated_ms = Some(now_ms);
    }

    pub fn serial(&self) -> u32 {
        self.serial.load(Ordering::Relaxed)
    }

    pub fn status(&self) -> FeedStatus {
        lock(&self.status).clone()
    }

    pub fn update_status(&self, f: impl FnOnce(&mut FeedStatus)) {
        f(&mut lock(&self.status));
    }
}
