//! An in-memory StateStore for tests (the lead's MemoryStore lands on main separately).

use std::collections::BTreeMap;
use std::sync::Mutex;

use futures::future::BoxFuture;

use crate::state::{StateError, StateStore, WriteOp};

#[derive(Default)]
pub struct TestStore {
    map: Mutex<BTreeMap<String, Vec<u8>>>,
}

impl TestStore {
    pub fn keys(&self) -> Vec<String> {
        self.map
            .lock()
            .expect("store lock")
            .keys()
            .cloned()
            .collect()
    }

    pub fn put(&self, key: &str, value: &[u8]) {
        self.map
            .lock()
            .expect("store lock")
            .insert(key.to_string(), value.to_vec());
    }
}

impl StateStore for TestStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StateError>> {
        Box::pin(async move { Ok(self.map.lock().expect("store lock").get(key).cloned()) })
    }

    fn list<'a>(
        &'a self,
        prefix: &'a str,
    ) -> BoxFuture<'a, Result<Vec<(String, Vec<u8>)>, StateError>> {
        Box::pin(async move {
            let map = self.map.lock().expect("store lock");
            Ok(map
                .range(prefix.to_string()..)
                .take_while(|(k, _)| k.starts_with(prefix))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect())
        })
    }

    fn apply<'a>(&'a self, ops: Vec<WriteOp>) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(async move {
            let mut map = self.map.lock().expect("store lock");
            for op in ops {
                match op {
                    WriteOp::Put { key, value } => {
                        map.insert(key, value);
                    }
                    WriteOp::Delete { key } => {
                        map.remove(&key);
                    }
                }
            }
            Ok(())
        })
    }
}
