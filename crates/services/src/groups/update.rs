//! A group body (Marathon's `GroupUpdate`) applied to the apps and groups there are, giving
//! the state wanted: `apps`, when given, become the group's apps (new ones created, listed
//! ones replaced by their new definitions, the rest deleted); `groups`, when given, become its
//! groups (each applied the same way, unlisted ones deleted with everything in them);
//! `dependencies` are the group's. Ids are relative to the group (`web` in `/shop` is
//! `/shop/web`); an absolute one must name a child of the group. Pure: nothing is stored.

use std::collections::BTreeMap;

use serde_json::Value;

use super::GroupRecord;
use super::json::{group_ids, is_child};
use crate::model::App;
use crate::parse::reader::{Fields, NOT_AN_OBJECT, REQUIRED};
use crate::parse::{ParseContext, parse_app};
use crate::path_id::PathId;
use crate::validation::{Violations, element, member};

/// The apps and groups, as they are or as they are wanted.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupState {
    pub apps: BTreeMap<String, App>,
    pub groups: BTreeMap<String, GroupRecord>,
}

impl GroupState {
    /// Takes everything within `id` (the group included) out.
    pub fn remove_within(&mut self, id: &PathId) {
        self.apps.retain(|app, _| !PathId::parse(app).is_within(id));
        self.groups.retain(|g, _| !PathId::parse(g).is_within(id));
    }

    /// Everything within `id`.
    pub fn within(&self, id: &PathId) -> GroupState {
        GroupState {
            apps: self
                .apps
                .iter()
                .filter(|(a, _)| PathId::parse(a).is_within(id))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            groups: self
                .groups
                .iter()
                .filter(|(g, _)| PathId::parse(g).is_within(id))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }
}

/// `text` as an id relative to `base` (absolute when it starts with `/`).
pub fn resolve(base: &PathId, text: &str) -> PathId {
    if text.starts_with('/') {
        PathId::parse(text)
    } else {
        PathId::parse(&format!("{base}/{text}"))
    }
}

/// Applies `body` (at JSON path `path`) to group `id` in `state`.
pub fn apply(
    state: &mut GroupState,
    id: &PathId,
    body: &Value,
    ctx: &ParseContext,
    path: &str,
    v: &mut Violations,
) {
    let Some(f) = Fields::of(body, path, v) else {
        return;
    };
    if !id.is_root() {
        let parent = id
            .ancestors()
            .first()
            .cloned()
            .unwrap_or(PathId::parse("/"));
        let dependencies = match f.strings("dependencies", v) {
            Some(deps) => deps
                .iter()
                .map(|d| resolve(&parent, d).to_string())
                .collect(),
            None => state
                .groups
                .get(&id.to_string())
                .map(|g| g.dependencies.clone())
                .unwrap_or_default(),
        };
        state.groups.insert(
            id.to_string(),
            GroupRecord {
                id: id.to_string(),
                dependencies,
                version: ctx.version,
            },
        );
    }
    if let Some(apps) = f.array("apps", v) {
        state
            .apps
            .retain(|app, _| !is_child(&PathId::parse(app), id));
        for (i, item) in apps.iter().enumerate() {
            let at = element(&member(path, "apps"), i);
            if let Some(app) = group_app(id, item, ctx, &at, v) {
                state.apps.insert(app.id.clone(), app);
            }
        }
    }
    if let Some(groups) = f.array("groups", v) {
        let mut listed = Vec::new();
        for (i, item) in groups.iter().enumerate() {
            let at = element(&member(path, "groups"), i);
            match child_id(id, item, &at, v) {
                Some(child) => listed.push((child, item, at)),
                None => continue,
            }
        }
        let existing: Vec<PathId> = group_ids(&state.apps, &state.groups)
            .into_iter()
            .filter(|g| is_child(g, id))
            .collect();
        for gone in existing
            .iter()
            .filter(|g| !listed.iter().any(|(l, _, _)| l == *g))
        {
            state.remove_within(gone);
        }
        for (child, item, at) in listed {
            apply(state, &child, item, ctx, &at, v);
        }
    }
}

/// The id a nested group body names, checked to be a child of `parent`.
fn child_id(parent: &PathId, item: &Value, at: &str, v: &mut Violations) -> Option<PathId> {
    let Some(text) = item.get("id").and_then(Value::as_str) else {
        v.add(
            &member(at, "id"),
            if item.is_object() {
                REQUIRED
            } else {
                NOT_AN_OBJECT
            },
        );
        return None;
    };
    let child = resolve(parent, text);
    if !is_child(&child, parent) {
        v.add(&member(at, "id"), not_child(&child, parent));
        return None;
    }
    for problem in PathId::problems(&child.to_string()) {
        v.add(&member(at, "id"), problem);
    }
    Some(child)
}

/// An app of a group body: its id made absolute, then parsed as any app.
fn group_app(
    group: &PathId,
    item: &Value,
    ctx: &ParseContext,
    at: &str,
    v: &mut Violations,
) -> Option<App> {
    let Some(object) = item.as_object() else {
        v.add(at, NOT_AN_OBJECT);
        return None;
    };
    let Some(text) = object.get("id").and_then(Value::as_str) else {
        v.add(&member(at, "id"), REQUIRED);
        return None;
    };
    let id = resolve(group, text);
    if !is_child(&id, group) {
        v.add(&member(at, "id"), not_child(&id, group));
        return None;
    }
    let mut body = object.clone();
    body.insert("id".into(), Value::String(id.to_string()));
    match parse_app(&Value::Object(body), ctx) {
        Ok(app) => Some(app),
        Err(inner) => {
            for (p, error) in inner.iter() {
                let p = if p == "/" { "" } else { p };
                v.add(&format!("{at}{p}"), error);
            }
            None
        }
    }
}

fn not_child(id: &PathId, group: &PathId) -> String {
    format!("identifier {id} is not child of {group}. Hint: use relative paths.")
}

#[cfg(test)]
#[path = "update_tests.rs"]
mod tests;
