//! Resizing an executor's container as its tasks come and go. The cgroup writes block (a
//! lower memory limit makes the kernel reclaim), so they run off the async threads, one at
//! a time per container, always to the latest size asked for: whoever asked awaits
//! [`Sizing::apply`] and finds its size (or a later one) in place.

use std::sync::{Arc, Mutex};

use crate::locks::lock;
use corral_cgroups::{Container, Limits};

pub struct Sizing {
    container: Arc<Mutex<Container>>,
    /// The latest limits asked for, and how many times limits were asked for.
    wanted: Mutex<(u64, Option<Limits>)>,
    /// How many of those asks are in place; held while a resize runs.
    applied: tokio::sync::Mutex<u64>,
    /// For the log.
    executor: String,
}

impl Sizing {
    pub fn new(container: Arc<Mutex<Container>>, executor: String) -> Sizing {
        Sizing {
            container,
            wanted: Mutex::new((0, None)),
            applied: tokio::sync::Mutex::new(0),
            executor,
        }
    }

    /// Records the size the container should have; [`Sizing::apply`] puts it in place.
    pub fn want(&self, limits: Limits) {
        let mut wanted = lock(&self.wanted);
        wanted.0 += 1;
        wanted.1 = Some(limits);
    }

    /// Puts the latest size asked for in place, unless a later resize already did. A
    /// failure (such as memory below what is in use) is logged: the old limits stay.
    pub async fn apply(self: &Arc<Self>) {
        let mut applied = self.applied.lock().await;
        let (asked, limits) = *lock(&self.wanted);
        let Some(limits) = limits else {
            return;
        };
        if *applied >= asked {
            return;
        }
        let container = self.container.clone();
        let resized = tokio::task::spawn_blocking(move || {
            lock(&container).resize(&limits).map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|e| Err(format!("resizing panicked: {e}")));
        if let Err(e) = resized {
            tracing::warn!(
                "executor {}: cannot resize its container: {e}",
                self.executor
            );
        }
        *applied = asked;
    }
}
