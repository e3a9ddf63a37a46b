//! Changes to apps against an in-memory store: service ports, group conflicts, version info.

use std::sync::Arc;

use serde_json::json;

use corral_state::MemoryStore;

use super::*;
use crate::services::ServicesConfig;
use crate::store::{Loaded, ServiceStore};

fn services() -> Services {
    let config = ServicesConfig {
        master: "127.0.0.1:5050".into(),
        listen: "127.0.0.1:8080".parse().expect("addr"),
        hostname: "localhost".into(),
        role: "*".into(),
        user: "root".into(),
        framework_name: "marathon".into(),
        state_description: "memory".into(),
        credential: None,
        auth: Default::default(),
        authorizer: std::sync::Arc::new(corral_authz::AllowAll),
        tls: None,
        master_tls: None,
        master_etcd_tls: None,
    };
    Services::new(
        config,
        ServiceStore::new(Arc::new(MemoryStore::new())),
        Loaded::default(),
    )
}

#[tokio::test]
async fn service_ports_are_unique_across_apps_and_kept_on_update() {
    let s = services();
    s.create_app(
        &json!({"id": "/a", "cmd": "x y", "portDefinitions": [{"port": 0}, {"port": 10001}]}),
        false,
    )
    .await
    .expect("created");
    s.create_app(&json!({"id": "/b", "cmd": "x y"}), false)
        .await
        .expect("created");
    let world = s.world.lock().await;
    assert_eq!(world.apps["/a"].service_ports(), [10000, 10001]);
    assert_eq!(world.apps["/b"].service_ports(), [10002]);
    drop(world);
    s.update_app(
        "/b",
        &json!({"cmd": "x y", "portDefinitions": [{"port": 0}]}),
        false,
        true,
        false,
    )
    .await
    .expect("updated");
    assert_eq!(s.world.lock().await.apps["/b"].service_ports(), [10002]);
}

#[tokio::test]
async fn an_app_cannot_be_a_group_of_another() {
    let s = services();
    s.create_app(&json!({"id": "/shop", "cmd": "x y"}), false)
        .await
        .expect("created");
    let Err(OpError::Invalid(v)) = s
        .create_app(&json!({"id": "/shop/web", "cmd": "x y"}), false)
        .await
    else {
        panic!("refused");
    };
    assert!(v.has("/id"));
}

#[tokio::test]
async fn scaling_keeps_the_configuration_time_and_a_change_restarts() {
    let s = services();
    s.create_app(&json!({"id": "/a", "cmd": "x y"}), false)
        .await
        .expect("created");
    let created = s.world.lock().await.apps["/a"].clone();
    let scaled = s
        .update_app("/a", &json!({"instances": 4}), true, true, false)
        .await
        .expect("scaled");
    let app = s.world.lock().await.apps["/a"].clone();
    let info = app.version_info.expect("version info");
    assert_eq!(info.last_scaling_at, scaled.version);
    assert_eq!(info.last_config_change_at, created.version);
    let deployment = s.world.lock().await.deployments[&scaled.deployment_id].clone();
    assert_eq!(deployment.steps[0][0].action, "ScaleApplication");
    let restarted = s.restart_app("/a", true).await.expect("restarted");
    let app = s.world.lock().await.apps["/a"].clone();
    assert_eq!(app.config_version(), restarted.version);
    // The same definition again changes nothing and starts no deployment.
    let deployments = s.world.lock().await.deployments.len();
    s.update_app("/a", &json!({}), true, true, false)
        .await
        .expect("no change");
    assert_eq!(s.world.lock().await.deployments.len(), deployments);
}

#[tokio::test]
async fn apps_and_tasks_are_stored_one_key_each() {
    let s = services();
    s.create_app(&json!({"id": "/shop/web", "cmd": "x y"}), false)
        .await
        .expect("created");
    let loaded = s.store.load().await.expect("loads");
    assert_eq!(loaded.apps.len(), 1);
    assert_eq!(loaded.apps[0].id, "/shop/web");
    assert_eq!(loaded.deployments.len(), 1);
    assert_eq!(
        s.store.versions("/shop/web").await.expect("versions").len(),
        1
    );
    s.delete_app("/shop/web", true).await.expect("deleted");
    let loaded = s.store.load().await.expect("loads");
    assert!(loaded.apps.is_empty());
    assert!(
        s.store
            .versions("/shop/web")
            .await
            .expect("versions")
            .is_empty()
    );
}
