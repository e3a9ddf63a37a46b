//! Per-plugin call statistics (calls, errors, latency) and a fixed-bucket histogram. Lock-free
//! on the recording path: a call adds to a few atomics. The p99 is the upper bound of the
//! bucket holding the 99th percentile, which is as precise as an operator needs.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;

use corral_http::prometheus::{Kind, MetricsText};

/// Upper bounds (microseconds) of plugin call latency buckets; one more bucket holds the rest.
pub const CALL_BUCKETS_US: &[u64] = &[
    10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000,
    500_000, 1_000_000, 2_500_000,
];

/// A histogram over fixed upper bounds, in whatever unit the caller records.
pub struct Histogram {
    bounds: &'static [u64],
    /// One counter per bound, plus the overflow bucket.
    counts: Vec<AtomicU64>,
    sum: AtomicU64,
    count: AtomicU64,
}

impl Histogram {
    pub fn new(bounds: &'static [u64]) -> Self {
        Histogram {
            bounds,
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }

    pub fn record(&self, value: u64) {
        let bucket = self.bounds.partition_point(|&bound| bound < value);
        self.counts[bucket].fetch_add(1, Ordering::Relaxed);
        self.sum.fetch_add(value, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    pub fn sum(&self) -> u64 {
        self.sum.load(Ordering::Relaxed)
    }

    /// (upper bound, cumulative count) per bound, then (None, total): Prometheus' `le` series.
    pub fn cumulative(&self) -> Vec<(Option<u64>, u64)> {
        let mut total = 0;
        let mut out = Vec::with_capacity(self.counts.len());
        for (i, counter) in self.counts.iter().enumerate() {
            total += counter.load(Ordering::Relaxed);
            out.push((self.bounds.get(i).copied(), total));
        }
        out
    }

    /// The bucket bound at or above the `q` quantile (0..=1); `None` when nothing was
    /// recorded, the largest bound when the quantile falls in the overflow bucket.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        let cumulative = self.cumulative();
        let total = cumulative.last().map_or(0, |(_, c)| *c);
        if total == 0 {
            return None;
        }
        let rank = ((total as f64) * q).ceil().max(1.0) as u64;
        cumulative
            .iter()
            .find(|(_, c)| *c >= rank)
            .map(|(bound, _)| bound.unwrap_or_else(|| self.bounds.last().copied().unwrap_or(0)))
    }
}

/// One plugin's counters.
pub struct PluginStats {
    errors: AtomicU64,
    latency_us: Histogram,
}

impl PluginStats {
    fn new() -> Self {
        PluginStats {
            errors: AtomicU64::new(0),
            latency_us: Histogram::new(CALL_BUCKETS_US),
        }
    }

    pub fn record(&self, elapsed: Duration, ok: bool) {
        self.latency_us
            .record(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
        if !ok {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// A call that returned but whose answer the host refused: an error after all.
    pub fn count_error(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        StatsSnapshot {
            calls: self.latency_us.count(),
            errors: self.errors.load(Ordering::Relaxed),
            p99_us: self.latency_us.quantile(0.99),
        }
    }
}

pub use corral_api::agent_protocol::StatsSnapshot;

static REGISTRY: LazyLock<Mutex<BTreeMap<String, Arc<PluginStats>>>> =
    LazyLock::new(|| Mutex::new(BTreeMap::new()));

/// The counters of the plugin named `plugin` (shared by all its instances in this process).
pub fn for_plugin(plugin: &str) -> Arc<PluginStats> {
    let mut registry = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    registry
        .entry(plugin.to_string())
        .or_insert_with(|| Arc::new(PluginStats::new()))
        .clone()
}

/// Every plugin's calls in this process as Prometheus series: the histogram
/// `corral_plugin_call_seconds{plugin=...}` and the counter
/// `corral_plugin_call_errors_total{plugin=...}`.
pub fn write_metrics(text: &mut MetricsText) {
    let registry = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    let name = "corral_plugin_call_seconds";
    text.family(
        name,
        Kind::Histogram,
        "Calls into each plugin in this process (every instance of it).",
    );
    for (plugin, stats) in registry.iter() {
        let histogram = &stats.latency_us;
        let buckets: Vec<(Option<f64>, u64)> = histogram
            .cumulative()
            .into_iter()
            .map(|(bound, count)| (bound.map(|us| us as f64 / 1e6), count))
            .collect();
        text.histogram_series(
            name,
            &[("plugin", plugin)],
            &buckets,
            histogram.sum() as f64 / 1e6,
            histogram.count(),
        );
    }
    let name = "corral_plugin_call_errors_total";
    text.family(
        name,
        Kind::Counter,
        "Plugin calls that failed (a trap, a timeout, an answer refused).",
    );
    for (plugin, stats) in registry.iter() {
        let errors = stats.errors.load(Ordering::Relaxed);
        text.sample(name, &[("plugin", plugin)], errors as f64);
    }
}

/// Every plugin's counters so far, by name.
pub fn snapshot_all() -> BTreeMap<String, StatsSnapshot> {
    let registry = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    registry
        .iter()
        .map(|(name, stats)| (name.clone(), stats.snapshot()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_p99_is_the_bucket_of_the_99th_percentile() {
        let h = Histogram::new(&[10, 100, 1000]);
        assert_eq!(h.quantile(0.99), None);
        for _ in 0..98 {
            h.record(5);
        }
        h.record(50);
        // 99 values: the 99th is 50.
        assert_eq!(h.quantile(0.99), Some(100));
        assert_eq!(h.quantile(0.5), Some(10));
        h.record(500);
        h.record(700);
        // 101 values: the 100th is 500, in the bucket up to 1000.
        assert_eq!(h.quantile(0.99), Some(1000));
        h.record(5000);
        assert_eq!(h.count(), 102);
        assert_eq!(h.sum(), 98 * 5 + 50 + 500 + 700 + 5000);
        let cumulative = h.cumulative();
        assert_eq!(
            cumulative,
            vec![
                (Some(10), 98),
                (Some(100), 99),
                (Some(1000), 101),
                (None, 102)
            ]
        );
    }

    #[test]
    fn a_bound_itself_falls_in_its_bucket() {
        let h = Histogram::new(&[10, 100]);
        h.record(10);
        assert_eq!(h.cumulative()[0], (Some(10), 1));
    }

    #[test]
    fn calls_and_errors_are_counted_per_plugin() {
        let stats = for_plugin("stats-test-plugin");
        stats.record(Duration::from_micros(30), true);
        stats.record(Duration::from_micros(30), false);
        let snapshot = snapshot_all()["stats-test-plugin"];
        assert_eq!(snapshot.calls, 2);
        assert_eq!(snapshot.errors, 1);
        assert_eq!(snapshot.p99_us, Some(50));
    }
}
