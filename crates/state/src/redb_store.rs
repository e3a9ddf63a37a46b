//! The embedded [`StateStore`]: one redb file with one table of string keys and byte values.
//! redb calls block on disk I/O, so each runs on tokio's blocking pool.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use futures::future::BoxFuture;
use redb::{Database, ReadableDatabase, TableDefinition};

use super::{Entries, StateError, StateStore, WriteOp};

const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("corral");

pub struct RedbStore {
    db: Arc<Database>,
    path: PathBuf,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .finish()
    }
}

/// redb's own page cache. Its default, 1 GiB, is what a master kept after a burst of large
/// plugin installs (`corral bench installs`); the registry of a single machine fits in far
/// less, and a read past the cache is served by the kernel's page cache.
const CACHE_BYTES: usize = 64 << 20;

impl RedbStore {
    /// Opens the file, creating it (and its parent directories) if missing.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StateError> {
        let path = path.as_ref().to_path_buf();
        let open_error = |reason: String| StateError::Open {
            location: path.display().to_string(),
            reason,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| open_error(e.to_string()))?;
        }
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(&path)
            .map_err(|e| open_error(e.to_string()))?;
        // Create the table up front so read transactions never see it missing.
        let txn = db.begin_write().map_err(|e| open_error(e.to_string()))?;
        txn.open_table(TABLE)
            .map_err(|e| open_error(e.to_string()))?;
        txn.commit().map_err(|e| open_error(e.to_string()))?;
        Ok(RedbStore {
            db: Arc::new(db),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Runs blocking redb work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StateError> + Send + 'static,
    on_join_error: impl FnOnce(String) -> StateError,
) -> Result<T, StateError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result,
        Err(e) => Err(on_join_error(e.to_string())),
    }
}

fn read(db: &Database, key: &str) -> Result<Option<Vec<u8>>, StateError> {
    let fail = |e: &dyn std::fmt::Display| StateError::Read {
        key: key.to_string(),
        reason: e.to_string(),
    };
    let txn = db.begin_read().map_err(|e| fail(&e))?;
    let table = txn.open_table(TABLE).map_err(|e| fail(&e))?;
    let value = table.get(key).map_err(|e| fail(&e))?;
    Ok(value.map(|v| v.value().to_vec()))
}

fn scan(db: &Database, prefix: &str) -> Result<Entries, StateError> {
    let fail = |e: &dyn std::fmt::Display| StateError::Read {
        key: format!("{prefix}*"),
        reason: e.to_string(),
    };
    let txn = db.begin_read().map_err(|e| fail(&e))?;
    let table = txn.open_table(TABLE).map_err(|e| fail(&e))?;
    let mut out = Vec::new();
    for entry in table.range::<&str>(prefix..).map_err(|e| fail(&e))? {
        let (key, value) = entry.map_err(|e| fail(&e))?;
        if !key.value().starts_with(prefix) {
            break;
        }
        out.push((key.value().to_string(), value.value().to_vec()));
    }
    Ok(out)
}

/// All of `ops` in one write transaction: committed together or not at all.
fn write(db: &Database, ops: &[WriteOp]) -> Result<(), StateError> {
    let fail = |e: &dyn std::fmt::Display| StateError::Write {
        reason: e.to_string(),
    };
    let txn = db.begin_write().map_err(|e| fail(&e))?;
    {
        let mut table = txn.open_table(TABLE).map_err(|e| fail(&e))?;
        for op in ops {
            match op {
                WriteOp::Put { key, value } => {
                    table
                        .insert(key.as_str(), value.as_slice())
                        .map_err(|e| fail(&e))?;
                }
                WriteOp::Delete { key } => {
                    table.remove(key.as_str()).map_err(|e| fail(&e))?;
                }
            }
        }
    }
    txn.commit().map_err(|e| fail(&e))
}

impl StateStore for RedbStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StateError>> {
        let db = self.db.clone();
        let owned = key.to_string();
        Box::pin(blocking(
            move || read(&db, &owned),
            move |reason| StateError::Read {
                key: key.to_string(),
                reason,
            },
        ))
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Entries, StateError>> {
        let db = self.db.clone();
        let owned = prefix.to_string();
        Box::pin(blocking(
            move || scan(&db, &owned),
            move |reason| StateError::Read {
                key: format!("{prefix}*"),
                reason,
            },
        ))
    }

    fn apply<'a>(&'a self, ops: Vec<WriteOp>) -> BoxFuture<'a, Result<(), StateError>> {
        let db = self.db.clone();
        Box::pin(blocking(
            move || write(&db, &ops),
            |reason| StateError::Write { reason },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn redb_store_conforms() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = RedbStore::open(dir.path().join("registry.redb")).expect("open redb");
        super::super::conformance::check(&store).await;
    }

    #[tokio::test]
    async fn reopen_keeps_data() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nested/registry.redb");
        {
            let store = RedbStore::open(&path).expect("open redb");
            store
                .apply(vec![
                    WriteOp::Put {
                        key: "agents/a1".into(),
                        value: b"one".to_vec(),
                    },
                    WriteOp::Put {
                        key: "frameworks/f1".into(),
                        value: b"two".to_vec(),
                    },
                ])
                .await
                .expect("write");
        }
        let store = RedbStore::open(&path).expect("reopen redb");
        assert_eq!(
            store.get("agents/a1").await.expect("read"),
            Some(b"one".to_vec())
        );
        assert_eq!(store.list("frameworks/").await.expect("list").len(), 1);
    }

    #[test]
    fn a_file_that_is_not_redb_is_refused_with_its_path() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("garbage.redb");
        std::fs::write(
            &path,
            b"this is not a database, just text that is long enough",
        )
        .expect("write garbage");
        let err = RedbStore::open(&path).expect_err("garbage must be refused");
        assert!(
            err.to_string().contains("garbage.redb"),
            "error names the file: {err}"
        );
    }
}
