//! `/v2/groups`: the group tree (`embed=group.groups|group.apps|group.apps.tasks|...`; both
//! groups and apps by default), a group's stored versions, and creating, updating
//! (`dryRun`, `force`, `scaleBy`, `version`) and deleting groups. The tree shows what the
//! caller may view (and the groups on the way to it); a change needs `manage_apps` on the
//! group, everything in it and everything its body names (Marathon's GroupsResource).

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use corral_http::auth::Caller;
use serde_json::{Value, json};

use super::access::{View, group_change_paths};
use super::app_info::{Embed, app_info};
use super::apps::Body;
use super::query::Query;
use super::respond::{self, body_json, deployment_result, op_error};
use crate::app_ops::groups::GroupChanged;
use crate::groups::json::{GroupEmbed, Shown, group_ids, group_json};
use crate::groups::update::resolve;
use crate::model::App;
use crate::path_id::PathId;
use crate::services::Services;
use crate::time::{Timestamp, now_ms};

pub async fn get_root(state: State<Arc<Services>>, query: RawQuery, caller: Caller) -> Response {
    get_path(state, Path(String::new()), query, caller).await
}

pub async fn get_path(
    State(services): State<Arc<Services>>,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
    caller: Caller,
) -> Response {
    let query = Query::parse(raw.as_deref());
    let trimmed = path.trim_matches('/');
    let embeds = query.all("embed");
    let (groups, apps) = if embeds.is_empty() {
        (true, true)
    } else {
        (
            embeds.contains(&"group.groups"),
            embeds.iter().any(|e| e.starts_with("group.apps")),
        )
    };
    match version_path(trimmed) {
        Some((group, None)) => {
            let id = PathId::parse(group);
            if let Err(refused) = services.may_view_or_refuse(&caller, &id.to_string()) {
                return *refused;
            }
            return versions(&services, &id).await;
        }
        Some((group, Some(version))) => {
            let id = PathId::parse(group);
            return at_version(&services, &caller, &id, version, (groups, apps)).await;
        }
        None => {}
    }
    let id = PathId::parse(trimmed);
    let app_embed = Embed::default().with(&embeds);
    let view = services
        .view(&caller, |world| tree_paths(&world.apps, &world.groups))
        .await;
    let world = services.world.lock().await;
    let now = now_ms();
    let show = |app: &App| app_info(&world, app, app_embed, now);
    let (shown_app, shown_group) = shown(&view);
    let embed = GroupEmbed {
        groups,
        apps,
        app: &show,
        shown: Shown {
            app: &shown_app,
            group: &shown_group,
        },
    };
    match group_json(&id, &world.apps, &world.groups, embed) {
        Some(group) => respond::json(StatusCode::OK, group),
        None => unknown_group(&id, None),
    }
}

/// `{group}/versions` or `{group}/versions/{version}` (the root's are `versions`...), as
/// Marathon's GroupsResource matches them.
fn version_path(path: &str) -> Option<(&str, Option<&str>)> {
    if path == "versions" {
        return Some(("", None));
    }
    if let Some(version) = path.strip_prefix("versions/") {
        return Some(("", Some(version)));
    }
    if let Some(group) = path.strip_suffix("/versions") {
        return Some((group, None));
    }
    let (group, version) = path.rsplit_once("/versions/")?;
    (!version.contains('/')).then_some((group, Some(version)))
}

/// Every app and group id of a tree: what a caller's view is asked about.
fn tree_paths(
    apps: &std::collections::BTreeMap<String, App>,
    groups: &std::collections::BTreeMap<String, crate::groups::GroupRecord>,
) -> Vec<String> {
    let ids = group_ids(apps, groups).into_iter().map(|g| g.to_string());
    apps.keys().cloned().chain(ids).collect()
}

/// What a group shows of a view: its viewable apps, and the groups with something viewable.
fn shown(view: &View) -> (impl Fn(&App) -> bool + '_, impl Fn(&PathId) -> bool + '_) {
    (
        move |app: &App| view.app(&app.id),
        move |group: &PathId| view.group(group),
    )
}

fn unknown_group(id: &PathId, version: Option<&str>) -> Response {
    let message = match version {
        Some(version) => format!("Group '{id}' does not exist in version {version}"),
        None => format!("Group '{id}' does not exist"),
    };
    respond::message(StatusCode::NOT_FOUND, message)
}

