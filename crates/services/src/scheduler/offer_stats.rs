//! Why an app waits (`/v2/queue`'s `processedOffersSummary` and `lastUnusedOffers`, as
//! Marathon 1.5-1.6 computes them in OfferMatchStatistics and QueueInfoConversion.scala):
//! each offer an app needing tasks was matched against is used, or refused for the first
//! reason of Marathon's funnel (`NoOfferMatchReason.reasonFunnel`: role, constraint,
//! reservation, cpus, memory, disk, gpus, ports). Counted since the app began waiting (the
//! launch attempt), and for the last refused offer of each agent. Pure bookkeeping: `place`
//! says what happened, the driver records it here.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::time::Timestamp;

/// Marathon's `NoOfferMatchReason.reasonFunnel`, in its order.
pub const REASONS: [&str; 8] = [
    "UnfulfilledRole",
    "UnfulfilledConstraint",
    "NoCorrespondingReservationFound",
    "InsufficientCpus",
    "InsufficientMemory",
    "InsufficientDisk",
    "InsufficientGpus",
    "InsufficientPorts",
];

pub const UNFULFILLED_ROLE: usize = 0;
pub const UNFULFILLED_CONSTRAINT: usize = 1;
pub const INSUFFICIENT_CPUS: usize = 3;
pub const INSUFFICIENT_PORTS: usize = 7;

/// What one offer was to one app: used, or refused for a reason (an index in [`REASONS`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Matched {
    pub app_id: String,
    pub agent_id: String,
    /// The offer as `lastUnusedOffers` shows it (`offer_json`); only kept when refused.
    pub offer: Value,
    pub refused: Option<usize>,
}

/// A refused offer kept per agent: the offer, the reason, when.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub offer: Value,
    pub reason: usize,
    pub at_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct OfferStats {
    /// When the app began waiting for offers (ms).
    pub since: u64,
    pub processed: u64,
    pub unused: u64,
    pub last_unused_at: Option<u64>,
    pub last_used_at: Option<u64>,
    /// Offers refused, per reason, since the app began waiting.
    pub declined: [u64; REASONS.len()],
    /// The last refused offer of each agent (Marathon keeps it even after a used one).
    pub last_refused: BTreeMap<String, Refusal>,
}

impl OfferStats {
    pub fn new(now_ms: u64) -> Self {
        OfferStats {
            since: now_ms,
            ..OfferStats::default()
        }
    }

    /// Takes in one offer matched against the app at `now_ms`.
    pub fn record(&mut self, matched: &Matched, now_ms: u64) {
        self.processed += 1;
        match matched.refused {
            None => self.last_used_at = Some(now_ms),
            Some(reason) => {
                self.unused += 1;
                self.last_unused_at = Some(now_ms);
                if let Some(count) = self.declined.get_mut(reason) {
                    *count += 1;
                }
                self.last_refused.insert(
                    matched.agent_id.clone(),
                    Refusal {
                        offer: matched.offer.clone(),
                        reason,
                        at_ms: now_ms,
                    },
                );
            }
        }
    }

    /// `processedOffersSummary`.
    pub fn summary_json(&self) -> Value {
        let mut last = [0u64; REASONS.len()];
        for refusal in self.last_refused.values() {
            if let Some(count) = last.get_mut(refusal.reason) {
                *count += 1;
            }
        }
        let mut summary = json!({
            "processedOffersCount": self.processed,
            "unusedOffersCount": self.unused,
            "rejectSummaryLastOffers": steps_json(self.last_refused.len() as u64, &last),
            "rejectSummaryLaunchAttempt": steps_json(self.processed, &self.declined),
        });
        if let Some(map) = summary.as_object_mut() {
            if let Some(at) = self.last_unused_at {
                map.insert("lastUnusedOfferAt".into(), json!(Timestamp(at)));
            }
            if let Some(at) = self.last_used_at {
                map.insert("lastUsedOfferAt".into(), json!(Timestamp(at)));
            }
        }
        summary
    }

    /// `lastUnusedOffers`: the last refused offer of each agent, with the reason.
    pub fn last_unused_json(&self) -> Value {
        Value::Array(
            self.last_refused
                .values()
                .map(|r| {
                    json!({
                        "offer": r.offer,
                        "reason": [REASONS[r.reason]],
                        "timestamp": Timestamp(r.at_ms),
                    })
                })
                .collect(),
        )
    }
}

/// Marathon's `DeclinedOfferStep`s: the offers go through the funnel in order, each step
/// processing what the steps before it did not decline.
fn steps_json(processed: u64, declined: &[u64; REASONS.len()]) -> Value {
    let mut left = processed;
    Value::Array(
        declined
            .iter()
            .zip(REASONS)
            .map(|(declined, reason)| {
                let step = json!({"reason": reason, "declined": declined, "processed": left});
                left = left.saturating_sub(*declined);
                step
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matched(agent: &str, refused: Option<usize>) -> Matched {
        Matched {
            app_id: "/a".into(),
            agent_id: agent.into(),
            offer: json!({"id": format!("o-{agent}"), "agentId": agent}),
            refused,
        }
    }

    #[test]
    fn offers_are_counted_through_the_checks_in_marathons_order() {
        let mut stats = OfferStats::new(1_000);
        stats.record(&matched("a1", Some(INSUFFICIENT_CPUS)), 2_000);
        stats.record(&matched("a2", Some(4)), 2_100); // InsufficientMemory
        stats.record(&matched("a1", Some(4)), 2_200);
        let summary = stats.summary_json();
        assert_eq!(summary["processedOffersCount"], 3);
        assert_eq!(summary["unusedOffersCount"], 3);
        let attempt = &summary["rejectSummaryLaunchAttempt"];
        assert_eq!(attempt.as_array().map(Vec::len), Some(8));
        assert_eq!(
            attempt[0],
            json!({"reason": "UnfulfilledRole", "declined": 0, "processed": 3})
        );
        assert_eq!(
            attempt[3],
            json!({"reason": "InsufficientCpus", "declined": 1, "processed": 3})
        );
        assert_eq!(
            attempt[4],
            json!({"reason": "InsufficientMemory", "declined": 2, "processed": 2})
        );
        assert_eq!(
            attempt[5],
            json!({"reason": "InsufficientDisk", "declined": 0, "processed": 0})
        );
        // Only each agent's last refused offer: both short of memory.
        let last = &summary["rejectSummaryLastOffers"];
        assert_eq!(
            last[3],
            json!({"reason": "InsufficientCpus", "declined": 0, "processed": 2})
        );
        assert_eq!(
            last[4],
            json!({"reason": "InsufficientMemory", "declined": 2, "processed": 2})
        );
        assert!(summary.get("lastUsedOfferAt").is_none());
        assert_eq!(summary["lastUnusedOfferAt"], "1970-01-01T00:00:02.200Z");
        let unused = stats.last_unused_json();
        assert_eq!(unused.as_array().map(Vec::len), Some(2), "one per agent");
        assert_eq!(unused[0]["reason"], json!(["InsufficientMemory"]));
        assert_eq!(unused[0]["offer"]["agentId"], "a1");
        // A used offer counts as processed and keeps the agent's last refusal.
        stats.record(&matched("a1", None), 3_000);
        let summary = stats.summary_json();
        assert_eq!(summary["processedOffersCount"], 4);
        assert_eq!(summary["rejectSummaryLaunchAttempt"][7]["processed"], 1);
        assert_eq!(summary["lastUsedOfferAt"], "1970-01-01T00:00:03.000Z");
        assert_eq!(stats.last_unused_json().as_array().map(Vec::len), Some(2));
    }
}
