//! One behaviour suite for every [`StateStore`] backend, so redb, memory (and later etcd)
//! answer the same way.

use super::{StateStore, WriteOp};

fn put(key: &str, value: &str) -> WriteOp {
    WriteOp::Put {
        key: key.to_string(),
        value: value.as_bytes().to_vec(),
    }
}

fn delete(key: &str) -> WriteOp {
    WriteOp::Delete {
        key: key.to_string(),
    }
}

fn keys(entries: &[(String, Vec<u8>)]) -> Vec<&str> {
    entries.iter().map(|(k, _)| k.as_str()).collect()
}

/// Runs the whole suite against an empty store.
pub async fn check(store: &dyn StateStore) {
    assert_eq!(
        store.get("agents/missing").await.expect("get missing"),
        None,
        "a missing key reads as None"
    );
    assert!(store.list("agents/").await.expect("list empty").is_empty());

    store
        .apply(vec![put("agents/a1", "one")])
        .await
        .expect("put");
    assert_eq!(
        store.get("agents/a1").await.expect("get"),
        Some(b"one".to_vec())
    );
    store
        .apply(vec![put("agents/a1", "uno")])
        .await
        .expect("overwrite");
    assert_eq!(
        store.get("agents/a1").await.expect("get"),
        Some(b"uno".to_vec()),
        "a put overwrites"
    );

    // Written out of order, listed in key order, other prefixes (even close ones) left out.
    store
        .apply(vec![
            put("agents/c3", "three"),
            put("agentsx/z", "not an agent"),
            put("agent", "not under the prefix"),
            put("agents/b2", "two"),
            put("frameworks/f1", "fw"),
        ])
        .await
        .expect("batch put");
    let agents = store.list("agents/").await.expect("list agents");
    assert_eq!(keys(&agents), vec!["agents/a1", "agents/b2", "agents/c3"]);
    assert_eq!(agents[1].1, b"two".to_vec());
    assert_eq!(
        keys(&store.list("frameworks/").await.expect("list frameworks")),
        vec!["frameworks/f1"]
    );
    assert_eq!(store.list("").await.expect("list all").len(), 6);

    store
        .apply(vec![delete("agents/b2")])
        .await
        .expect("delete");
    assert_eq!(store.get("agents/b2").await.expect("get deleted"), None);
    store
        .apply(vec![delete("agents/never-written")])
        .await
        .expect("deleting a missing key is not an error");

    // One batch mixing puts and deletes lands whole, in order (a later op wins).
    store
        .apply(vec![
            delete("agents/a1"),
            put("agents/d4", "four"),
            put("agents/d4", "four again"),
            put("frameworks/f2", "fw2"),
            delete("frameworks/f1"),
        ])
        .await
        .expect("mixed batch");
    assert_eq!(
        keys(&store.list("agents/").await.expect("list")),
        vec!["agents/c3", "agents/d4"]
    );
    assert_eq!(
        store.get("agents/d4").await.expect("get"),
        Some(b"four again".to_vec())
    );
    assert_eq!(
        keys(&store.list("frameworks/").await.expect("list")),
        vec!["frameworks/f2"]
    );

    // Binary values and an empty value survive unchanged.
    let bytes: Vec<u8> = (0..=255).collect();
    store
        .apply(vec![
            WriteOp::Put {
                key: "blob/all-bytes".into(),
                value: bytes.clone(),
            },
            WriteOp::Put {
                key: "blob/empty".into(),
                value: Vec::new(),
            },
        ])
        .await
        .expect("binary put");
    assert_eq!(store.get("blob/all-bytes").await.expect("get"), Some(bytes));
    assert_eq!(
        store.get("blob/empty").await.expect("get"),
        Some(Vec::new())
    );

    readers_never_see_half_a_batch(store).await;
}

/// A batch writes two keys with the same value; a reader running at the same time must
/// always see both keys equal.
async fn readers_never_see_half_a_batch(store: &dyn StateStore) {
    const ROUNDS: usize = 200;
    // The pair exists before the race starts, and the reader reads until the writer is done:
    // a slow (fsyncing) writer must not let the reader finish before any batch lands.
    store
        .apply(vec![put("pair/a", "start"), put("pair/b", "start")])
        .await
        .expect("first pair write");
    let writing = std::sync::atomic::AtomicBool::new(true);
    let writer = async {
        for i in 0..ROUNDS {
            let value = i.to_string();
            store
                .apply(vec![put("pair/a", &value), put("pair/b", &value)])
                .await
                .expect("pair write");
        }
        writing.store(false, std::sync::atomic::Ordering::SeqCst);
    };
    let reader = async {
        let mut seen = 0;
        loop {
            let still_writing = writing.load(std::sync::atomic::Ordering::SeqCst);
            let pair = store.list("pair/").await.expect("pair read");
            match pair.as_slice() {
                [] => {}
                [(_, a), (_, b)] => {
                    assert_eq!(a, b, "a reader saw half of a batch");
                    seen += 1;
                }
                other => panic!("a reader saw half of a batch: {other:?}"),
            }
            if !still_writing {
                break;
            }
            tokio::task::yield_now().await;
        }
        seen
    };
    let ((), seen) = futures::join!(writer, reader);
    assert!(seen > 0, "the reader observed some batches");
}
