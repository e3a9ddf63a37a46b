//! The operator subscription against a tiny in-test master: SUBSCRIBED, events cut into
//! chunks anywhere, then the end of the stream or silence.

use std::convert::Infallible;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::post;
use serde_json::json;

use super::*;
use corral_api::recordio::encode;

fn record(event: serde_json::Value) -> Vec<u8> {
    encode(event.to_string().as_bytes()).to_vec()
}

async fn fake_master(silent: bool) -> MasterAddress {
    let mut bytes = record(json!({
        "type": "SUBSCRIBED",
        "subscribed": {"get_state": {
            "get_tasks": {}, "get_executors": {}, "get_frameworks": {}, "get_agents": {}
        }, "heartbeat_interval_seconds": 0.1}
    }));
    bytes.extend(record(json!({
        "type": "AGENT_REMOVED", "agent_removed": {"agent_id": {"value": "a1"}}
    })));
    bytes.extend(record(json!({"type": "SOMETHING_NEWER"})));
    let app = Router::new().route(
        "/api/v1",
        post(move || {
            let bytes = bytes.clone();
            async move {
                let chunks: Vec<Result<Bytes, Infallible>> = bytes
                    .chunks(7)
                    .map(|c| Ok(Bytes::copy_from_slice(c)))
                    .collect();
                let tail = futures::stream::iter(chunks);
                if silent {
                    Body::from_stream(futures::StreamExt::chain(tail, futures::stream::pending()))
                } else {
                    Body::from_stream(tail)
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    MasterAddress::parse(&addr.to_string()).expect("address")
}

#[tokio::test]
async fn reads_the_snapshot_then_the_events_across_chunk_boundaries() {
    let master = fake_master(false).await;
    let (mut stream, subscribed) = OperatorEventStream::subscribe(&master)
        .await
        .expect("subscribed");
    assert_eq!(subscribed.heartbeat_interval_seconds, Some(0.1));
    let removed = stream.next().await.expect("an event");
    assert_eq!(removed.kind, OperatorEventType::AgentRemoved);
    assert_eq!(
        removed.agent_removed.expect("agent_removed").agent_id.value,
        "a1"
    );
    let newer = stream.next().await.expect("an event");
    assert_eq!(newer.kind, OperatorEventType::Unknown);
    assert!(matches!(
        stream.next().await,
        Err(ClientError::Disconnected { .. })
    ));
}

#[tokio::test]
async fn a_silent_stream_is_lost_after_missed_heartbeats() {
    let master = fake_master(true).await;
    let (mut stream, _) = OperatorEventStream::subscribe(&master)
        .await
        .expect("subscribed");
    assert!(stream.idle_timeout() < Duration::from_secs(1));
    stream.next().await.expect("AGENT_REMOVED");
    stream.next().await.expect("the unknown event");
    let error = stream.next().await.expect_err("silence is an error");
    assert!(
        error.to_string().contains("no event or heartbeat"),
        "{error}"
    );
}
