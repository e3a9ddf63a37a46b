use super::*;
use corral_state::{MemoryStore, StateError};
use corral_test_fixtures::fixture;

fn manifest(name: &str, kind: &str) -> String {
    format!("name = \"{name}\"\nkind = \"{kind}\"\nversion = \"1.2.0\"\nwit = \"0.1.0\"\n")
}

fn setup() -> (Arc<MemoryStore>, PluginStore, PluginEngine) {
    let state = Arc::new(MemoryStore::new());
    let store = PluginStore::new(state.clone());
    (state, store, PluginEngine::new().expect("engine"))
}

fn drf() -> &'static [u8] {
    builtin("drf").expect("drf is built in")
}

#[tokio::test]
async fn install_stores_chunks_and_reads_back_the_same_bytes() {
    let (state, store, engine) = setup();
    let meta = store
        .install(
            &engine,
            drf(),
            Some(&manifest("mydrf", "allocator")),
            false,
            42,
        )
        .await
        .expect("a valid allocator installs");
    assert_eq!(meta.sha256, sha256_hex(drf()));
    assert_eq!(
        (meta.name.as_str(), meta.kind.as_str()),
        ("mydrf", "allocator")
    );
    assert_eq!(meta.version, "1.2.0");
    assert_eq!(meta.size as usize, drf().len());
    assert_eq!(meta.chunks as usize, drf().len().div_ceil(CHUNK_BYTES));
    let chunks = state
        .list(&format!("{CHUNKS_PREFIX}{}/", meta.sha256))
        .await
        .expect("list");
    assert_eq!(chunks.len(), meta.chunks as usize);
    assert!(chunks.iter().all(|(_, v)| v.len() <= CHUNK_BYTES));

    assert_eq!(store.list().await.expect("list"), vec![meta.clone()]);
    assert_eq!(store.bytes(&meta).await.expect("bytes"), drf());
    assert_eq!(store.find("mydrf").await.expect("by name"), meta);
    assert_eq!(
        store.find(&meta.sha256[..12]).await.expect("by prefix"),
        meta
    );
    // The same bytes again: the stored plugin, not a second one.
    let again = store
        .install(
            &engine,
            drf(),
            Some(&manifest("mydrf", "allocator")),
            false,
            99,
        )
        .await
        .expect("reinstall");
    assert_eq!(again.installed_at_ms, 42);
    assert_eq!(store.list().await.expect("list").len(), 1);
}

