//! `/v2/apps/{id}...`: show, replace, patch, delete and restart an app; its versions; its
//! tasks, and killing them. Changes need `manage_apps` on the app; an app the caller may not
//! view is unknown (404) and its tasks and versions refused (403), as in Marathon's
//! AppsResource, AppTasksResource and AppVersionsResource.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use corral_http::auth::Caller;
use serde_json::{Value, json};

use super::app_info::{Embed, app_info};
use super::apps::{Body, app_url};
use super::client_addr::{Peer, publish_api_posts};
use super::query::Query;
use super::respond::{self, body_json, deployment_result, op_error};
use crate::app_ops::Killed;
use crate::op_error::{OpError, unknown_app, unknown_task};
use crate::path_id::PathId;
use crate::services::Services;
use crate::tasks::json::task_json;
use crate::time::{Timestamp, now_ms};

/// What a path under `/v2/apps/` names.
#[derive(Debug, PartialEq, Eq)]
enum Target {
    App(String),
    Group(String),
    Tasks(String),
    Task(String, String),
    Versions(String),
    Version(String, String),
    Restart(String),
}

impl Target {
    fn parse(path: &str) -> Target {
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let join = |n: usize| format!("/{}", segments[..n].join("/"));
        let n = segments.len();
        match segments.as_slice() {
            [.., "*"] => Target::Group(join(n - 1)),
            [.., "tasks"] => Target::Tasks(join(n - 1)),
            [_, .., "tasks", task] => Target::Task(join(n - 2), (*task).to_string()),
            [.., "versions"] => Target::Versions(join(n - 1)),
            [_, .., "versions", version] => Target::Version(join(n - 2), (*version).to_string()),
            [_, .., "restart"] => Target::Restart(join(n - 1)),
            _ => Target::App(join(n)),
        }
    }
}

pub async fn get_path(
    State(services): State<Arc<Services>>,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
    caller: Caller,
) -> Response {
    let query = Query::parse(raw.as_deref());
    let target = Target::parse(&path);
    match &target {
        Target::App(id) => {
            let id = PathId::parse(id).to_string();
            if !services.may_view(&caller, &id) {
                return op_error(unknown_app(&id));
            }
        }
        Target::Group(_) => {}
        Target::Tasks(id) | Target::Versions(id) | Target::Version(id, _) => {
            let id = PathId::parse(id).to_string();
            if let Err(refused) = services.may_view_or_refuse(&caller, &id) {
                return *refused;
            }
        }
        Target::Task(..) | Target::Restart(_) => return not_found(),
    }
    match target {
        Target::App(id) => show(&services, &id, &query).await,
        Target::Group(group) => show_group(&services, &caller, &group, &query).await,
        Target::Tasks(id) => app_tasks(&services, &id).await,
        Target::Versions(id) => versions(&services, &id).await,
        Target::Version(id, version) => version_of(&services, &id, &version).await,
        Target::Task(..) | Target::Restart(_) => not_found(),
    }
}

async fn show(services: &Services, id: &str, query: &Query) -> Response {
    let id = PathId::parse(id).to_string();
    let embed = Embed::show_default().with(&query.all("embed"));
    let world = services.world.lock().await;
    match world.apps.get(&id) {
        Some(app) => respond::json(
            StatusCode::OK,
            json!({"app": app_info(&world, app, embed, now_ms())}),
        ),
        None => op_error(unknown_app(&id)),
    }
}

/// The apps in `group`: the group must be viewable, and its apps are those the caller may view.
async fn show_group(services: &Services, caller: &Caller, group: &str, query: &Query) -> Response {
    let group = PathId::parse(group);
    let embed = Embed::show_default().with(&query.all("embed"));
    let within = |world: &crate::world::World| -> Vec<String> {
        let ids = world.apps.keys();
        ids.filter(|id| PathId::parse(id).is_within(&group))
            .cloned()
            .collect()
    };
    if within(&*services.world.lock().await).is_empty() && !group.is_root() {
        return respond::message(
            StatusCode::NOT_FOUND,
            format!("Group '{group}' does not exist"),
        );
    }
    if let Err(refused) = services.may_view_or_refuse(caller, &group.to_string()) {
        return *refused;
    }
    let view = services.view(caller, within).await;
    let world = services.world.lock().await;
    let apps: Vec<Value> = world
        .apps
        .values()
        .filter(|app| app.path_id().is_within(&group) && view.app(&app.id))
        .map(|app| app_info(&world, app, embed, now_ms()))
        .collect();
    respond::json(StatusCode::OK, json!({"*": apps}))
}

