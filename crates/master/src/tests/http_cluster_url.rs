//! Mesos' v0 endpoints, the `/mesos` prefix, DC/OS' metadata and the proxies on a real
//! master. Shapes from apache/mesos `src/master/readonly_handler.cpp` and `src/master/http.cpp`
//! (teardown), dcos/dcos `packages/adminrouter` (`lib/metadata.lua`, `master.conf`) and
//! Cosmos' capabilities media type.

use std::sync::Arc;
use std::time::Duration;

use axum::response::IntoResponse;
use futures::StreamExt;
use serde_json::{Value, json};

use corral_state::memory::MemoryStore;

use super::harness::agent_subscribe;
use super::http_client::{TestMaster, start_master};

async fn get(m: &TestMaster, path: &str) -> (u16, String, String) {
    let response = m
        .client
        .get(format!("{}{path}", m.base))
        .send()
        .await
        .expect("request reaches the master");
    let status = response.status().as_u16();
    let media = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    (status, media, response.text().await.unwrap_or_default())
}

async fn get_json(m: &TestMaster, path: &str) -> Value {
    let (status, media, body) = get(m, path).await;
    assert_eq!(status, 200, "{path}: {body}");
    assert_eq!(media, "application/json", "{path}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("{path} is JSON ({e}): {body}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v0_state_answers_under_every_name_and_teardown_removes_a_framework() {
    let m = start_master(Arc::new(MemoryStore::new())).await;
    let fw = m.subscribe(json!({"user": "u", "name": "f"})).await;
    let _agent = m
        .agent_subscribe(&agent_subscribe(None, "cpus:1;mem:128"))
        .await;
    let mut state = Value::Null;
    for _ in 0..100 {
        state = get_json(&m, "/master/state").await;
        if state["slaves"].as_array().is_some_and(|s| !s.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(state["frameworks"][0]["id"], fw.id.as_str(), "{state:#}");
    assert_eq!(state["slaves"][0]["pid"], "slave(1)@host1:5051");
    let port = m.handle.addr.port();
    assert_eq!(state["pid"], format!("master@127.0.0.1:{port}"));
    assert_eq!(state["flags"]["port"], port.to_string());
    assert_eq!(state["flags"]["allocation_interval"], "200ms");
    for path in [
        "/master/state.json",
        "/mesos/master/state",
        "/mesos/master/state.json",
    ] {
        let other = get_json(&m, path).await;
        assert_eq!(other["id"], state["id"], "{path}");
        assert_eq!(other["frameworks"][0]["id"], fw.id.as_str(), "{path}");
    }
    for path in [
        "/master/state-summary",
        "/master/frameworks",
        "/master/slaves",
        "/master/tasks",
        "/master/roles",
        "/metrics/snapshot",
        "/mesos/master/tasks.json",
        "/mesos/metrics/snapshot",
    ] {
        get_json(&m, path).await;
    }
    let snapshot = get_json(&m, "/metrics/snapshot").await;
    assert_eq!(snapshot["master/elected"], 1.0);
    assert_eq!(snapshot["master/frameworks_active"], 1.0);

    let (_, media, jsonp) = get(&m, "/master/state-summary?jsonp=cb").await;
    assert_eq!(media, "text/javascript");
    assert!(
        jsonp.starts_with("cb({") && jsonp.ends_with("});"),
        "{jsonp}"
    );

    // POST /master/teardown, as `curl -d frameworkId=...` sends it.
    let teardown = |body: String| {
        m.client
            .post(format!("{}/master/teardown", m.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let missing = teardown(String::new()).await.expect("answers");
    assert_eq!(missing.status().as_u16(), 400);
    let unknown = teardown("frameworkId=nope".into()).await.expect("answers");
    assert_eq!(unknown.status().as_u16(), 400);
    assert!(
        unknown
            .text()
            .await
            .unwrap_or_default()
            .contains("No framework found with specified ID")
    );
    let done = teardown(format!("frameworkId={}", fw.id))
        .await
        .expect("answers");
    assert_eq!(done.status().as_u16(), 200);
    let after = get_json(&m, "/master/frameworks").await;
    assert_eq!(after["frameworks"], json!([]));
    assert_eq!(after["completed_frameworks"][0]["id"], fw.id.as_str());
    let get_teardown = m
        .client
        .get(format!("{}/master/teardown", m.base))
        .send()
        .await
        .expect("answers");
    assert_eq!(get_teardown.status().as_u16(), 405, "POST only, as Mesos");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dcos_metadata_endpoints_answer_with_their_shapes_and_media_types() {
    let store = Arc::new(MemoryStore::new());
    let m = start_master(store.clone()).await;
    let metadata = get_json(&m, "/metadata").await;
    let id = metadata["CLUSTER_ID"]
        .as_str()
        .expect("CLUSTER_ID")
        .to_string();
    let parsed = uuid::Uuid::parse_str(&id).expect("a UUID");
    assert_eq!(parsed.get_version_num(), 4);
    assert_eq!(id, id.to_lowercase());
    assert_eq!(metadata["PUBLIC_IPV4"], "127.0.0.1");
    // Kept in the store: a master restarted on it reports the same id.
    m.handle.shutdown();
    let again = start_master(store).await;
    assert_eq!(
        get_json(&again, "/metadata").await["CLUSTER_ID"],
        id.as_str()
    );

    let version = get_json(&again, "/dcos-metadata/dcos-version.json").await;
    let keys: Vec<&String> = version.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["bootstrap-id", "dcos-image-commit", "version"]);
    let (status, media, body) = get(&again, "/capabilities").await;
    assert_eq!(status, 200);
    assert_eq!(
        media,
        "application/vnd.dcos.capabilities+json;charset=utf-8;version=v1"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&body).expect("JSON"),
        json!({"capabilities": []})
    );
    let head = again
        .client
        .head(format!(
            "{}/pkgpanda/active.buildinfo.full.json",
            again.base
        ))
        .send()
        .await
        .expect("answers");
    assert_eq!(head.status().as_u16(), 200, "open: no authentication");
    get_json(&again, "/pkgpanda/active.buildinfo.full.json").await;
    let (status, _, _) = get(&again, "/acs/api/v1/auth/providers").await;
    assert_eq!(status, 404, "no IAM while authentication is off");
    // DC/OS Enterprise's cluster linker: 404 with the reason, as on the open edition.
    let (status, _, body) = get(&again, "/cluster/v1/links").await;
    assert_eq!(status, 404);
    assert!(body.contains("Cluster links are not supported"), "{body}");
}

/// A framework's web UI that streams server-sent events slowly, to see the proxy pass each
/// event on as it comes rather than after the body ends.
async fn slow_sse_server() -> std::net::SocketAddr {
    let app = axum::Router::new()
        .route(
            "/v2/events",
            axum::routing::get(|| async {
                let events = futures::stream::unfold(0u32, |n| async move {
                    if n > 0 {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    let event = format!("event: tick\ndata: {n}\n\n");
                    Some((Ok::<_, std::io::Error>(event), n + 1))
                });
                (
                    [("content-type", "text/event-stream")],
                    axum::body::Body::from_stream(events),
                )
                    .into_response()
            }),
        )
        .route(
            "/v2/echo",
            axum::routing::any(|uri: axum::http::Uri, body: String| async move {
                format!(
                    "{} {body}",
                    uri.path_and_query().map(|p| p.as_str()).unwrap_or("")
                )
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_and_agent_proxies_stream_keep_the_path_and_say_what_is_missing() {
    let ui = slow_sse_server().await;
    let m = start_master(Arc::new(MemoryStore::new())).await;
    let _fw = m
        .subscribe(json!({"user": "u", "name": "web", "webui_url": format!("http://{ui}")}))
        .await;

    let echo = m
        .client
        .post(format!("{}/service/web/v2/echo?a=1&b=%2F", m.base))
        .body("hello")
        .send()
        .await
        .expect("answers");
    assert_eq!(echo.status().as_u16(), 200);
    assert_eq!(
        echo.text().await.unwrap_or_default(),
        "/v2/echo?a=1&b=%2F hello"
    );

    // The first event arrives while the upstream is still producing the next ones.
    let events = m
        .client
        .get(format!("{}/service/web/v2/events", m.base))
        .send()
        .await
        .expect("answers");
    assert_eq!(
        events
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    let mut body = events.bytes_stream();
    let first = tokio::time::timeout(Duration::from_secs(5), body.next())
        .await
        .expect("the first event comes before the stream ends")
        .expect("a chunk")
        .expect("bytes");
    assert!(
        String::from_utf8_lossy(&first).contains("data: 0"),
        "{first:?}"
    );
    let second = tokio::time::timeout(Duration::from_secs(5), body.next())
        .await
        .expect("the stream goes on")
        .expect("a chunk")
        .expect("bytes");
    assert!(String::from_utf8_lossy(&second).contains("data: 1"));

    let redirect = corral_client::client_tls::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
        .get(format!("{}/service/web", m.base))
        .send()
        .await
        .expect("answers");
    assert_eq!(redirect.status().as_u16(), 301);
    assert_eq!(
        redirect
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok()),
        Some("/service/web/")
    );

    let (status, _, body) = get(&m, "/service/nothing/v2/apps").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("nothing"), "{body}");
    let (status, _, body) = get(&m, "/agent/no-such-agent/state").await;
    assert_eq!(status, 404, "{body}");

    // An agent whose address does not answer: 502 with a JSON message.
    let _agent = m
        .agent_subscribe(&agent_subscribe(None, "cpus:1;mem:128"))
        .await;
    let mut agent_id = String::new();
    for _ in 0..100 {
        let state = get_json(&m, "/master/slaves").await;
        if let Some(id) = state["slaves"][0]["id"].as_str() {
            agent_id = id.to_string();
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!agent_id.is_empty(), "the agent registered");
    let (status, media, body) = get(&m, &format!("/slave/{agent_id}/state")).await;
    assert_eq!(status, 502, "host1 does not resolve: {body}");
    assert_eq!(media, "application/json");
    let message: Value = serde_json::from_str(&body).expect("JSON");
    assert!(
        message["message"]
            .as_str()
            .is_some_and(|s| s.contains(&agent_id))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_agent_is_not_called_by_a_master_without_a_ca_for_it() {
    let m = start_master(Arc::new(MemoryStore::new())).await;
    let mut tls = agent_subscribe(None, "cpus:1;mem:128");
    tls.scheme = corral_api::agent_protocol::AgentScheme::Https;
    let mut commands = m.agent_subscribe(&tls).await;
    let Some(corral_api::agent_protocol::AgentCommand::Registered { agent_id }) =
        commands.next_command().await
    else {
        panic!("the agent registers");
    };
    let (status, media, body) = get(&m, &format!("/agent/{agent_id}/state")).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(media, "application/json");
    assert!(
        body.contains("serves https") && body.contains("--agent-ca"),
        "the answer says why: {body}"
    );
    // The public state is as for any agent: no scheme in it.
    let slaves = get_json(&m, "/master/slaves").await;
    assert_eq!(slaves["slaves"][0]["id"], agent_id.value.as_str());
    assert!(!slaves.to_string().contains("scheme"), "{slaves}");
}
