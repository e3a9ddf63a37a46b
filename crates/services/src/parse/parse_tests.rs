//! Parsing, defaults and validation against Marathon's documented examples
//! (src/fixtures, from Marathon 1.6's docs) and its validation rules.

use serde_json::{Value, json};

use super::*;
use crate::model::strategy::UnreachableStrategy;

const APP_JSON: &str = include_str!("../fixtures/app.json");
const APP_LIST_JSON: &str = include_str!("../fixtures/app_list.json");
const APPS_CREATE_JSON: &str = include_str!("../fixtures/apps_create.json");

fn ctx() -> ParseContext {
    ParseContext {
        framework_role: "*".into(),
        version: Timestamp::parse("2016-10-04T12:00:00.000Z").expect("time"),
    }
}

fn parse(body: Value) -> Result<App, Violations> {
    parse_app(&body, &ctx())
}

fn keys(value: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut keys: Vec<String> = value.keys().cloned().collect();
    keys.sort();
    keys
}

fn sorted(list: &[&str]) -> Vec<String> {
    let mut list: Vec<String> = list.iter().map(|s| s.to_string()).collect();
    list.sort();
    list
}

/// The keys Marathon 1.6 writes for an app given only `id` and `cmd`: every field with a
/// value or a default (AppConversion.appWriter), empty `omitEmpty` collections and unset
/// options left out (RamlTypeGenerator), `versionInfo` once stored.
const MINIMAL_APP_KEYS: [&str; 19] = [
    "backoffFactor",
    "backoffSeconds",
    "cmd",
    "cpus",
    "disk",
    "executor",
    "gpus",
    "id",
    "instances",
    "killSelection",
    "labels",
    "maxLaunchDelaySeconds",
    "mem",
    "networks",
    "portDefinitions",
    "requirePorts",
    "unreachableStrategy",
    "upgradeStrategy",
    "version",
];

#[test]
fn a_minimal_app_gets_marathons_defaults_and_key_set() {
    let app = parse(json!({"id": "sleeper", "cmd": "sleep 100"})).expect("valid");
    let json = app.to_json();
    assert_eq!(keys(&json), sorted(&MINIMAL_APP_KEYS));
    assert_eq!(
        Value::Object(json),
        json!({
            "id": "/sleeper",
            "backoffFactor": 1.15,
            "backoffSeconds": 1,
            "cmd": "sleep 100",
            "cpus": 1.0,
            "disk": 0.0,
            "executor": "",
            "gpus": 0,
            "instances": 1,
            "labels": {},
            "maxLaunchDelaySeconds": 3600,
            "mem": 128.0,
            "networks": [{"mode": "host"}],
            "portDefinitions": [{"port": 0, "name": "default", "protocol": "tcp"}],
            "requirePorts": false,
            "upgradeStrategy": {"maximumOverCapacity": 1.0, "minimumHealthCapacity": 1.0},
            "version": "2016-10-04T12:00:00.000Z",
            "unreachableStrategy": {"inactiveAfterSeconds": 0, "expungeAfterSeconds": 0},
            "killSelection": "YOUNGEST_FIRST",
        })
    );
}

