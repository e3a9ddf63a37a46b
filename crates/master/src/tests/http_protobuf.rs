//! The v1 API in protobuf (`application/x-protobuf`): calls in, answers and event streams out,
//! negotiated as Mesos negotiates them (src/master/http.cpp). Bodies are made and read with
//! `corral_mesos_proto` (the e2e test `protobuf_scheduler` uses prost-generated types).

use std::sync::Arc;

use futures::StreamExt;
use serde_json::{Value, json};

use corral_api::operator::OperatorResponse;
use corral_api::recordio::Decoder;
use corral_mesos_proto::names::{
    MASTER_CALL, MASTER_EVENT, MASTER_RESPONSE, SCHEDULER_CALL, SCHEDULER_EVENT,
};
use corral_state::memory::MemoryStore;

use super::http_client::{TestMaster, WAIT, start_master};

const PROTOBUF: &str = "application/x-protobuf";

async fn master() -> TestMaster {
    start_master(Arc::new(MemoryStore::new())).await
}

fn header(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(String::from)
}

fn subscribe_call() -> Vec<u8> {
    corral_mesos_proto::encode(
        SCHEDULER_CALL,
        &json!({"type": "SUBSCRIBE", "subscribe": {"framework_info": {"user": "u", "name": "pb"}}}),
    )
    .expect("a SUBSCRIBE encodes")
}

/// The first record of a RecordIO body, decoded as a scheduler Event.
async fn first_event(response: reqwest::Response) -> Value {
    first_record(response, SCHEDULER_EVENT).await
}

