//! The group tree as Marathon's `GroupInfo` writer shows it: `id`, `dependencies`,
//! `version`, then `apps`, `groups` and `pods` when embedded. A group's version is the
//! newest of its own and of everything in it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use super::GroupRecord;
use crate::model::App;
use crate::path_id::PathId;
use crate::time::Timestamp;

/// What a group shows of what it holds.
#[derive(Clone, Copy)]
pub struct GroupEmbed<'a> {
    pub groups: bool,
    pub apps: bool,
    /// How an app is shown.
    pub app: &'a dyn Fn(&App) -> Value,
    /// Which apps and groups the caller is shown at all.
    pub shown: Shown<'a>,
}

/// Which apps and groups are shown (what the caller may view; the root always is).
#[derive(Clone, Copy)]
pub struct Shown<'a> {
    pub app: &'a dyn Fn(&App) -> bool,
    pub group: &'a dyn Fn(&PathId) -> bool,
}

impl Shown<'static> {
    pub const ALL: Shown<'static> = Shown {
        app: &|_| true,
        group: &|_| true,
    };
}

/// Every group id there is: the root, the explicit groups and every app's ancestors.
pub fn group_ids(
    apps: &BTreeMap<String, App>,
    groups: &BTreeMap<String, GroupRecord>,
) -> BTreeSet<PathId> {
    let mut ids: BTreeSet<PathId> = BTreeSet::new();
    ids.insert(PathId::parse("/"));
    for id in groups.keys() {
        let path = PathId::parse(id);
        ids.extend(path.ancestors());
        ids.insert(path);
    }
    for id in apps.keys() {
        ids.extend(PathId::parse(id).ancestors());
    }
    ids
}

/// Whether `child` is directly in `parent`.
pub fn is_child(child: &PathId, parent: &PathId) -> bool {
    child != parent
        && child.is_within(parent)
        && child
            .ancestors()
            .first()
            .map_or(parent.is_root(), |p| p == parent)
}

/// The group `id` shown with `embed`, or `None` when there is no such group.
pub fn group_json(
    id: &PathId,
    apps: &BTreeMap<String, App>,
    groups: &BTreeMap<String, GroupRecord>,
    embed: GroupEmbed,
) -> Option<Value> {
    let ids = group_ids(apps, groups);
    if !ids.contains(id) || !(id.is_root() || (embed.shown.group)(id)) {
        return None;
    }
    Some(render(id, &ids, apps, groups, embed))
}

fn render(
    id: &PathId,
    ids: &BTreeSet<PathId>,
    apps: &BTreeMap<String, App>,
    groups: &BTreeMap<String, GroupRecord>,
    embed: GroupEmbed,
) -> Value {
    let record = groups.get(&id.to_string());
    let mut object = Map::new();
    object.insert("id".into(), json!(id.to_string()));
    object.insert(
        "dependencies".into(),
        json!(record.map(|r| r.dependencies.clone()).unwrap_or_default()),
    );
    object.insert("version".into(), json!(version_of(id, apps, groups)));
    if embed.apps {
        let direct: Vec<Value> = apps
            .values()
            .filter(|a| is_child(&a.path_id(), id) && (embed.shown.app)(a))
            .map(|a| (embed.app)(a))
            .collect();
        object.insert("apps".into(), Value::Array(direct));
    }
    if embed.groups {
        let children: Vec<Value> = ids
            .iter()
            .filter(|g| is_child(g, id) && (embed.shown.group)(g))
            .map(|g| render(g, ids, apps, groups, embed))
            .collect();
        object.insert("groups".into(), Value::Array(children));
    }
    if embed.apps || embed.groups {
        object.insert("pods".into(), json!([]));
    }
    Value::Object(object)
}

/// The newest version of the group, its apps and its groups.
pub fn version_of(
    id: &PathId,
    apps: &BTreeMap<String, App>,
    groups: &BTreeMap<String, GroupRecord>,
) -> Timestamp {
    let of_apps = apps
        .values()
        .filter(|a| a.path_id().is_within(id))
        .map(|a| a.version);
    let of_groups = groups
        .values()
        .filter(|g| PathId::parse(&g.id).is_within(id))
        .map(|g| g.version);
    of_apps.chain(of_groups).max().unwrap_or_default()
}

/// The whole tree from the root, every app in its definition's form (as events show a
/// deployment plan's `original` and `target`).
pub fn root_json(apps: &BTreeMap<String, App>, groups: &BTreeMap<String, GroupRecord>) -> Value {
    let app = |a: &App| Value::Object(a.to_json());
    let embed = GroupEmbed {
        groups: true,
        apps: true,
        app: &app,
        shown: Shown::ALL,
    };
    render(
        &PathId::parse("/"),
        &group_ids(apps, groups),
        apps,
        groups,
        embed,
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::scheduler::plan::tests::app;

    #[test]
    fn the_tree_nests_groups_by_path_with_marathons_keys() {
        let mut apps = BTreeMap::new();
        for (id, v) in [
            ("/shop/web", 3_000),
            ("/shop/db", 2_000),
            ("/tools/x/y", 1_000),
        ] {
            let a = app(json!({"id": id, "cmd": "x y"}), v);
            apps.insert(a.id.clone(), a);
        }
        let mut groups = BTreeMap::new();
        groups.insert(
            "/empty".to_string(),
            GroupRecord {
                id: "/empty".into(),
                dependencies: vec!["/shop".into()],
                version: Timestamp(500),
            },
        );
        let root = root_json(&apps, &groups);
        let mut keys: Vec<&String> = root.as_object().expect("object").keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            ["apps", "dependencies", "groups", "id", "pods", "version"]
        );
        assert_eq!(root["id"], "/");
        assert_eq!(root["apps"], json!([]));
        let ids: Vec<&str> = root["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .filter_map(|g| g["id"].as_str())
            .collect();
        assert_eq!(ids, ["/empty", "/shop", "/tools"]);
        assert_eq!(root["groups"][0]["dependencies"], json!(["/shop"]));
        assert_eq!(root["groups"][1]["apps"][0]["id"], "/shop/db");
        assert_eq!(root["groups"][1]["version"], "1970-01-01T00:00:03.000Z");
        assert_eq!(
            root["groups"][2]["groups"][0]["groups"][0]["id"],
            json!(null)
        );
        assert_eq!(
            root["groups"][2]["groups"][0]["apps"][0]["id"],
            "/tools/x/y"
        );
        assert!(
            group_json(
                &PathId::parse("/nope"),
                &apps,
                &groups,
                GroupEmbed {
                    groups: false,
                    apps: false,
                    app: &|_| Value::Null,
                    shown: Shown::ALL,
                }
            )
            .is_none()
        );
    }
}
