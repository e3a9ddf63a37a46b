//! Mesos-DNS's HTTP API (resolver/resolver.go, docs/http.md), with its shapes:
//! `/v1/version`, `/v1/config`, `/v1/hosts/{host}` (`[{host, ip}]`),
//! `/v1/services/{service}` (`[{service, host, ip, port}]`), `/v1/enumerate`; an unknown
//! name is a list of one empty record, as Mesos-DNS answers. Plus `/metrics`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;
use serde_json::{Value, json};

use corral_http::prometheus::{CONTENT_TYPE, Kind, MetricsText};

use super::feed::now_ms;
use super::handler::QueryCounters;
use super::records::normalize;
use super::zone::Zone;

pub struct HttpState {
    pub zone: Arc<Zone>,
    pub counters: Arc<QueryCounters>,
    /// `/v1/config` without the live parts (built once from the configuration).
    pub config: Value,
}

pub fn router(state: Arc<HttpState>) -> Router {
    Router::new()
        .route("/v1/version", get(version))
        .route("/v1/config", get(config))
        .route("/v1/hosts/{host}", get(hosts))
        .route("/v1/hosts/{host}/ports", get(ports))
        .route("/v1/services/{service}", get(services))
        .route("/v1/enumerate", get(enumerate))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn version() -> Json<Value> {
    Json(json!({
        "Service": "Mesos-DNS",
        "URL": "https://github.com/mesosphere/mesos-dns",
        "Version": format!("corral-dns {}", corral_api::VERSION),
    }))
}

async fn config(State(state): State<Arc<HttpState>>) -> Json<Value> {
    let mut out = state.config.clone();
    let status = state.zone.status();
    let stale = status
        .stale_since_ms
        .map(|since| now_ms().saturating_sub(since) as f64 / 1000.0);
    if let Some(fields) = out.as_object_mut() {
        fields.insert("SOASerial".into(), json!(state.zone.serial()));
        fields.insert("StaleSeconds".into(), json!(stale));
        fields.insert("Feed".into(), json!(status));
    }
    Json(out)
}

#[derive(Serialize, Default)]
struct HostRecord {
    host: String,
    ip: String,
}

async fn hosts(
    State(state): State<Arc<HttpState>>,
    Path(host): Path<String>,
) -> Json<Vec<HostRecord>> {
    let name = normalize(&host);
    let records = state.zone.records();
    let mut out: Vec<HostRecord> = records
        .a(&name)
        .iter()
        .map(|ip| HostRecord {
            host: name.clone(),
            ip: ip.to_string(),
        })
        .collect();
    if out.is_empty() {
        out.push(HostRecord::default());
    }
    Json(out)
}

async fn ports() -> Response {
    (StatusCode::NOT_IMPLEMENTED, "To be implemented...").into_response()
}

#[derive(Serialize, Default)]
struct ServiceRecord {
    service: String,
    host: String,
    ip: String,
    port: String,
}

async fn services(
    State(state): State<Arc<HttpState>>,
    Path(service): Path<String>,
) -> Json<Vec<ServiceRecord>> {
    let name = normalize(&service);
    let records = state.zone.records();
    let mut out: Vec<ServiceRecord> = records
        .srv(&name)
        .iter()
        .filter_map(|target| {
            let ip = records.a(&target.host).first()?;
            Some(ServiceRecord {
                service: service.clone(),
                host: target.host.clone(),
                ip: ip.to_string(),
                port: target.port.to_string(),
            })
        })
        .collect();
    if out.is_empty() {
        out.push(ServiceRecord::default());
    }
    Json(out)
}

async fn enumerate(State(state): State<Arc<HttpState>>) -> Response {
    Json(&state.zone.records().enumeration).into_response()
}

async fn metrics(State(state): State<Arc<HttpState>>) -> Response {
    let mut text = MetricsText::new();
    text.build_info("dns", env!("CARGO_PKG_VERSION"));
    let c = &state.counters;
    for (name, help, value) in [
        ("queries", "DNS queries received.", &c.queries),
        (
            "answered",
            "Queries in the domain answered with records or NODATA.",
            &c.answered,
        ),
        (
            "nxdomain",
            "Queries in the domain for names that do not exist.",
            &c.nxdomain,
        ),
        (
            "forwarded",
            "Queries forwarded to other name servers.",
            &c.forwarded,
        ),
        (
            "refused",
            "Queries outside the domain refused (no forwarding).",
            &c.refused,
        ),
        (
            "rate_limited",
            "Queries dropped by the per-source rate limit.",
            &c.rate_limited,
        ),
        ("malformed", "Queries answered FORMERR.", &c.malformed),
    ] {
        text.single(
            &format!("corral_dns_{name}_total"),
            Kind::Counter,
            help,
            value.load(Ordering::Relaxed) as f64,
        );
    }
    let status = state.zone.status();
    let stale = status
        .stale_since_ms
        .map_or(0.0, |since| now_ms().saturating_sub(since) as f64 / 1000.0);
    let (a, srv) = state.zone.records().counts();
    for (name, help, value) in [
        (
            "connected",
            "1 while the master's event stream is open.",
            f64::from(u8::from(status.connected)),
        ),
        (
            "stale_seconds",
            "How long the last known records have been served without a stream.",
            stale,
        ),
        ("a_names", "Names with A records.", a as f64),
        ("srv_names", "Names with SRV records.", srv as f64),
    ] {
        text.single(&format!("corral_dns_{name}"), Kind::Gauge, help, value);
    }
    let mut response = text.finish().into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    response
}
