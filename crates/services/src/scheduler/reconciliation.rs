//! The tasks of an explicit reconciliation that the master has not answered yet, so that the
//! log says when a new leader knows every task's state again (`corral bench services` times
//! a failover by it).

use std::collections::HashSet;
use std::time::{Duration, Instant};

pub struct PendingReconciliation {
    waiting: HashSet<String>,
    asked: usize,
    since: Instant,
}

impl PendingReconciliation {
    /// A reconciliation of `task_ids`; none when there is nothing to ask.
    pub fn new(task_ids: impl IntoIterator<Item = String>) -> Option<Self> {
        let waiting: HashSet<String> = task_ids.into_iter().collect();
        (!waiting.is_empty()).then(|| PendingReconciliation {
            asked: waiting.len(),
            waiting,
            since: Instant::now(),
        })
    }

    /// Notes the master's update for `task_id`; true when it was the last one awaited.
    pub fn answered(&mut self, task_id: &str) -> bool {
        self.waiting.remove(task_id) && self.waiting.is_empty()
    }

    pub fn asked(&self) -> usize {
        self.asked
    }

    pub fn elapsed(&self) -> Duration {
        self.since.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn done_once_every_task_asked_about_is_answered() {
        assert!(PendingReconciliation::new(Vec::new()).is_none());
        let mut pending =
            PendingReconciliation::new(["a".to_string(), "b".to_string()]).expect("two tasks");
        assert!(!pending.answered("a"));
        assert!(!pending.answered("a"), "a second answer is no news");
        assert!(!pending.answered("other"));
        assert!(pending.answered("b"));
        assert_eq!(pending.asked(), 2);
    }
}