async fn app_tasks(services: &Services, id: &str) -> Response {
    let id = PathId::parse(id).to_string();
    let world = services.world.lock().await;
    if !world.apps.contains_key(&id) {
        return op_error(unknown_app(&id));
    }
    let tasks: Vec<Value> = world
        .tasks_of(&id)
        .map(|t| world.task_json(t, &[]))
        .collect();
    respond::json(StatusCode::OK, json!({"tasks": tasks}))
}

async fn versions(services: &Services, id: &str) -> Response {
    let id = PathId::parse(id).to_string();
    if !services.world.lock().await.apps.contains_key(&id) {
        return op_error(unknown_app(&id));
    }
    match services.store.versions(&id).await {
        Ok(mut versions) => {
            versions.reverse();
            respond::json(StatusCode::OK, json!({"versions": versions}))
        }
        Err(error) => respond::message(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    }
}

async fn version_of(services: &Services, id: &str, version: &str) -> Response {
    let id = PathId::parse(id).to_string();
    let missing = || {
        respond::message(
            StatusCode::NOT_FOUND,
            format!("App '{id}' does not exist in version {version}"),
        )
    };
    let Some(at) = Timestamp::parse(version) else {
        return missing();
    };
    match services.store.version(&id, at).await {
        Ok(Some(app)) => respond::json(StatusCode::OK, Value::Object(app.to_json())),
        Ok(None) => missing(),
        Err(error) => respond::message(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
    }
}

pub async fn put_path(
    State(services): State<Arc<Services>>,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
    peer: Peer,
    caller: Caller,
    body: Body,
) -> Response {
    let query = Query::parse(raw.as_deref());
    let Target::App(id) = Target::parse(&path) else {
        return not_found();
    };
    if let Err(refused) = services.may_manage(&caller, [PathId::parse(&id).to_string()]) {
        return *refused;
    }
    let partial = query.flag("partialUpdate", true);
    update_one(
        &services,
        &peer,
        &id,
        body,
        partial,
        query.flag("force", false),
        true,
    )
    .await
}

pub async fn patch_path(
    State(services): State<Arc<Services>>,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
    peer: Peer,
    caller: Caller,
    body: Body,
) -> Response {
    let query = Query::parse(raw.as_deref());
    let Target::App(id) = Target::parse(&path) else {
        return not_found();
    };
    if let Err(refused) = services.may_manage(&caller, [PathId::parse(&id).to_string()]) {
        return *refused;
    }
    update_one(
        &services,
        &peer,
        &id,
        body,
        true,
        query.flag("force", false),
        false,
    )
    .await
}

async fn update_one(
    services: &Services,
    peer: &Peer,
    id: &str,
    body: Body,
    partial: bool,
    force: bool,
    allow_create: bool,
) -> Response {
    let body = match body_json(body) {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let path = PathId::parse(id);
    let problems = PathId::problems(id);
    if !problems.is_empty() {
        let mut v = crate::validation::Violations::new();
        for problem in problems {
            v.add("/id", problem);
        }
        return op_error(OpError::Invalid(v));
    }
    match services
        .update_app(&path.to_string(), &body, partial, force, allow_create)
        .await
    {
        Ok(changed) => {
            let id = path.to_string();
            publish_api_posts(services, peer, &app_url(&id), std::slice::from_ref(&id)).await;
            deployment_result(&changed, Some(&app_url(&id)))
        }
        Err(error) => op_error(error),
    }
}

pub async fn delete_path(
    State(services): State<Arc<Services>>,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
    caller: Caller,
) -> Response {
    let query = Query::parse(raw.as_deref());
    let target = Target::parse(&path);
    if let Target::App(id) | Target::Tasks(id) | Target::Task(id, _) = &target
        && let Err(refused) = services.may_manage(&caller, [PathId::parse(id).to_string()])
    {
        return *refused;
    }
    let scale = query.flag("scale", false);
    let force = query.flag("force", false);
    if scale && query.flag("wipe", false) {
        return respond::message(
            StatusCode::BAD_REQUEST,
            "You cannot use scale and wipe at the same time.",
        );
    }
    match target {
        // Marathon deletes with force=true unless told otherwise.
        Target::App(id) => match services.delete_app(&id, query.flag("force", true)).await {
            Ok(changed) => deployment_result(&changed, None),
            Err(error) => op_error(error),
        },
        Target::Tasks(id) => {
            let host = query.get("host").map(str::to_string);
            let select = move |t: &crate::tasks::TaskRecord| {
                host.as_deref().is_none_or(|h| h == "*" || h == t.host)
            };
            match services.kill_tasks(&id, select, scale, force).await {
                Ok(Killed::Scaled(changed)) => deployment_result(&changed, None),
                Ok(Killed::Tasks(tasks)) => {
                    let tasks: Vec<Value> = tasks.iter().map(|t| task_json(t, &[])).collect();
                    respond::json(StatusCode::OK, json!({"tasks": tasks}))
                }
                Err(error) => op_error(error),
            }
        }
        Target::Task(id, task_id) => {
            {
                let world = services.world.lock().await;
                let app_id = PathId::parse(&id).to_string();
                if world.apps.contains_key(&app_id)
                    && !world
                        .tasks
                        .get(&task_id)
                        .is_some_and(|t| t.app_id == app_id && !t.kill_requested())
                {
                    return op_error(unknown_task(&task_id));
                }
            }
            let wanted = task_id.clone();
            match services
                .kill_tasks(&id, move |t| t.id == wanted, scale, force)
                .await
            {
                Ok(Killed::Scaled(changed)) => deployment_result(&changed, None),
                Ok(Killed::Tasks(tasks)) => match tasks.first() {
                    Some(task) => {
                        respond::json(StatusCode::OK, json!({"task": task_json(task, &[])}))
                    }
                    None => op_error(unknown_task(&task_id)),
                },
                Err(error) => op_error(error),
            }
        }
        _ => not_found(),
    }
}

pub async fn post_path(
    State(services): State<Arc<Services>>,
    Path(path): Path<String>,
    RawQuery(raw): RawQuery,
    caller: Caller,
) -> Response {
    let query = Query::parse(raw.as_deref());
    match Target::parse(&path) {
        Target::Restart(id) => {
            if let Err(refused) = services.may_manage(&caller, [PathId::parse(&id).to_string()]) {
                return *refused;
            }
            match services.restart_app(&id, query.flag("force", false)).await {
                Ok(changed) => deployment_result(&changed, None),
                Err(error) => op_error(error),
            }
        }
        _ => not_found(),
    }
}

pub fn not_found() -> Response {
    respond::message(StatusCode::NOT_FOUND, "URI not found")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_under_apps_name_apps_tasks_and_versions() {
        assert_eq!(Target::parse("shop/web"), Target::App("/shop/web".into()));
        assert_eq!(
            Target::parse("/shop//web/"),
            Target::App("/shop/web".into())
        );
        assert_eq!(
            Target::parse("shop/web/tasks"),
            Target::Tasks("/shop/web".into())
        );
        assert_eq!(
            Target::parse("shop/web/tasks/shop_web.1"),
            Target::Task("/shop/web".into(), "shop_web.1".into())
        );
        assert_eq!(
            Target::parse("web/versions"),
            Target::Versions("/web".into())
        );
        assert_eq!(
            Target::parse("web/versions/2016-10-04T12:00:00.000Z"),
            Target::Version("/web".into(), "2016-10-04T12:00:00.000Z".into())
        );
        assert_eq!(Target::parse("shop/*"), Target::Group("/shop".into()));
        assert_eq!(Target::parse("web/restart"), Target::Restart("/web".into()));
    }
}
