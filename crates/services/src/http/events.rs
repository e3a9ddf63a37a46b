//! `GET /v2/events`: the event bus as Server-Sent Events (`event: <type>` and one `data:`
//! line of JSON per event), for clients that accept `text/event-stream`; `event_type`
//! (repeatable) keeps only those types, `plan-format=light` leaves the groups out of
//! deployment events. A subscriber that cannot keep up is dropped (its stream ends). The
//! stream carries every app's events, so a caller whose views are restricted must be allowed
//! to view `/` (everything) to subscribe; others are refused with the 403 that says so.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{RawQuery, Request, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use corral_http::auth::Caller;
use futures::stream::{self, Stream};
use tokio::sync::broadcast::error::RecvError;

use super::client_addr::client_ip;
use super::query::Query;
use super::respond;
use crate::events::Event;
use crate::services::Services;

pub async fn stream(
    State(services): State<Arc<Services>>,
    RawQuery(raw): RawQuery,
    caller: Caller,
    request: Request,
) -> Response {
    if let Err(refused) = services.may_stream_events(&caller) {
        return *refused;
    }
    let accepts = request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"));
    if !accepts {
        return respond::message(
            StatusCode::METHOD_NOT_ALLOWED,
            "GET /v2/events needs the header 'Accept: text/event-stream'",
        );
    }
    let query = Query::parse(raw.as_deref());
    let subscription = Subscription {
        receiver: services.events.subscribe(),
        types: query
            .all("event_type")
            .iter()
            .map(|t| t.to_string())
            .collect(),
        light: query.get("plan-format") == Some("light"),
        remote: client_ip(request.extensions()),
        services: services.clone(),
    };
    services.publish(Event::event_stream(true, &subscription.remote));
    Sse::new(events(subscription))
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// One subscriber; `event_stream_detached` is published when it goes.
struct Subscription {
    receiver: tokio::sync::broadcast::Receiver<Arc<Event>>,
    types: Vec<String>,
    light: bool,
    remote: String,
    services: Arc<Services>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.services
            .publish(Event::event_stream(false, &self.remote));
    }
}

fn events(subscription: Subscription) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    stream::unfold(subscription, |mut sub| async move {
        loop {
            match sub.receiver.recv().await {
                Ok(event) => {
                    if !sub.types.is_empty() && !sub.types.contains(&event.event_type) {
                        continue;
                    }
                    let sse = SseEvent::default()
                        .event(event.event_type.as_str())
                        .data(event.payload(sub.light));
                    return Some((Ok(sse), sub));
                }
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, remote = %sub.remote, "services: an event stream subscriber fell behind; dropping it");
                    return None;
                }
                Err(RecvError::Closed) => return None,
            }
        }
    })
}
