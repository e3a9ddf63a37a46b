//! The services API (Marathon's REST API v2): app and group bodies through the parser the
//! handlers use, the PATCH merge, and the timestamps of `?version=` and stored keys. What
//! parses is stored the way the services component stores it and loads back the same.

use std::sync::OnceLock;

use serde_json::Value;

use corral_http::parse_json;
use corral_services::groups::update::{GroupState, apply};
use corral_services::model::App;
use corral_services::parse::merge::merge_update;
use corral_services::parse::{ParseContext, parse_app};
use corral_services::path_id::PathId;
use corral_services::store::Batch;
use corral_services::time::Timestamp;
use corral_services::validation::Violations;

use super::json_check::assert_round_trip;
use super::persisted;

fn context() -> ParseContext {
    ParseContext {
        framework_role: "services".into(),
        version: Timestamp(1_475_582_400_000),
    }
}

/// `POST /v2/apps` and `PUT /v2/apps/{id}`.
pub fn services_app(data: &[u8]) {
    let Ok(body) = parse_json::<Value>(data) else {
        return;
    };
    if let Ok(app) = parse_app(&body, &context()) {
        check_stored(&app);
    }
}

/// `PATCH /v2/apps/{id}`: the body merged into an existing app, then parsed as a whole.
pub fn services_app_patch(data: &[u8]) {
    let Ok(Value::Object(update)) = parse_json::<Value>(data) else {
        return;
    };
    let merged = merge_update(existing_app(), &update);
    if let Ok(app) = parse_app(&merged, &context()) {
        check_stored(&app);
    }
}

/// `PUT /v2/groups`: a group tree applied to the root.
pub fn services_group(data: &[u8]) {
    let Ok(body) = parse_json::<Value>(data) else {
        return;
    };
    let mut state = GroupState::default();
    let mut violations = Violations::new();
    let ctx = context();
    apply(
        &mut state,
        &PathId::parse("/"),
        &body,
        &ctx,
        "",
        &mut violations,
    );
    if !violations.is_empty() {
        return;
    }
    let mut batch = Batch::new();
    for app in state.apps.values() {
        assert_round_trip("an app of a group", app);
        batch.put_app(app);
    }
    for group in state.groups.values() {
        assert_round_trip("a group", group);
        batch.put_group(group);
    }
    batch.put_group_version("/", ctx.version, &state);
    let loaded = persisted::load_services(batch);
    let apps: Vec<&App> = state.apps.values().collect();
    assert_eq!(
        loaded.apps.len(),
        apps.len(),
        "apps lost on the way through the store"
    );
    for app in &loaded.apps {
        assert_eq!(
            Some(app),
            state.apps.get(&app.id),
            "an app loads back changed"
        );
    }
    assert_eq!(
        loaded.groups.len(),
        state.groups.len(),
        "groups lost on the way through the store"
    );
}

/// A timestamp (`?version=`, version keys): one that parses prints as text that parses to
/// the same instant.
pub fn services_timestamp(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(at) = Timestamp::parse(text) {
        let printed = at.to_string();
        assert_eq!(
            Timestamp::parse(&printed),
            Some(at),
            "'{text}' is {at:?}, printed as '{printed}'"
        );
    }
}

/// The app survives its JSON and the store.
fn check_stored(app: &App) {
    assert_round_trip("an app", app);
    let mut batch = Batch::new();
    batch.put_app(app);
    let loaded = persisted::load_services(batch);
    assert_eq!(loaded.apps, vec![app.clone()], "the app loads back changed");
}

/// The app a PATCH applies to.
fn existing_app() -> &'static App {
    static APP: OnceLock<App> = OnceLock::new();
    APP.get_or_init(|| {
        let body = serde_json::json!({
            "id": "/shop/web",
            "cmd": "python3 -m http.server $PORT0",
            "cpus": 0.5,
            "mem": 64,
            "instances": 2,
            "portDefinitions": [{"port": 0, "name": "http"}],
            "healthChecks": [{"protocol": "MESOS_HTTP", "path": "/", "portIndex": 0}],
            "labels": {"team": "shop"}
        });
        match parse_app(&body, &context()) {
            Ok(app) => app,
            Err(v) => panic!("the PATCH target's app does not parse: {}", v.to_json()),
        }
    })
}