#[test]
fn every_supported_field_is_read_and_shown() {
    let body = json!({
        "id": "/shop/web",
        "args": ["sleep", "100"],
        "cpus": 0.25, "mem": 64, "disk": 10, "gpus": 0, "instances": 3,
        "env": {"MODE": "prod"},
        "labels": {"owner": "zeus"},
        "user": "nobody",
        "fetch": [{"uri": "http://x/setup.tgz"}, {"uri": "http://x/run.sh", "executable": true, "extract": false, "destPath": "run"}],
        "portDefinitions": [{"port": 0, "name": "http"}, {"port": 0, "protocol": "udp"}],
        "requirePorts": false,
        "constraints": [["hostname", "UNIQUE"], ["rack", "GROUP_BY", "2"], ["hostname", "MAX_PER", "1"]],
        "acceptedResourceRoles": ["*", "web"],
        "role": "*",
        "backoffSeconds": 2, "backoffFactor": 2.0, "maxLaunchDelaySeconds": 60,
        "upgradeStrategy": {"minimumHealthCapacity": 0.5, "maximumOverCapacity": 0.2},
        "killSelection": "OLDEST_FIRST",
        "unreachableStrategy": {"inactiveAfterSeconds": 60, "expungeAfterSeconds": 120},
        "taskKillGracePeriodSeconds": 30,
        "healthChecks": [{"protocol": "HTTP", "path": "/health"}, {"protocol": "COMMAND", "command": {"value": "true"}}],
        "readinessChecks": [{"portName": "http"}],
        "dependencies": ["/shop/db"],
        "tty": false
    });
    let app = parse(body).expect("valid");
    assert_eq!(app.id, "/shop/web");
    assert_eq!(app.cmd, None);
    assert_eq!(app.args, ["sleep", "100"]);
    assert_eq!(
        (app.cpus, app.mem, app.disk, app.instances),
        (0.25, 64.0, 10.0, 3)
    );
    assert!(app.fetch[0].extract && !app.fetch[0].executable && !app.fetch[0].cache);
    assert_eq!(app.fetch[1].dest_path.as_deref(), Some("run"));
    assert_eq!(app.port_definitions[1].protocol, "udp");
    assert_eq!(app.constraints.len(), 3);
    assert_eq!(app.kill_selection, KillSelection::OldestFirst);
    assert_eq!(
        app.unreachable_strategy,
        UnreachableStrategy::Enabled {
            inactive_after_seconds: 60,
            expunge_after_seconds: 120
        }
    );
    let json = Value::Object(app.to_json());
    // Health checks are shown with every default filled in, as Marathon does.
    assert_eq!(
        json["healthChecks"][0],
        json!({"gracePeriodSeconds": 300, "ignoreHttp1xx": false, "intervalSeconds": 60,
               "maxConsecutiveFailures": 3, "path": "/health", "portIndex": 0, "protocol": "HTTP",
               "ipProtocol": "IPv4", "timeoutSeconds": 20, "delaySeconds": 15})
    );
    assert_eq!(json["healthChecks"][1]["command"], json!({"value": "true"}));
    assert!(json["healthChecks"][1].get("portIndex").is_none());
    assert_eq!(
        json["readinessChecks"][0],
        json!({"name": "readinessCheck", "protocol": "HTTP", "path": "/", "portName": "http",
               "intervalSeconds": 30, "timeoutSeconds": 10, "httpStatusCodesForReady": [200],
               "preserveLastResponse": false})
    );
    assert_eq!(json["constraints"][0], json!(["hostname", "UNIQUE"]));
    assert_eq!(json["role"], "*");
    assert_eq!(json["tty"], false);
    // Marathon keeps the stored form parseable: it reads back to the same app.
    let again = parse_app(&json, &ctx()).expect("the stored form parses");
    assert_eq!(again, app);
}

#[test]
fn marathons_documented_app_is_refused_for_its_docker_image_and_secrets() {
    // examples/app.json: a Docker container, ipAddress, secrets. Corral runs commands only.
    let body: Value = serde_json::from_str(APP_JSON).expect("fixture is JSON");
    let violations = parse(body).expect_err("images are refused");
    assert!(violations.has("/container"), "{violations}");
    let container_error = violations
        .iter()
        .find(|(p, _)| *p == "/container")
        .map(|(_, e)| e.to_string())
        .unwrap_or_default();
    assert!(
        container_error.contains("images are not supported yet"),
        "{container_error}"
    );
    assert!(violations.has("/ipAddress"), "{violations}");
    assert!(violations.has("/secrets"), "{violations}");
    assert!(violations.has("/env/PASSWORD"), "{violations}");
    // Both cmd and args: Marathon's rule, reported at the root.
    assert!(violations.has("/"), "{violations}");
}

#[test]
fn the_same_app_without_what_corral_lacks_is_accepted() {
    let mut body: Value = serde_json::from_str(APP_JSON).expect("fixture is JSON");
    let object = body.as_object_mut().expect("object");
    for key in ["container", "ipAddress", "secrets", "args"] {
        object.remove(key);
    }
    object["env"]
        .as_object_mut()
        .map(|env| env.remove("PASSWORD"));
    object.insert("fetch".into(), json!([{"uri": "http://foo.com/setup.py"}]));
    let app = parse(body).expect("valid without images and secrets");
    assert_eq!(app.accepted_resource_roles, ["mesos_role"]);
    assert_eq!(
        app.constraints[0].to_fields(),
        ["hostname", "LIKE", "srv2.*"]
    );
    assert_eq!(app.health_checks[0].port_index, Some(0));
    assert_eq!(app.readiness_checks[0].name, "myReadyCheck");
    assert_eq!(app.user.as_deref(), Some("root"));
    assert_eq!(app.task_kill_grace_period_seconds, Some(30));
    assert_eq!(app.tty, Some(true));
    assert_eq!(app.dependencies, ["/prod/group"]);
}

