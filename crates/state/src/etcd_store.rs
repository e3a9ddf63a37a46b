//! The etcd [`StateStore`] (v3 API): every key lives under a prefix (default `/corral/`),
//! `list` is one consistent range read, `apply` is one transaction.

use std::collections::HashMap;
use std::time::Duration;

use etcd_client::{Compare, CompareOp, ConnectOptions, GetOptions, KvClient, Txn, TxnOp};
use futures::future::BoxFuture;
use tokio::sync::watch;

use super::etcd_error::{describe, is_tls};
use super::{Entries, EtcdTls, StateError, StateStore, WriteOp};

/// Where keys go when no prefix is given.
pub const DEFAULT_PREFIX: &str = "/corral/";
/// etcd refuses requests over 1.5 MiB; one value is held well under that so a batch of a
/// few small writes next to it still fits.
pub const MAX_VALUE_BYTES: usize = 1024 * 1024;
/// A whole transaction must stay under etcd's request limit (1.5 MiB) too.
const MAX_TXN_BYTES: usize = 1536 * 1024 - 4096;
/// etcd's default `--max-txn-ops`.
pub const MAX_TXN_OPS: usize = 128;
/// Keys in a list's first range read; pages are read at one revision so `list` stays one
/// snapshot. A page too large to decode is read again with a quarter of the keys.
const FIRST_PAGE: i64 = 256;
/// Later pages are sized from the values seen so far to about this many bytes: the registry
/// of 10k agents loads in 3 round trips instead of 40 (a new leader's load, in failover time).
const PAGE_BYTES: usize = 16 * 1024 * 1024;
const MAX_PAGE: i64 = 8192;
/// A page of FIRST_PAGE values of up to MAX_VALUE_BYTES each must decode.
const MAX_RESPONSE_BYTES: usize = 300 * 1024 * 1024;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct EtcdStore {
    kv: KvClient,
    /// The endpoints as given, comma-separated, for error messages.
    endpoints: String,
    prefix: String,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("endpoints", &self.endpoints)
            .field("prefix", &self.prefix)
            .finish()
    }
}

/// `host:port` endpoints as the URLs etcd-client connects to: `https://` with TLS, else
/// `http://` (unless a scheme is given).
pub(crate) fn endpoint_urls(endpoints: &[String], tls: Option<&EtcdTls>) -> Vec<String> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    endpoints
        .iter()
        .map(|e| {
            if e.contains("://") {
                e.clone()
            } else {
                format!("{scheme}://{e}")
            }
        })
        .collect()
}

/// How an etcd location reads in errors: the `--state` text it came from.
pub(crate) fn location(endpoints: &[String], tls: Option<&EtcdTls>) -> String {
    let scheme = if tls.is_some() { "etcd+tls" } else { "etcd" };
    format!("{scheme}://{}", endpoints.join(","))
}

/// An error of connecting: a TLS failure is [`StateError::Tls`] (not worth retrying),
/// anything else [`StateError::Open`]; both with the whole cause.
pub(crate) fn connect_error(location: &str, error: &etcd_client::Error) -> StateError {
    let reason = describe(error);
    if is_tls(error) {
        StateError::Tls {
            location: location.to_string(),
            reason,
        }
    } else {
        StateError::Open {
            location: location.to_string(),
            reason,
        }
    }
}

impl EtcdStore {
    /// Connects to the cluster (`host:port` or `http://host:port` each; `https://` with
    /// `tls`) and checks that it answers, so an unreachable etcd is an error here rather
    /// than at the first write.
    pub async fn connect(
        endpoints: &[String],
        prefix: &str,
        tls: Option<&EtcdTls>,
    ) -> Result<Self, StateError> {
        let location = location(endpoints, tls);
        let open_error = |reason: String| StateError::Open {
            location: location.clone(),
            reason,
        };
        if endpoints.is_empty() {
            return Err(open_error("no endpoints given".into()));
        }
        let urls = endpoint_urls(endpoints, tls);
        let mut options = ConnectOptions::new()
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_timeout(REQUEST_TIMEOUT);
        if let Some(tls) = tls {
            options = options.with_tls(tls.options());
        }
        let client = tokio::time::timeout(
            CONNECT_TIMEOUT * 2,
            etcd_client::Client::connect(&urls, Some(options)),
        )
        .await
        .map_err(|_| open_error("no answer to connect".into()))?
        .map_err(|e| connect_error(&location, &e))?;
        let store = EtcdStore {
            kv: client
                .kv_client()
                .max_decoding_message_size(MAX_RESPONSE_BYTES),
            endpoints: endpoints.join(","),
            prefix: prefix.to_string(),
        };
        // The channel connects lazily: one read proves a member answers.
        let mut kv = store.kv.clone();
        let probe = kv.get(prefix, Some(GetOptions::new().with_count_only()));
        match tokio::time::timeout(CONNECT_TIMEOUT * 2, probe).await {
            Ok(Ok(_)) => Ok(store),
            Ok(Err(e)) => Err(connect_error(&location, &e)),
            Err(_) => Err(open_error(format!(
                "no answer within {} s",
                (CONNECT_TIMEOUT * 2).as_secs()
            ))),
        }
    }

