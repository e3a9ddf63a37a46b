//! Who may manage and view which apps: `manage_apps` on every path a change touches (else
//! Marathon's 403), and `view_apps` filtering what reads show, as Marathon asks its
//! authorizer (`UpdateRunSpec`/`ViewRunSpec`, `UpdateGroup`/`ViewGroup`). The objects are
//! path ids matched as a tree (`corral_authz::path_tree`). The paths are read from the world
//! under its lock; the authorizer is asked after it is released, once per distinct path.

use std::collections::BTreeSet;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use corral_authz::{Action, Denied, Request};
use corral_http::auth::{Caller, Refusal};

use super::respond;
use crate::groups::update::resolve;
use crate::path_id::PathId;
use crate::services::Services;
use crate::world::World;

/// The actions the services API asks its authorizer about; ACLs of others are the master's
/// and the agents' business.
pub const ENFORCED: [Action; 2] = [Action::ManageApps, Action::ViewApps];

/// Marathon's refusal (docs/docs/rest-api/public/api/traits.raml, the `secured` trait's 403).
pub const NOT_AUTHORIZED: &str = "Not Authorized to perform this action!";

/// A 403 as Marathon's body has it (`{"message"}`), the action and path in the message; the
/// audit line's reason is the action.
pub fn forbidden(denied: &Denied) -> Box<Response> {
    let object = denied.object.as_deref().unwrap_or("/");
    tracing::info!(
        principal = denied.subject.as_deref().unwrap_or("<anonymous>"),
        action = denied.action.name(),
        object,
        "services: refused"
    );
    let message = format!("{NOT_AUTHORIZED} ({} on {object})", denied.action.name());
    let mut response = respond::json(StatusCode::FORBIDDEN, json!({ "message": message }));
    response
        .extensions_mut()
        .insert(Refusal(denied.action.name()));
    Box::new(response)
}

/// What a caller may view: everything (nothing can be refused, or it may view `/`), or the
/// paths it was asked about and allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum View {
    All,
    Only(BTreeSet<String>),
}

impl View {
    pub fn app(&self, id: &str) -> bool {
        match self {
            View::All => true,
            View::Only(allowed) => allowed.contains(id),
        }
    }

    /// A group is shown when it may be viewed or anything in it may (Marathon allows the
    /// parents of what it shows implicitly).
    pub fn group(&self, id: &PathId) -> bool {
        match self {
            View::All => true,
            View::Only(allowed) => {
                let id = id.to_string();
                allowed
                    .iter()
                    .any(|p| corral_authz::path_tree::covers(&id, p))
            }
        }
    }
}

impl Services {
    fn ask(&self, caller: &Caller, action: Action, path: &str) -> Result<(), Denied> {
        self.config.authorizer.authorize(&Request {
            subject: caller.name(),
            action,
            object: Some(path),
        })
    }

    /// `manage_apps` on each distinct one of `paths`, or the 403 of the first refused.
    pub fn may_manage(
        &self,
        caller: &Caller,
        paths: impl IntoIterator<Item = String>,
    ) -> Result<(), Box<Response>> {
        if !self.config.authorizer.restricts(Action::ManageApps) {
            return Ok(());
        }
        let distinct: BTreeSet<String> = paths.into_iter().collect();
        distinct
            .iter()
            .try_for_each(|path| self.ask(caller, Action::ManageApps, path))
            .map_err(|denied| forbidden(&denied))
    }

    /// `manage_apps` on the paths `touched` reads from the world (under its lock; asked
    /// after it).
    pub async fn may_manage_in(
        &self,
        caller: &Caller,
        touched: impl FnOnce(&World) -> Vec<String>,
    ) -> Result<(), Box<Response>> {
        if !self.config.authorizer.restricts(Action::ManageApps) {
            return Ok(());
        }
        let paths = touched(&*self.world.lock().await);
        self.may_manage(caller, paths)
    }

    /// Whether the caller may view `path`.
    pub fn may_view(&self, caller: &Caller, path: &str) -> bool {
        !self.config.authorizer.restricts(Action::ViewApps)
            || self.ask(caller, Action::ViewApps, path).is_ok()
    }

    /// `view_apps` on `path`, or the 403 (an app's tasks and versions, a group's apps: Marathon
    /// refuses those rather than hiding them).
    pub fn may_view_or_refuse(&self, caller: &Caller, path: &str) -> Result<(), Box<Response>> {
        if !self.config.authorizer.restricts(Action::ViewApps) {
            return Ok(());
        }
        self.ask(caller, Action::ViewApps, path)
            .map_err(|denied| forbidden(&denied))
    }

