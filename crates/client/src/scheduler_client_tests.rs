//! The scheduler client against a tiny in-test master that speaks SUBSCRIBE the Mesos way:
//! 200, a `Mesos-Stream-Id` header, and a chunked RecordIO body whose chunk boundaries fall
//! anywhere (as proxies may re-chunk).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::StreamExt;
use serde_json::{Value, json};

use super::*;
use corral_api::recordio::encode;
use corral_api::v1::TaskState;

#[derive(Clone, Copy, PartialEq)]
enum Ending {
    /// Close the stream after the scripted events.
    Close,
    /// Keep the connection open and send nothing more.
    Silent,
}

struct FakeMaster {
    ending: Ending,
    calls: Mutex<Vec<Value>>,
}

fn record(event: Value) -> Vec<u8> {
    encode(event.to_string().as_bytes()).to_vec()
}

/// SUBSCRIBED (with `heartbeat` seconds), then OFFERS cut into three chunks mid-length and
/// mid-JSON, then HEARTBEAT and UPDATE sharing one chunk.
fn scripted_chunks(heartbeat: f64) -> Vec<Bytes> {
    let subscribed = record(json!({
        "type": "SUBSCRIBED",
        "subscribed": {"framework_id": {"value": "fw-1"}, "heartbeat_interval_seconds": heartbeat}
    }));
    let offers = record(json!({
        "type": "OFFERS",
        "offers": {"offers": [{
            "id": {"value": "o-1"},
            "framework_id": {"value": "fw-1"},
            "agent_id": {"value": "a-1"},
            "hostname": "agent-host",
            "resources": [{"name": "cpus", "type": "SCALAR", "scalar": {"value": 2.0}}]
        }]}
    }));
    let mut tail = record(json!({"type": "HEARTBEAT"}));
    tail.extend(record(json!({
        "type": "UPDATE",
        "update": {"status": {
            "task_id": {"value": "t-1"}, "state": "TASK_RUNNING",
            "agent_id": {"value": "a-1"}, "uuid": "AAECAwQFBgcICQoLDA0ODw=="
        }}
    })));
    vec![
        Bytes::from(subscribed),
        Bytes::copy_from_slice(&offers[..1]),
        Bytes::copy_from_slice(&offers[1..40]),
        Bytes::copy_from_slice(&offers[40..]),
        Bytes::from(tail),
    ]
}

async fn scheduler_endpoint(
    State(master): State<Arc<FakeMaster>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(call) = serde_json::from_slice::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "Failed to parse body").into_response();
    };
    if call["type"] == "SUBSCRIBE" {
        let name = call["subscribe"]["framework_info"]["name"].as_str();
        if name == Some("refuse-me") {
            let message = json!({"message": "framework name 'refuse-me' is reserved"});
            return (StatusCode::BAD_REQUEST, axum::Json(message)).into_response();
        }
        // A stream that closes is paced (so its chunks stay apart) under a long heartbeat, so
        // that a stall of the test cannot pass for silence; a silent one has a short
        // heartbeat, to be given up on quickly, and is sent at once.
        let body = match master.ending {
            Ending::Close => {
                let chunks = futures::stream::iter(scripted_chunks(5.0)).then(|chunk| async move {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    Ok::<Bytes, Infallible>(chunk)
                });
                Body::from_stream(chunks)
            }
            Ending::Silent => {
                let chunks = futures::stream::iter(scripted_chunks(0.2))
                    .map(Ok::<Bytes, Infallible>)
                    .chain(futures::stream::pending());
                Body::from_stream(chunks)
            }
        };
        return Response::builder()
            .status(StatusCode::OK)
            .header("Content-Type", "application/json")
            .header(STREAM_ID_HEADER, "stream-42")
            .body(body)
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response());
    }
    if headers.get(STREAM_ID_HEADER).and_then(|v| v.to_str().ok()) != Some("stream-42") {
        let message = json!({"message": "The stream ID 'wrong' included in this request didn't match the stream ID currently associated with framework ID fw-1"});
        return (StatusCode::BAD_REQUEST, axum::Json(message)).into_response();
    }
    master
        .calls
        .lock()
        .expect("calls lock is never poisoned in these tests")
        .push(call);
    StatusCode::ACCEPTED.into_response()
}