#[test]
fn deprecated_uris_and_ports_move_to_fetch_and_port_definitions() {
    // The app of examples/app_list.json (Marathon 0.x era): uris, ports, nulls.
    let list: Value = serde_json::from_str(APP_LIST_JSON).expect("fixture is JSON");
    let mut body = list["apps"][0].clone();
    // ["hostname", "UNIQUE", ""] is refused by Marathon 1.6 (UNIQUE takes no value).
    let violations = parse(body.clone()).expect_err("UNIQUE with a value");
    assert_eq!(
        violations.iter().collect::<Vec<_>>(),
        [("/constraints(0)", "UNIQUE does not accept a value")]
    );
    body["constraints"] = json!([["hostname", "UNIQUE"]]);
    let app = parse(body).expect("valid");
    assert_eq!(app.fetch.len(), 1);
    assert_eq!(
        app.fetch[0].uri,
        "https://raw.github.com/mesosphere/marathon/master/README.md"
    );
    assert!(!app.fetch[0].extract, "a README is not an archive");
    assert_eq!(app.service_ports(), [10013, 10015]);
    assert!(app.port_definitions.iter().all(|p| p.name.is_none()));
    let json = app.to_json();
    for gone in [
        "uris",
        "ports",
        "args",
        "user",
        "container",
        "acceptedResourceRoles",
    ] {
        assert!(!json.contains_key(gone), "{gone} is not written");
    }
}

#[test]
fn each_app_of_marathons_multi_app_example_parses() {
    let list: Value = serde_json::from_str(APPS_CREATE_JSON).expect("fixture is JSON");
    for body in list.as_array().expect("array") {
        let app = parse(body.clone()).expect("valid");
        assert_eq!((app.cpus, app.mem, app.instances), (0.3, 9.0, 2));
    }
}

#[test]
fn violations_name_every_json_path() {
    let body = json!({
        "id": "/Bad_Id",
        "cmd": "sleep 1",
        "cpus": -1,
        "mem": "lots",
        "instances": -2,
        "backoffFactor": 0.5,
        "upgradeStrategy": {"minimumHealthCapacity": 2},
        "constraints": [["hostname", "MAX_PER", "x"], ["hostname", "NEAR"]],
        "portDefinitions": [{"port": 0, "name": "web"}, {"port": 0, "name": "web"}],
        "healthChecks": [{"protocol": "HTTP", "portIndex": 3}],
        "killSelection": "RANDOM",
        "unreachableStrategy": {"inactiveAfterSeconds": 10, "expungeAfterSeconds": 5},
        "fetch": [{"executable": true}]
    });
    let violations = parse(body).expect_err("invalid");
    for path in [
        "/id",
        "/cpus",
        "/mem",
        "/instances",
        "/backoffFactor",
        "/upgradeStrategy/minimumHealthCapacity",
        "/constraints(0)",
        "/constraints(1)",
        "/portDefinitions",
        "/healthChecks(0)",
        "/killSelection",
        "/unreachableStrategy/inactiveAfterSeconds",
        "/fetch(0)/uri",
    ] {
        assert!(violations.has(path), "no violation at {path}: {violations}");
    }
    let json = violations.to_json();
    assert_eq!(json["message"], "Object is not valid");
    let cpus = json["details"]
        .as_array()
        .and_then(|d| d.iter().find(|e| e["path"] == "/cpus"))
        .expect("a /cpus entry");
    assert_eq!(cpus["errors"], json!(["got -1, expected 0.001 or more"]));
}

#[test]
fn cmd_or_args_is_required_and_not_both() {
    let neither = parse(json!({"id": "/a"})).expect_err("no command");
    assert_eq!(
        neither.iter().collect::<Vec<_>>(),
        [(
            "/",
            "AppDefinition must either contain one of 'cmd' or 'args', and/or a 'container'."
        )]
    );
    assert!(parse(json!({"id": "/a", "cmd": "x y", "args": ["x"]})).is_err());
    assert!(parse(json!({"id": "/a", "args": ["sleep", "1"]})).is_ok());
}

#[test]
fn the_id_is_required_and_must_be_a_path() {
    assert!(
        parse(json!({"cmd": "sleep 1"}))
            .expect_err("no id")
            .has("/id")
    );
    for bad in ["/", "/a/tasks", "/a b"] {
        assert!(
            parse(json!({"id": bad, "cmd": "sleep 1"}))
                .expect_err(bad)
                .has("/id"),
            "{bad}"
        );
    }
    let app = parse(json!({"id": "//shop//web", "cmd": "sleep 1"})).expect("valid");
    assert_eq!(app.id, "/shop/web");
}