    fn failure(&self, e: impl std::fmt::Display) -> String {
        format!("etcd at {}: {e}", self.endpoints)
    }

    async fn read(&self, key: &str) -> Result<Option<Vec<u8>>, StateError> {
        let fail = |reason| StateError::Read {
            key: key.to_string(),
            reason,
        };
        let mut kv = self.kv.clone();
        let mut response = kv
            .get(format!("{}{key}", self.prefix), None)
            .await
            .map_err(|e| fail(self.failure(describe(&e))))?;
        Ok(response
            .take_kvs()
            .into_iter()
            .next()
            .map(|entry| entry.value().to_vec()))
    }

    async fn scan(&self, prefix: &str) -> Result<Entries, StateError> {
        let fail = |reason| StateError::Read {
            key: format!("{prefix}*"),
            reason,
        };
        let full = format!("{}{prefix}", self.prefix);
        let range_end = prefix_end(full.as_bytes());
        let mut kv = self.kv.clone();
        let mut out = Vec::new();
        // etcd reads an empty key with a range end as "from the first key" only as "\0".
        let mut from: Vec<u8> = if full.is_empty() {
            vec![0]
        } else {
            full.clone().into_bytes()
        };
        let mut revision = 0;
        let mut limit = FIRST_PAGE;
        loop {
            let mut options = GetOptions::new().with_limit(limit).with_revision(revision);
            options = match &range_end {
                Some(end) => options.with_range(end.clone()),
                None => options.with_from_key(),
            };
            let mut page = match kv.get(from.clone(), Some(options)).await {
                Ok(page) => page,
                // Bigger values than the pages so far: read this page again, smaller.
                Err(etcd_client::Error::GRpcStatus(status))
                    if status.code() == tonic::Code::OutOfRange && limit > 1 =>
                {
                    limit = (limit / 4).max(1);
                    continue;
                }
                Err(e) => return Err(fail(self.failure(describe(&e)))),
            };
            if revision == 0 {
                revision = page.header().map(|h| h.revision()).unwrap_or(0);
            }
            let more = page.more();
            let entries = page.take_kvs();
            let Some(last) = entries.last().map(|e| e.key().to_vec()) else {
                break;
            };
            let bytes: usize = entries
                .iter()
                .map(|e| e.key().len() + e.value().len())
                .sum();
            let per_entry = (bytes / entries.len()).max(1);
            limit = ((PAGE_BYTES / per_entry) as i64).clamp(FIRST_PAGE, MAX_PAGE);
            for entry in entries {
                let key = std::str::from_utf8(entry.key()).map_err(|e| StateError::Corrupt {
                    key: String::from_utf8_lossy(entry.key()).into_owned(),
                    reason: self.failure(format!("key is not UTF-8: {e}")),
                })?;
                let key = key.strip_prefix(&self.prefix).unwrap_or(key);
                out.push((key.to_string(), entry.value().to_vec()));
            }
            if !more {
                break;
            }
            // The next page starts just after the last key seen.
            from = last;
            from.push(0);
        }
        Ok(out)
    }

    /// This store's view for the leader of one term: every write is a transaction that
    /// lands only while `election_key` still has create revision `revision` (the leader's
    /// own election key). A refused write sets `deposed` and fails with
    /// [`StateError::Fenced`], so a deposed leader never overwrites its successor's registry.
    pub fn fenced(
        &self,
        election_key: Vec<u8>,
        revision: i64,
        deposed: watch::Sender<bool>,
    ) -> FencedEtcdStore {
        FencedEtcdStore {
            store: self.clone(),
            election_key,
            revision,
            deposed,
        }
    }

    async fn write(&self, ops: Vec<WriteOp>) -> Result<(), StateError> {
        self.write_when(ops, None).await.map(|_| ())
    }