/// The versions of a group, newest first (404 for a group that does not exist now).
async fn versions(services: &Services, id: &PathId) -> Response {
    {
        let world = services.world.lock().await;
        if !group_ids(&world.apps, &world.groups).contains(id) {
            return unknown_group(id, None);
        }
    }
    match services.store.group_versions(&id.to_string()).await {
        Ok(versions) => {
            let mut list: Vec<Value> = versions.into_iter().map(|(_, v)| json!(v)).collect();
            list.reverse();
            respond::json(StatusCode::OK, Value::Array(list))
        }
        Err(error) => respond::message(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    }
}

/// A group as it was at a stored version: its apps as defined then (no task counts, as
/// Marathon shows a group version).
async fn at_version(
    services: &Services,
    caller: &Caller,
    id: &PathId,
    version: &str,
    (groups, apps): (bool, bool),
) -> Response {
    let Some(at) = Timestamp::parse(version) else {
        return unknown_group(id, Some(version));
    };
    let stored = match services.store.group_version(&id.to_string(), at).await {
        Ok(Some(stored)) => stored,
        Ok(None) => return unknown_group(id, Some(version)),
        Err(error) => {
            return respond::message(StatusCode::SERVICE_UNAVAILABLE, error.to_string());
        }
    };
    let view = services.view_of(caller, tree_paths(&stored.apps, &stored.groups));
    let show = |app: &App| Value::Object(app.to_json());
    let (shown_app, shown_group) = shown(&view);
    let embed = GroupEmbed {
        groups,
        apps,
        app: &show,
        shown: Shown {
            app: &shown_app,
            group: &shown_group,
        },
    };
    match group_json(id, &stored.apps, &stored.groups, embed) {
        Some(group) => respond::json(StatusCode::OK, group),
        None => unknown_group(id, Some(version)),
    }
}

pub async fn post_root(
    state: State<Arc<Services>>,
    query: RawQuery,
    caller: Caller,
    body: Body,
) -> Response {
    post_path(state, Path(String::new()), query, caller, body).await
}

pub async fn post_path(
    State(services): State<Arc<Services>>,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
    caller: Caller,
    body: Body,
) -> Response {
    let query = Query::parse(raw.as_deref());
    let body = match body_json(body) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let base = PathId::parse(&path);
    // The group the change makes, as `create_group` resolves it.
    let id = match body.get("id").and_then(Value::as_str) {
        Some(text) => resolve(&base, text),
        None => base.clone(),
    };
    let touched = |world: &crate::world::World| group_change_paths(world, &id, Some(&body));
    if let Err(refused) = services.may_manage_in(&caller, touched).await {
        return *refused;
    }
    let base = base.to_string();
    match services
        .create_group(&base, &body, query.flag("force", false))
        .await
    {
        Ok((id, changed)) => deployment_result(&changed, Some(&format!("/v2/groups{id}"))),
        Err(error) => op_error(error),
    }
}

pub async fn put_root(
    state: State<Arc<Services>>,
    query: RawQuery,
    caller: Caller,
    body: Body,
) -> Response {
    put_path(state, Path(String::new()), query, caller, body).await
}

pub async fn put_path(
    State(services): State<Arc<Services>>,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
    caller: Caller,
    body: Body,
) -> Response {
    let query = Query::parse(raw.as_deref());
    let body = match body_json(body) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    // A body's id names the group relative to the path, as Marathon's `effectivePath`.
    let base = PathId::parse(&path);
    let id = match body.get("id").and_then(Value::as_str) {
        Some(text) => resolve(&base, text),
        None => base,
    };
    let touched = |world: &crate::world::World| group_change_paths(world, &id, Some(&body));
    if let Err(refused) = services.may_manage_in(&caller, touched).await {
        return *refused;
    }
    let id = id.to_string();
    match services
        .update_group(
            &id,
            &body,
            query.flag("force", false),
            query.flag("dryRun", false),
        )
        .await
    {
        Ok(GroupChanged::Deployed(changed)) => deployment_result(&changed, None),
        Ok(GroupChanged::DryRun(steps)) => respond::json(StatusCode::OK, steps),
        Err(error) => op_error(error),
    }
}

pub async fn delete_root(state: State<Arc<Services>>, query: RawQuery, caller: Caller) -> Response {
    delete_path(state, Path(String::new()), query, caller).await
}

pub async fn delete_path(
    State(services): State<Arc<Services>>,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
    caller: Caller,
) -> Response {
    let query = Query::parse(raw.as_deref());
    let id = PathId::parse(&path);
    let touched = |world: &crate::world::World| group_change_paths(world, &id, None);
    if let Err(refused) = services.may_manage_in(&caller, touched).await {
        return *refused;
    }
    match services
        .delete_group(&id.to_string(), query.flag("force", false))
        .await
    {
        Ok(changed) => deployment_result(&changed, None),
        Err(error) => op_error(error),
    }
}