/// The first record of a RecordIO body, decoded as a `message`.
async fn first_record(response: reqwest::Response, message: &str) -> Value {
    let mut body = response.bytes_stream();
    let mut decoder = Decoder::default();
    loop {
        if let Some(record) = decoder.next_record().expect("valid RecordIO") {
            return corral_mesos_proto::decode(message, &record)
                .expect("the record is a protobuf of its message");
        }
        match tokio::time::timeout(WAIT, body.next()).await {
            Ok(Some(Ok(chunk))) => decoder.feed(&chunk),
            other => panic!("the stream ended before a record: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_protobuf_subscribe_streams_protobuf_events() {
    let m = master().await;
    let url = format!("{}/api/v1/scheduler", m.base);
    let response = m
        .client
        .post(&url)
        .header("Content-Type", PROTOBUF)
        .header("Accept", PROTOBUF)
        .body(subscribe_call())
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(header(&response, "content-type").as_deref(), Some(PROTOBUF));
    assert!(header(&response, "mesos-stream-id").is_some());
    let event = first_event(response).await;
    assert_eq!(event["type"], "SUBSCRIBED", "{event}");
    assert!(
        event["subscribed"]["framework_id"]["value"]
            .as_str()
            .is_some_and(|id| !id.is_empty()),
        "{event}"
    );

    // Newer clients: RecordIO framing, protobuf records.
    let response = m
        .client
        .post(&url)
        .header("Content-Type", PROTOBUF)
        .header("Accept", "application/recordio")
        .header("Message-Accept", PROTOBUF)
        .body(subscribe_call())
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        header(&response, "content-type").as_deref(),
        Some("application/recordio")
    );
    assert_eq!(
        header(&response, "message-content-type").as_deref(),
        Some(PROTOBUF)
    );
    assert_eq!(first_event(response).await["type"], "SUBSCRIBED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_undecodable_protobuf_call_is_a_400_with_the_reason() {
    let m = master().await;
    for path in ["/api/v1/scheduler", "/api/v1"] {
        // Field 3 announces 16 bytes; one follows.
        let response = m
            .client
            .post(format!("{}{path}", m.base))
            .header("Content-Type", PROTOBUF)
            .body(vec![0x1a, 0x10, 0x00])
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 400, "{path}");
        let body: Value = response.json().await.expect("a JSON error");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains("protobuf"), "{path}: {message}");
    }
}

/// GET_STATE and GET_AGENTS in protobuf carry what the JSON answers carry: both read into
/// Corral's own model come out equal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_answers_in_protobuf_equal_the_json_answers() {
    let m = master().await;
    let _framework = m
        .subscribe(json!({"user": "u", "name": "f", "roles": ["web"], "failover_timeout": 60}))
        .await;
    let carried = [
        "GET_STATE",
        "GET_AGENTS",
        "GET_FRAMEWORKS",
        "GET_TASKS",
        "GET_EXECUTORS",
        "GET_VERSION",
        "GET_HEALTH",
        "GET_WEIGHTS",
        "GET_QUOTA",
        "GET_MASTER",
    ];
    for kind in carried {
        let json_answer: OperatorResponse =
            serde_json::from_value(m.operator(kind).await).expect("a JSON Response");
        let call = corral_mesos_proto::encode(MASTER_CALL, &json!({"type": kind}))
            .expect("the call encodes");
        let response = m
            .client
            .post(format!("{}/api/v1", m.base))
            .header("Content-Type", PROTOBUF)
            .header("Accept", PROTOBUF)
            .body(call)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 200, "{kind}");
        assert_eq!(header(&response, "content-type").as_deref(), Some(PROTOBUF));
        let bytes = response.bytes().await.expect("a body");
        let decoded = corral_mesos_proto::decode(MASTER_RESPONSE, &bytes).expect("a Response");
        let protobuf_answer: OperatorResponse =
            serde_json::from_value(decoded).expect("the model reads it");
        assert_eq!(protobuf_answer, json_answer, "{kind}");
    }
    // Answers with Corral-only keys (GET_ROLES' shares) or shapes outside OperatorResponse:
    // they come in protobuf, named as asked.
    for kind in ["GET_ROLES", "GET_FLAGS", "GET_METRICS"] {
        let call = corral_mesos_proto::encode(MASTER_CALL, &json!({"type": kind}))
            .expect("the call encodes");
        let response = m
            .client
            .post(format!("{}/api/v1", m.base))
            .header("Content-Type", PROTOBUF)
            .header("Accept", PROTOBUF)
            .body(call)
            .send()
            .await
            .expect("sent");
        assert_eq!(response.status().as_u16(), 200, "{kind}");
        let bytes = response.bytes().await.expect("a body");
        let decoded = corral_mesos_proto::decode(MASTER_RESPONSE, &bytes).expect("a Response");
        assert_eq!(decoded["type"], kind, "{decoded}");
        let field = kind.to_ascii_lowercase();
        assert!(decoded.get(&field).is_some(), "{kind}: {decoded}");
    }
    let frameworks = m.operator("GET_FRAMEWORKS").await;
    assert_eq!(
        frameworks["get_frameworks"]["frameworks"][0]["framework_info"]["roles"],
        json!(["web"]),
        "the comparison covered a framework"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accept_of_neither_json_nor_protobuf_is_406() {
    let m = master().await;
    let response = m
        .client
        .post(format!("{}/api/v1", m.base))
        .header("Content-Type", "application/json")
        .header("Accept", "text/html")
        .body(json!({"type": "GET_HEALTH"}).to_string())
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 406);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_event_stream_speaks_protobuf() {
    let m = master().await;
    let call = corral_mesos_proto::encode(MASTER_CALL, &json!({"type": "SUBSCRIBE"}))
        .expect("the call encodes");
    let response = m
        .client
        .post(format!("{}/api/v1", m.base))
        .header("Content-Type", PROTOBUF)
        .header("Accept", PROTOBUF)
        .body(call)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(header(&response, "content-type").as_deref(), Some(PROTOBUF));
    let event = first_record(response, MASTER_EVENT).await;
    assert_eq!(event["type"], "SUBSCRIBED", "{event}");
    assert!(
        event["subscribed"]["heartbeat_interval_seconds"].is_number(),
        "{event}"
    );
}