async fn start_fake_master(ending: Ending) -> (MasterAddress, Arc<FakeMaster>) {
    let master = Arc::new(FakeMaster {
        ending,
        calls: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/api/v1/scheduler", post(scheduler_endpoint))
        .with_state(master.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a free loopback port");
    let addr = listener.local_addr().expect("bound address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    let address = MasterAddress::parse(&addr.to_string()).expect("loopback address parses");
    (address, master)
}

fn framework(name: &str) -> FrameworkInfo {
    FrameworkInfo {
        user: "tester".into(),
        name: name.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn subscribe_then_events_decode_across_chunk_boundaries() {
    let (address, _master) = start_fake_master(Ending::Close).await;
    let (client, mut events) = SchedulerClient::subscribe(&address, framework("t"))
        .await
        .expect("subscribe succeeds");
    assert_eq!(client.framework_id().value, "fw-1");
    assert_eq!(client.stream_id(), "stream-42");

    let offers = events.next().await.expect("OFFERS event");
    assert_eq!(offers.kind, EventType::Offers);
    let offer = &offers.offers.expect("offers field").offers[0];
    assert_eq!(offer.id.value, "o-1");
    assert_eq!(offer.resources[0].name, "cpus");

    assert_eq!(
        events.next().await.expect("heartbeat").kind,
        EventType::Heartbeat
    );
    let update = events.next().await.expect("UPDATE event");
    let status = update.update.expect("update field").status;
    assert_eq!(status.task_id.value, "t-1");
    assert_eq!(status.state, TaskState::TaskRunning);

    let end = events.next().await.expect_err("the stream closed");
    assert!(matches!(end, ClientError::Disconnected { .. }), "{end}");
    assert!(end.to_string().contains(&address.to_string()), "{end}");
}

#[tokio::test]
async fn calls_carry_the_stream_id_and_framework_id() {
    let (address, master) = start_fake_master(Ending::Silent).await;
    let (client, _events) = SchedulerClient::subscribe(&address, framework("t"))
        .await
        .expect("subscribe succeeds");
    client
        .acknowledge(
            AgentId::new("a-1"),
            TaskId::new("t-1"),
            "AAECAwQFBgcICQoLDA0ODw==".into(),
        )
        .await
        .expect("ACKNOWLEDGE is accepted");
    client
        .decline(vec![OfferId::new("o-1")], Some(1.0))
        .await
        .expect("DECLINE is accepted");
    let calls = master.calls.lock().expect("calls lock").clone();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["type"], "ACKNOWLEDGE");
    assert_eq!(calls[0]["framework_id"]["value"], "fw-1");
    assert_eq!(calls[0]["acknowledge"]["task_id"]["value"], "t-1");
    assert_eq!(calls[1]["type"], "DECLINE");
    assert_eq!(calls[1]["decline"]["filters"]["refuse_seconds"], 1.0);

    let mut stranger = client.clone();
    stranger.stream_id = "wrong".into();
    let err = stranger
        .teardown()
        .await
        .expect_err("a wrong stream id is refused");
    match &err {
        ClientError::Refused {
            status, message, ..
        } => {
            assert_eq!(*status, 400);
            assert!(message.contains("didn't match"), "{message}");
        }
        other => panic!("expected Refused, got {other}"),
    }
}

#[tokio::test]
async fn a_silent_master_ends_the_stream_instead_of_hanging() {
    let (address, _master) = start_fake_master(Ending::Silent).await;
    let (_client, mut events) = SchedulerClient::subscribe(&address, framework("t"))
        .await
        .expect("subscribe succeeds");
    for _ in 0..3 {
        events.next().await.expect("scripted event");
    }
    let started = Instant::now();
    let err = events.next().await.expect_err("silence ends the stream");
    assert!(err.to_string().contains("no event or heartbeat"), "{err}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "gave up after {:?}, the allowance is {:?}",
        started.elapsed(),
        events.idle_timeout()
    );
}

#[tokio::test]
async fn a_refused_subscription_reports_the_masters_message() {
    let (address, _master) = start_fake_master(Ending::Close).await;
    let err = SchedulerClient::subscribe(&address, framework("refuse-me"))
        .await
        .err()
        .expect("subscription is refused");
    match err {
        ClientError::Refused {
            status, message, ..
        } => {
            assert_eq!(status, 400);
            assert_eq!(message, "framework name 'refuse-me' is reserved");
        }
        other => panic!("expected Refused, got {other}"),
    }
}

#[tokio::test]
async fn a_master_that_is_not_there_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address").to_string();
    drop(listener);
    let address = MasterAddress::parse(&addr).expect("parses");
    let err = SchedulerClient::subscribe(&address, framework("t"))
        .await
        .err()
        .expect("nobody listens");
    assert!(matches!(err, ClientError::Unreachable { .. }), "{err}");
    assert!(err.to_string().contains(&addr), "{err}");
}
