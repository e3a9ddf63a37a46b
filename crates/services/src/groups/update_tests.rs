//! Group bodies applied to the apps and groups there are.

use serde_json::json;

use super::*;
use crate::scheduler::plan::tests::app;
use crate::time::Timestamp;

fn ctx() -> ParseContext {
    ParseContext {
        framework_role: "*".into(),
        version: Timestamp(9_000),
    }
}

fn state_with(ids: &[&str]) -> GroupState {
    let mut state = GroupState::default();
    for id in ids {
        let a = app(json!({"id": id, "cmd": "x y"}), 1_000);
        state.apps.insert(a.id.clone(), a);
    }
    state
}

fn ids(state: &GroupState) -> Vec<&str> {
    state.apps.keys().map(String::as_str).collect()
}

#[test]
fn nested_groups_and_relative_ids_make_apps() {
    let mut state = GroupState::default();
    let mut v = Violations::new();
    let body = json!({"id": "/shop", "dependencies": ["/db"],
        "apps": [{"id": "cart", "cmd": "x y"}],
        "groups": [{"id": "back", "apps": [{"id": "/shop/back/api", "cmd": "x y"}],
                    "dependencies": ["cart"]}]});
    apply(
        &mut state,
        &PathId::parse("/shop"),
        &body,
        &ctx(),
        "",
        &mut v,
    );
    assert!(v.is_empty(), "{v:?}");
    assert_eq!(ids(&state), ["/shop/back/api", "/shop/cart"]);
    assert_eq!(state.groups["/shop"].dependencies, ["/db"]);
    assert_eq!(
        state.groups["/shop/back"].dependencies,
        ["/shop/cart"],
        "relative to the group's parent"
    );
    assert_eq!(state.groups["/shop"].version, Timestamp(9_000));
}

#[test]
fn listed_apps_and_groups_replace_the_groups_and_unlisted_ones_go() {
    let mut state = state_with(&[
        "/shop/a",
        "/shop/b",
        "/shop/old/x",
        "/shop/keep/y",
        "/other",
    ]);
    let mut v = Violations::new();
    let body = json!({"apps": [{"id": "b", "cmd": "new cmd", "instances": 3}],
        "groups": [{"id": "keep"}]});
    apply(
        &mut state,
        &PathId::parse("/shop"),
        &body,
        &ctx(),
        "",
        &mut v,
    );
    assert!(v.is_empty(), "{v:?}");
    assert_eq!(ids(&state), ["/other", "/shop/b", "/shop/keep/y"]);
    assert_eq!(state.apps["/shop/b"].instances, 3);
    // Without `apps` or `groups`, the group's content stays.
    let mut v = Violations::new();
    apply(
        &mut state,
        &PathId::parse("/shop"),
        &json!({"dependencies": []}),
        &ctx(),
        "",
        &mut v,
    );
    assert_eq!(ids(&state), ["/other", "/shop/b", "/shop/keep/y"]);
}

#[test]
fn ids_outside_the_group_and_bad_apps_are_422_with_paths() {
    let mut state = GroupState::default();
    let mut v = Violations::new();
    let body = json!({"apps": [{"id": "/app", "cmd": "x y"}, {"id": "ok", "cpus": -1, "cmd": "x y"}],
        "groups": [{"id": "/elsewhere"}]});
    apply(
        &mut state,
        &PathId::parse("/group"),
        &body,
        &ctx(),
        "",
        &mut v,
    );
    let errors: Vec<(String, String)> = v
        .iter()
        .map(|(p, e)| (p.to_string(), e.to_string()))
        .collect();
    assert!(errors.contains(&(
        "/apps(0)/id".into(),
        "identifier /app is not child of /group. Hint: use relative paths.".into()
    )));
    assert!(errors.iter().any(|(p, _)| p == "/apps(1)/cpus"));
    assert!(errors.iter().any(|(p, _)| p == "/groups(0)/id"));
}