    /// Writes `ops` in one transaction, guarded by `guard` when given; returns whether the
    /// guard held (always true without one).
    async fn write_when(
        &self,
        ops: Vec<WriteOp>,
        guard: Option<Compare>,
    ) -> Result<bool, StateError> {
        let fail = |reason| StateError::Write { reason };
        let ops = last_op_per_key(ops);
        if ops.is_empty() {
            return Ok(true);
        }
        if ops.len() > MAX_TXN_OPS {
            return Err(fail(self.failure(format!(
                "a batch of {} writes is over etcd's {MAX_TXN_OPS} per transaction",
                ops.len()
            ))));
        }
        let mut total = 0;
        let mut txn_ops = Vec::with_capacity(ops.len());
        for op in ops {
            match op {
                WriteOp::Put { key, value } => {
                    if value.len() > MAX_VALUE_BYTES {
                        return Err(fail(self.failure(format!(
                            "the value under '{key}' is {} bytes, over the limit of {MAX_VALUE_BYTES}",
                            value.len()
                        ))));
                    }
                    total += key.len() + value.len();
                    txn_ops.push(TxnOp::put(format!("{}{key}", self.prefix), value, None));
                }
                WriteOp::Delete { key } => {
                    total += key.len();
                    txn_ops.push(TxnOp::delete(format!("{}{key}", self.prefix), None));
                }
            }
        }
        if total > MAX_TXN_BYTES {
            return Err(fail(self.failure(format!(
                "a batch of {total} bytes is over etcd's request limit"
            ))));
        }
        let mut txn = Txn::new();
        if let Some(guard) = guard {
            txn = txn.when([guard]);
        }
        let mut kv = self.kv.clone();
        let response = kv
            .txn(txn.and_then(txn_ops))
            .await
            .map_err(|e| fail(self.failure(describe(&e))))?;
        Ok(response.succeeded())
    }
}

/// An [`EtcdStore`] whose writes are fenced by the leader's election key (see
/// [`EtcdStore::fenced`]).
pub struct FencedEtcdStore {
    store: EtcdStore,
    election_key: Vec<u8>,
    revision: i64,
    deposed: watch::Sender<bool>,
}

impl FencedEtcdStore {
    async fn write(&self, ops: Vec<WriteOp>) -> Result<(), StateError> {
        let guard =
            Compare::create_revision(self.election_key.clone(), CompareOp::Equal, self.revision);
        if self.store.write_when(ops, Some(guard)).await? {
            return Ok(());
        }
        self.deposed.send_replace(true);
        Err(StateError::Fenced {
            reason: format!(
                "the election key {} of revision {} is gone at etcd {}",
                String::from_utf8_lossy(&self.election_key),
                self.revision,
                self.store.endpoints
            ),
        })
    }
}

impl StateStore for FencedEtcdStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StateError>> {
        Box::pin(self.store.read(key))
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Entries, StateError>> {
        Box::pin(self.store.scan(prefix))
    }

    fn apply<'a>(&'a self, ops: Vec<WriteOp>) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(self.write(ops))
    }
}

/// etcd refuses a transaction that names one key twice; only the last op on each key
/// decides the outcome, so keep that one (in the order the last ops came).
fn last_op_per_key(ops: Vec<WriteOp>) -> Vec<WriteOp> {
    let key = |op: &WriteOp| match op {
        WriteOp::Put { key, .. } | WriteOp::Delete { key } => key.clone(),
    };
    let mut last: HashMap<String, usize> = HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        last.insert(key(op), i);
    }
    ops.into_iter()
        .enumerate()
        .filter(|(i, op)| last.get(&key(op)) == Some(i))
        .map(|(_, op)| op)
        .collect()
}

/// The smallest key after every key starting with `prefix` (etcd's prefix range end);
/// `None` when there is none (an empty prefix or all 0xff bytes): read to the end.
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xff {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

impl StateStore for EtcdStore {
    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<Option<Vec<u8>>, StateError>> {
        Box::pin(self.read(key))
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Entries, StateError>> {
        Box::pin(self.scan(prefix))
    }

    fn apply<'a>(&'a self, ops: Vec<WriteOp>) -> BoxFuture<'a, Result<(), StateError>> {
        Box::pin(self.write(ops))
    }
}

#[cfg(test)]
mod tests {
    use super::super::etcd_test_server::EtcdServer;
    use super::*;