    /// `view_apps` on the paths `listed` reads from the world (under its lock; asked after
    /// it). Paths that appear in between are not in the view: they are left out.
    pub async fn view(&self, caller: &Caller, listed: impl FnOnce(&World) -> Vec<String>) -> View {
        if !self.config.authorizer.restricts(Action::ViewApps) {
            return View::All;
        }
        let paths = listed(&*self.world.lock().await);
        self.view_of(caller, paths)
    }

    /// `view_apps` on each distinct one of `paths`.
    pub fn view_of(&self, caller: &Caller, paths: Vec<String>) -> View {
        if !self.config.authorizer.restricts(Action::ViewApps) {
            return View::All;
        }
        let distinct: BTreeSet<String> = paths.into_iter().collect();
        View::Only(
            distinct
                .into_iter()
                .filter(|path| self.ask(caller, Action::ViewApps, path).is_ok())
                .collect(),
        )
    }

    /// The event stream carries every app's events: only a caller that may view `/` (all of
    /// them) gets it; others get the 403 that says so.
    pub fn may_stream_events(&self, caller: &Caller) -> Result<(), Box<Response>> {
        self.may_view_or_refuse(caller, "/")
    }
}

/// Every path a change of group `id` touches: the group, everything in it now, and every app
/// and group its body names (ids relative to their group, as Marathon resolves them).
pub fn group_change_paths(world: &World, id: &PathId, body: Option<&Value>) -> Vec<String> {
    let mut paths = vec![id.to_string()];
    paths.extend(
        world
            .apps
            .keys()
            .chain(world.groups.keys())
            .filter(|p| PathId::parse(p).is_within(id))
            .cloned(),
    );
    if let Some(body) = body {
        named_in_body(id, body, &mut paths);
    }
    paths
}

/// The apps and groups a group body names, recursively.
pub fn named_in_body(group: &PathId, body: &Value, into: &mut Vec<String>) {
    for app in body["apps"].as_array().into_iter().flatten() {
        if let Some(text) = app["id"].as_str() {
            into.push(resolve(group, text).to_string());
        }
    }
    for child in body["groups"].as_array().into_iter().flatten() {
        if let Some(text) = child["id"].as_str() {
            let id = resolve(group, text);
            into.push(id.to_string());
            named_in_body(&id, child, into);
        }
    }
}

/// The app ids a list of app bodies names (`PUT`/`PATCH /v2/apps`); one without an id
/// touches nothing (the change refuses it).
pub fn named_apps(body: &Value) -> Vec<String> {
    body.as_array()
        .into_iter()
        .flatten()
        .filter_map(|app| app["id"].as_str())
        .map(|id| PathId::parse(id).to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_is_viewed_with_what_is_in_it() {
        let view = View::Only(["/team-a/web".to_string()].into());
        assert!(view.app("/team-a/web"));
        assert!(!view.app("/team-a/db"));
        assert!(view.group(&PathId::parse("/")));
        assert!(view.group(&PathId::parse("/team-a")));
        assert!(view.group(&PathId::parse("/team-a/web")));
        assert!(!view.group(&PathId::parse("/team-b")));
        assert!(!view.group(&PathId::parse("/team")));
        assert!(View::All.app("/anything"));
    }

    #[test]
    fn a_group_change_touches_the_group_what_is_in_it_and_what_its_body_names() {
        let mut world = World::default();
        for id in ["/shop/web", "/shop/db", "/shopping/x", "/other"] {
            let app = crate::scheduler::plan::tests::app(json!({"id": id, "cmd": "x y"}), 1);
            world.apps.insert(app.id.clone(), app);
        }
        let body = json!({"id": "shop", "apps": [{"id": "cart"}, {"id": "/shop/pay"}],
            "groups": [{"id": "back", "apps": [{"id": "queue"}]}]});
        let mut paths = group_change_paths(&world, &PathId::parse("/shop"), Some(&body));
        paths.sort();
        assert_eq!(
            paths,
            [
                "/shop",
                "/shop/back",
                "/shop/back/queue",
                "/shop/cart",
                "/shop/db",
                "/shop/pay",
                "/shop/web"
            ]
        );
    }

    #[test]
    fn app_lists_name_their_ids() {
        let body = json!([{"id": "a/b"}, {"cmd": "no id"}, {"id": "/c"}]);
        assert_eq!(named_apps(&body), ["/a/b", "/c"]);
    }
}
