//! An in-memory [`StateStore`]: a sorted map behind a lock. For tests and `--state memory`;
//! everything is lost when the process ends.

use std::collections::BTreeMap;
use std::sync::Mutex;

use futures::future::BoxFuture;

use super::{Entries, StateError, StateStore, WriteOp};

#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// The map, even if a panicking writer poisoned the lock: every write is applied whole
    /// under the lock, so the data itself is never half-written.
    fn entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u8>>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl StateStore for MemoryStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StateError>> {
        let value = self.entries().get(key).cloned();
        Box::pin(async move { Ok(value) })
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Entries, StateError>> {
        let found = self
            .entries()
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Box::pin(async move { Ok(found) })
    }

    fn apply<'a>(&'a self, ops: Vec<WriteOp>) -> BoxFuture<'a, Result<(), StateError>> {
        let mut entries = self.entries();
        for op in ops {
            match op {
                WriteOp::Put { key, value } => {
                    entries.insert(key, value);
                }
                WriteOp::Delete { key } => {
                    entries.remove(&key);
                }
            }
        }
        drop(entries);
        Box::pin(async { Ok(()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn memory_store_conforms() {
        super::super::conformance::check(&MemoryStore::new()).await;
    }
}