    async fn store(server: &EtcdServer, prefix: &str) -> EtcdStore {
        EtcdStore::connect(std::slice::from_ref(&server.endpoint), prefix, None)
            .await
            .expect("connect to the test etcd")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_list_whose_values_grow_past_the_page_size_reads_smaller_pages() {
        let server = EtcdServer::start();
        let mut small_limit = store(&server, "/grow/").await;
        small_limit.kv = small_limit.kv.max_decoding_message_size(256 * 1024);
        // 300 small values size the next page at thousands of keys; 10 of 40 KiB then
        // make that page 400 KiB, past what this client decodes.
        let small = (0..300)
            .map(|i| put(&format!("k/a{i:03}"), vec![b's'; 8]))
            .collect::<Vec<_>>();
        for batch in small.chunks(100) {
            small_limit
                .apply(batch.to_vec())
                .await
                .expect("small values");
        }
        for i in 0..10 {
            let op = put(&format!("k/b{i:02}"), vec![b'b'; 40 * 1024]);
            small_limit.apply(vec![op]).await.expect("a big value");
        }
        let listed = small_limit.list("k/").await.expect("list");
        assert_eq!(listed.len(), 310, "every key, over smaller pages");
        assert_eq!(listed[309].0, "k/b09");
        assert_eq!(listed[309].1.len(), 40 * 1024);
    }

    fn put(key: &str, value: Vec<u8>) -> WriteOp {
        WriteOp::Put {
            key: key.into(),
            value,
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn etcd_store_conforms() {
        let server = EtcdServer::start();
        super::super::conformance::check(&store(&server, DEFAULT_PREFIX).await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn prefixes_keep_stores_apart_and_long_lists_page() {
        let server = EtcdServer::start();
        let a = store(&server, "/a/").await;
        let b = store(&server, "/b/").await;
        for batch in 0..3 {
            let ops = (0..100)
                .map(|i| put(&format!("agents/{batch}-{i:03}"), vec![b'x'; 10]))
                .collect();
            a.apply(ops).await.expect("batch of 100");
        }
        let listed = a.list("agents/").await.expect("list");
        assert_eq!(listed.len(), 300, "every key over several pages");
        assert!(listed.windows(2).all(|w| w[0].0 < w[1].0), "key order");
        assert_eq!(
            listed[0].0, "agents/0-000",
            "keys come back without the prefix"
        );
        assert!(b.list("").await.expect("list b").is_empty());
        assert_eq!(b.get("agents/0-000").await.expect("get"), None);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_value_over_the_limit_is_refused_naming_the_key() {
        let server = EtcdServer::start();
        let store = store(&server, DEFAULT_PREFIX).await;
        let err = store
            .apply(vec![
                put("plugins/small", b"kept out too".to_vec()),
                put("plugins/huge", vec![0; MAX_VALUE_BYTES + 1]),
            ])
            .await
            .expect_err("a value over 1 MiB is refused");
        let text = err.to_string();
        assert!(text.contains("plugins/huge"), "names the key: {text}");
        assert!(text.contains(&server.endpoint), "names etcd: {text}");
        assert_eq!(
            store.get("plugins/small").await.expect("get"),
            None,
            "nothing of the refused batch landed"
        );
        store
            .apply(vec![put("plugins/max", vec![7; MAX_VALUE_BYTES])])
            .await
            .expect("a value of exactly the limit is stored");
        assert_eq!(
            store
                .get("plugins/max")
                .await
                .expect("get")
                .map(|v| v.len()),
            Some(MAX_VALUE_BYTES)
        );
    }

    #[tokio::test]
    async fn nothing_listening_is_a_quick_clear_error() {
        let port = unused_port();
        let endpoint = format!("127.0.0.1:{port}");
        let started = std::time::Instant::now();
        let err = EtcdStore::connect(std::slice::from_ref(&endpoint), DEFAULT_PREFIX, None)
            .await
            .expect_err("nothing listens there");
        // Within the probe's 4 s (and some), well before a request's 10 s timeout.
        assert!(
            started.elapsed() < Duration::from_secs(9),
            "failed within seconds, took {:?}",
            started.elapsed()
        );
        let text = err.to_string();
        assert!(text.contains(&endpoint), "names the endpoint: {text}");
    }

    /// A loopback port with nothing listening on it (the listener is closed at once).
    fn unused_port() -> u16 {
        crate::loopback_port::free_loopback_port().expect("a free loopback port")
    }

    #[test]
    fn prefix_end_is_the_next_key_after_the_prefix() {
        assert_eq!(prefix_end(b"/corral/"), Some(b"/corral0".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b""), None);
        assert_eq!(prefix_end(b"\xff\xff"), None);
    }

    #[test]
    fn only_the_last_op_on_a_key_is_kept() {
        let put = |k: &str, v: &str| WriteOp::Put {
            key: k.into(),
            value: v.into(),
        };
        let ops = vec![
            put("a", "1"),
            put("b", "1"),
            WriteOp::Delete { key: "a".into() },
            put("b", "2"),
        ];
        assert_eq!(
            last_op_per_key(ops),
            vec![WriteOp::Delete { key: "a".into() }, put("b", "2")]
        );
    }
}
