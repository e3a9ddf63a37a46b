//! The event bus behind `/v2/events`: every event is written to JSON once, when it is
//! published, and handed to each subscriber through a bounded broadcast buffer. Publishing
//! never waits: a subscriber that falls [`BUFFER`] events behind is dropped (its stream
//! ends), so a slow reader can never hold up the scheduler.

pub mod kinds;

use std::sync::Arc;

use serde_json::Value;
use tokio::sync::broadcast;

use crate::time::{Timestamp, now_ms};

/// Events a subscriber may fall behind by before it is dropped.
pub const BUFFER: usize = 4096;

/// One event, written once.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// `status_update_event`, `deployment_info`, ...
    pub event_type: String,
    /// The one-line JSON (`eventType` and `timestamp` included).
    pub json: String,
    /// The "light" form for `plan-format=light` (deployment events without the groups),
    /// when it differs.
    pub light: Option<String>,
}

impl Event {
    /// An event of `event_type` with `fields` (an object), stamped now.
    pub fn new(event_type: &str, fields: Value) -> Event {
        Event::with_light(event_type, fields, None)
    }

    /// An event with a different light form.
    pub fn with_light(event_type: &str, fields: Value, light: Option<Value>) -> Event {
        let stamp = |mut value: Value| {
            if let Some(map) = value.as_object_mut() {
                map.insert("eventType".into(), Value::String(event_type.into()));
                map.insert(
                    "timestamp".into(),
                    Value::String(Timestamp(now_ms()).to_string()),
                );
            }
            value.to_string()
        };
        Event {
            event_type: event_type.to_string(),
            json: stamp(fields),
            light: light.map(stamp),
        }
    }

    /// The JSON a subscriber gets.
    pub fn payload(&self, light: bool) -> &str {
        match (&self.light, light) {
            (Some(text), true) => text,
            _ => &self.json,
        }
    }
}

/// Where events are published and subscribed to.
pub struct EventBus {
    sender: broadcast::Sender<Arc<Event>>,
}

impl Default for EventBus {
    fn default() -> Self {
        EventBus {
            sender: broadcast::channel(BUFFER).0,
        }
    }
}

impl EventBus {
    /// Hands `event` to every subscriber; never waits.
    pub fn publish(&self, event: Event) {
        // An error only means nobody listens.
        let _ = self.sender.send(Arc::new(event));
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.sender.subscribe()
    }

    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn events_are_one_json_line_with_their_type_and_time() {
        let bus = EventBus::default();
        let mut sub = bus.subscribe();
        bus.publish(Event::new("app_terminated_event", json!({"appId": "/a"})));
        let event = sub.recv().await.expect("received");
        assert_eq!(event.event_type, "app_terminated_event");
        assert!(!event.json.contains('\n'));
        let value: Value = serde_json::from_str(&event.json).expect("json");
        assert_eq!(value["eventType"], "app_terminated_event");
        assert_eq!(value["appId"], "/a");
        assert!(
            value["timestamp"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z'))
        );
    }

    #[tokio::test]
    async fn a_subscriber_that_falls_behind_is_dropped_and_publishing_never_waits() {
        let bus = EventBus::default();
        let mut slow = bus.subscribe();
        let started = std::time::Instant::now();
        for n in 0..BUFFER * 3 {
            bus.publish(Event::new("x", json!({"n": n})));
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
        assert!(matches!(
            slow.recv().await,
            Err(broadcast::error::RecvError::Lagged(_))
        ));
    }
}
