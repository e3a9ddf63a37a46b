//! The agent's task runners and the watchers of its executors, spawned here so that a clean
//! stop can wait for every one of them (each removes its container as it ends).

use std::future::Future;
use std::sync::Mutex;

use tokio::task::JoinSet;

use super::locks::lock;

#[derive(Default)]
pub struct Runners(Mutex<JoinSet<()>>);

impl Runners {
    pub fn spawn(&self, runner: impl Future<Output = ()> + Send + 'static) {
        let mut runners = lock(&self.0);
        // Reap the finished ones so the set does not grow with every task.
        while runners.try_join_next().is_some() {}
        runners.spawn(runner);
    }

    /// Waits until every runner has ended, those spawned meanwhile too.
    pub async fn join_all(&self) {
        loop {
            let mut runners = std::mem::take(&mut *lock(&self.0));
            if runners.is_empty() {
                return;
            }
            while runners.join_next().await.is_some() {}
        }
    }
}
