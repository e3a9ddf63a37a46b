//! What operators see of the allocator besides its own `inspect()`: which policy is active,
//! how the last hot swap went (and why it was refused or rolled back), and how long
//! allocation cycles take. Shared between the driver and the HTTP handlers behind its own
//! small lock, so reading it never waits for a running cycle.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::Serialize;

use corral_http::prometheus::{Kind, MetricsText};
use corral_plugin_host::stats::Histogram;
use corral_plugin_host::store::ActiveAllocator;

/// Bounds of the allocation cycle histogram, in microseconds (exported in seconds).
const CYCLE_BUCKETS_US: &[u64] = &[
    1_000, 2_000, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    5_000_000, 10_000_000,
];

/// How the last swap ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SwapReport {
    pub target: ActiveAllocator,
    /// "probation" (switched, first cycles running), "active", "refused" (never switched)
    /// or "rolled_back" (switched, failed in its first cycles; the old policy is back).
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AllocatorStatus {
    /// The policy whose grants become offers now.
    pub active: ActiveAllocator,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_swap: Option<SwapReport>,
    /// Duration of the last allocation cycle, ms.
    pub last_cycle_ms: f64,
}

struct Inner {
    status: AllocatorStatus,
    cycles: Histogram,
}

#[derive(Clone)]
pub struct SharedStatus(Arc<Mutex<Inner>>);

impl Default for SharedStatus {
    fn default() -> Self {
        SharedStatus(Arc::new(Mutex::new(Inner {
            status: AllocatorStatus {
                active: ActiveAllocator {
                    plugin: String::new(),
                    config: String::new(),
                },
                last_swap: None,
                last_cycle_ms: 0.0,
            },
            cycles: Histogram::new(CYCLE_BUCKETS_US),
        })))
    }
}

impl SharedStatus {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self) -> AllocatorStatus {
        self.lock().status.clone()
    }

    pub fn set_active(&self, active: ActiveAllocator) {
        self.lock().status.active = active;
    }

    pub fn set_swap(&self, report: SwapReport) {
        self.lock().status.last_swap = Some(report);
    }

    pub fn record_cycle(&self, elapsed: Duration) {
        let mut inner = self.lock();
        inner.status.last_cycle_ms = elapsed.as_secs_f64() * 1000.0;
        inner
            .cycles
            .record(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
    }

    /// `corral_master_allocation_last_cycle_seconds` and the histogram
    /// `corral_master_allocation_cycle_seconds` (`_bucket{le=...}`, `_sum`, `_count`).
    pub fn write_metrics(&self, text: &mut MetricsText) {
        let inner = self.lock();
        text.single(
            "corral_master_allocation_last_cycle_seconds",
            Kind::Gauge,
            "Duration of the last allocation cycle.",
            inner.status.last_cycle_ms / 1000.0,
        );
        let buckets: Vec<(Option<f64>, u64)> = inner
            .cycles
            .cumulative()
            .into_iter()
            .map(|(bound, count)| (bound.map(|us| us as f64 / 1e6), count))
            .collect();
        text.histogram(
            "corral_master_allocation_cycle_seconds",
            "Allocation cycle durations.",
            &buckets,
            inner.cycles.sum() as f64 / 1e6,
            inner.cycles.count(),
        );
    }
}