#[tokio::test]
async fn bad_plugins_are_refused_with_the_reason_and_nothing_is_stored() {
    let (state, store, engine) = setup();
    let allocator = manifest("x", "allocator");
    let not_wasm = store
        .install(&engine, b"hello", Some(&allocator), false, 1)
        .await
        .unwrap_err();
    assert!(not_wasm.to_string().contains("magic"), "{not_wasm}");
    let truncated = &drf()[..drf().len() / 2];
    let err = store
        .install(&engine, truncated, Some(&allocator), false, 1)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a valid"), "{err}");
    let command = builtin("command").expect("command executor");
    let wrong_kind = store
        .install(&engine, command, Some(&allocator), false, 1)
        .await
        .unwrap_err();
    assert!(
        matches!(wrong_kind, PluginStoreError::KindMismatch { .. }),
        "{wrong_kind}"
    );
    assert!(wrong_kind.to_string().contains("executor"), "{wrong_kind}");
    let bad_manifest = store
        .install(&engine, drf(), Some("name = "), false, 1)
        .await
        .unwrap_err();
    assert!(
        matches!(bad_manifest, PluginStoreError::Manifest(_)),
        "{bad_manifest}"
    );
    let none = store
        .install(&engine, drf(), None, false, 1)
        .await
        .unwrap_err();
    assert!(matches!(none, PluginStoreError::NoManifest), "{none}");
    let greedy = format!(
        "{}\n[capabilities]\ndevices = [\"/dev/nvidia0\"]\n",
        manifest("g", "executor")
    );
    let refused = store
        .install(&engine, command, Some(&greedy), false, 1)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("/dev/nvidia0"), "{refused}");
    assert!(state.list("").await.expect("list").is_empty());
    // Accepted, the same plugin installs.
    let meta = store
        .install(&engine, command, Some(&greedy), true, 1)
        .await
        .expect("accepted capabilities install");
    assert_eq!(meta.kind, "executor");
    // Overriding a task's own variables is a capability like the others.
    let overriding = format!(
        "{}\n[capabilities]\noverride_task_environment = true\n",
        manifest("o", "executor")
    );
    let refused = store
        .install(&engine, command, Some(&overriding), false, 1)
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("override the task's own environment"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_damaged_chunk_is_detected() {
    let (state, store, engine) = setup();
    let meta = store
        .install(&engine, drf(), Some(&manifest("d", "allocator")), false, 1)
        .await
        .expect("install");
    state
        .apply(vec![WriteOp::Put {
            key: chunk_key(&meta.sha256, 0),
            value: b"garbage".to_vec(),
        }])
        .await
        .expect("write");
    let err = store.bytes(&meta).await.unwrap_err();
    assert!(matches!(err, PluginStoreError::Damaged { .. }), "{err}");
}

#[tokio::test]
async fn an_active_plugin_is_not_removed() {
    let (_state, store, engine) = setup();
    let trap = fixture("trap-allocator").expect("fixture");
    let meta = store
        .install(
            &engine,
            trap,
            Some(&manifest("trap", "allocator")),
            false,
            1,
        )
        .await
        .expect("install");
    store
        .set_active_allocator(&ActiveAllocator {
            plugin: meta.sha256.clone(),
            config: String::new(),
        })
        .await
        .expect("set");
    let err = store.remove("trap").await.unwrap_err();
    assert!(matches!(err, PluginStoreError::Active(_)), "{err}");
    store
        .set_active_allocator(&ActiveAllocator {
            plugin: "drf".into(),
            config: String::new(),
        })
        .await
        .expect("set");
    store.set_active("trap", true).await.expect("activate");
    assert!(store.remove("trap").await.is_err());
    store.set_active("trap", false).await.expect("deactivate");
    store.remove("trap").await.expect("removed");
    assert!(store.list().await.expect("list").is_empty());
    assert!(matches!(
        store.find("trap").await,
        Err(PluginStoreError::NotFound(_))
    ));
}

/// A store that refuses batches over etcd's 1.5 MiB request limit, as etcd does.
struct EtcdSized(MemoryStore);

impl StateStore for EtcdSized {
    fn get<'a>(
        &'a self,
        key: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<Option<Vec<u8>>, StateError>> {
        self.0.get(key)
    }
    fn list<'a>(
        &'a self,
        prefix: &'a str,
    ) -> futures::future::BoxFuture<'a, Result<corral_state::Entries, StateError>> {
        self.0.list(prefix)
    }
    fn apply<'a>(
        &'a self,
        ops: Vec<WriteOp>,
    ) -> futures::future::BoxFuture<'a, Result<(), StateError>> {
        let size: usize = ops
            .iter()
            .map(|op| match op {
                WriteOp::Put { key, value } => key.len() + value.len(),
                WriteOp::Delete { key } => key.len(),
            })
            .sum();
        if size > 1536 * 1024 {
            return Box::pin(async move {
                Err(StateError::Write {
                    reason: format!("a batch of {size} bytes is over etcd's request limit"),
                })
            });
        }
        self.0.apply(ops)
    }
}

/// DRF with a custom section of `extra` bytes appended: still a valid component.
fn padded_drf(extra: usize) -> Vec<u8> {
    let name = b"padding";
    let mut payload = vec![name.len() as u8];
    payload.extend_from_slice(name);
    payload.extend(std::iter::repeat_n(0u8, extra));
    let mut bytes = drf().to_vec();
    bytes.push(0);
    let mut size = payload.len();
    loop {
        let byte = (size & 0x7f) as u8;
        size >>= 7;
        if size == 0 {
            bytes.push(byte);
            break;
        }
        bytes.push(byte | 0x80);
    }
    bytes.extend(payload);
    bytes
}

#[tokio::test]
async fn a_plugin_larger_than_an_etcd_request_installs_and_removes() {
    let state = Arc::new(EtcdSized(MemoryStore::new()));
    let store = PluginStore::new(state.clone());
    let engine = PluginEngine::new().expect("engine");
    let big = padded_drf(3 << 20);
    let meta = store
        .install(&engine, &big, Some(&manifest("big", "allocator")), false, 1)
        .await
        .expect("a 3 MiB plugin installs in batches");
    assert!(meta.chunks >= 6, "{meta:?}");
    assert_eq!(store.bytes(&meta).await.expect("bytes"), big);
    store.remove("big").await.expect("removed");
    assert!(state.list("").await.expect("list").is_empty());
}