#[test]
fn unsupported_features_are_refused_with_a_reason() {
    let docker = json!({"id": "/a", "cmd": "x y", "container": {"type": "DOCKER", "docker": {"image": "nginx"}}});
    assert!(parse(docker).expect_err("docker").has("/container"));
    let mesos_image = json!({"id": "/a", "cmd": "x y", "container": {"type": "MESOS", "docker": {"image": "nginx"}}});
    assert!(parse(mesos_image).expect_err("image").has("/container"));
    let bare_mesos = json!({"id": "/a", "cmd": "x y", "container": {"type": "MESOS"}});
    let app = parse(bare_mesos).expect("a MESOS container without an image is fine");
    assert_eq!(app.container, Some(json!({"type": "MESOS", "volumes": []})));
    let bridge = json!({"id": "/a", "cmd": "x y", "networks": [{"mode": "container/bridge"}]});
    assert!(parse(bridge).expect_err("bridge").has("/networks(0)/mode"));
    let executor = json!({"id": "/a", "cmd": "x y", "executor": "/opt/exec"});
    assert!(parse(executor).expect_err("executor").has("/executor"));
    let role = json!({"id": "/a", "cmd": "x y", "role": "other"});
    assert!(parse(role).expect_err("role").has("/role"));
}

#[test]
fn health_and_readiness_rules() {
    let two_mesos = json!({"id": "/a", "cmd": "x y", "healthChecks": [
        {"protocol": "MESOS_HTTP"}, {"protocol": "MESOS_TCP"}]});
    assert!(parse(two_mesos).expect_err("two mesos checks").has("/"));
    let https = json!({"id": "/a", "cmd": "x y", "healthChecks": [{"protocol": "MESOS_HTTPS"}]});
    assert!(
        parse(https)
            .expect_err("no TLS on the agents")
            .has("/healthChecks(0)/protocol")
    );
    let no_such_port = json!({"id": "/a", "cmd": "x y", "portDefinitions": [{"port": 0}],
        "healthChecks": [{"protocol": "MESOS_TCP", "portIndex": 1}]});
    assert!(
        parse(no_such_port)
            .expect_err("port index 1 of one port")
            .has("/healthChecks(0)")
    );
    let command_without =
        json!({"id": "/a", "cmd": "x y", "healthChecks": [{"protocol": "COMMAND"}]});
    assert!(
        parse(command_without)
            .expect_err("no command")
            .has("/healthChecks(0)/command")
    );
    let unknown_port = json!({"id": "/a", "cmd": "x y", "readinessChecks": [{"portName": "nope"}]});
    assert!(
        parse(unknown_port)
            .expect_err("port")
            .has("/readinessChecks(0)/portName")
    );
    let slow = json!({"id": "/a", "cmd": "x y", "portDefinitions": [{"port": 0, "name": "http-api"}],
        "readinessChecks": [{"intervalSeconds": 5, "timeoutSeconds": 5}]});
    assert!(
        parse(slow)
            .expect_err("timeout")
            .has("/readinessChecks(0)/timeoutSeconds")
    );
}

#[test]
fn a_single_instance_app_keeps_one_instance() {
    let body = json!({"id": "/a", "cmd": "x y", "instances": 2,
        "labels": {"MARATHON_SINGLE_INSTANCE_APP": "true"}});
    let violations = parse(body).expect_err("two instances");
    assert!(violations.has("/"));
    assert!(violations.has("/upgradeStrategy/minimumHealthCapacity"));
}

#[test]
fn a_partial_update_replaces_only_the_fields_it_names() {
    let app = parse(json!({"id": "/a", "cmd": "sleep 1", "instances": 2, "labels": {"x": "y"}}))
        .expect("valid");
    let update = json!({"instances": 5, "args": ["sleep", "2"]});
    let merged = merge::merge_update(&app, update.as_object().expect("object"));
    let updated = parse(merged).expect("valid");
    assert_eq!(updated.instances, 5);
    assert_eq!(updated.cmd, None, "args replaces cmd");
    assert_eq!(updated.labels.get("x").map(String::as_str), Some("y"));
    let reset = json!({"labels": null});
    let merged = merge::merge_update(&app, reset.as_object().expect("object"));
    assert!(parse(merged).expect("valid").labels.is_empty());
    // examples/app_patch.json: a scale.
    let patch: Value =
        serde_json::from_str(include_str!("../fixtures/app_patch.json")).expect("fixture");
    let merged = merge::merge_update(&app, patch.as_object().expect("object"));
    let scaled = parse(merged).expect("valid");
    assert!(app.is_only_scale_change(&scaled));
}

#[test]
fn a_version_may_only_come_with_the_id() {
    let only = json!({"id": "/a", "version": "2016-10-04T12:00:00.000Z"});
    assert_eq!(
        merge::rollback_version(only.as_object().expect("object")),
        Some(Ok("2016-10-04T12:00:00.000Z"))
    );
    let mixed = json!({"version": "2016-10-04T12:00:00.000Z", "cmd": "x"});
    assert_eq!(
        merge::rollback_version(mixed.as_object().expect("object")),
        Some(Err(()))
    );
    assert_eq!(
        merge::rollback_version(json!({"cmd": "x"}).as_object().expect("object")),
        None
    );
}
