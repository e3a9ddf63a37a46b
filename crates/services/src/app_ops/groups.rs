//! `/v2/groups` changes: a group created, updated (a body applied, `scaleBy`, or a rollback
//! to a stored `version`) or deleted, each as one change of apps and groups, deployed in the
//! dependency order of the whole tree. Each change keeps a version of the group.

use serde_json::Value;

use super::Changed;
use super::commit::{ChangeSet, Prepared, new_id, prepare};
use crate::deployments::{Change, Deployment};
use crate::groups::json::group_ids;
use crate::groups::update::{GroupState, apply, resolve};
use crate::model::App;
use crate::model::strategy::VersionInfo;
use crate::op_error::OpError;
use crate::parse::ParseContext;
use crate::path_id::PathId;
use crate::services::Services;
use crate::store::MAX_VERSIONS;
use crate::time::Timestamp;
use crate::validation::Violations;
use crate::world::World;

/// What a group update did, or (`dryRun`) would do.
pub enum GroupChanged {
    Deployed(Changed),
    DryRun(Value),
}

impl Services {
    /// `POST /v2/groups[/{base}]`: a new group, its id relative to `base` (`base` itself
    /// when the body has none). Answers the group's id and the change.
    pub async fn create_group(
        &self,
        base: &str,
        body: &Value,
        force: bool,
    ) -> Result<(PathId, Changed), OpError> {
        let base = PathId::parse(base);
        let id = match body.get("id").filter(|v| !v.is_null()) {
            Some(Value::String(text)) => resolve(&base, text),
            Some(_) => return Err(invalid("/id", "must be a string")),
            None => base,
        };
        let world = self.world.lock().await;
        if group_ids(&world.apps, &world.groups).contains(&id) {
            return Err(OpError::Conflict(format!(
                "Group {id} is already created. Use PUT to change this group."
            )));
        }
        if world.apps.contains_key(&id.to_string()) {
            return Err(OpError::Conflict(format!(
                "An app with the path {id} already exists."
            )));
        }
        drop(world);
        match self
            .update_group(&id.to_string(), body, force, false)
            .await?
        {
            GroupChanged::Deployed(mut changed) => {
                changed.created = true;
                Ok((id, changed))
            }
            GroupChanged::DryRun(_) => Err(OpError::BadRequest("unexpected dry run".into())),
        }
    }

    /// `PUT /v2/groups/{id}` (creating the group when it is missing).
    pub async fn update_group(
        &self,
        id: &str,
        body: &Value,
        force: bool,
        dry_run: bool,
    ) -> Result<GroupChanged, OpError> {
        let id = PathId::parse(id);
        if !id.is_root() {
            let mut v = Violations::new();
            for problem in PathId::problems(&id.to_string()) {
                v.add("/id", problem);
            }
            if !v.is_empty() {
                return Err(OpError::Invalid(v));
            }
        }
        let version = self.next_version();
        let ctx = ParseContext {
            framework_role: self.config.role.clone(),
            version,
        };
        let world = self.world.lock().await;
        let current = GroupState {
            apps: world.apps.clone(),
            groups: world.groups.clone(),
        };
        let mut target = current.clone();
        if let Some(at) = body.get("version").filter(|v| !v.is_null()) {
            let restored = self.stored_group_version(&id, at).await?;
            target.remove_within(&id);
            for app in restored.apps.into_values() {
                target
                    .apps
                    .insert(app.id.clone(), restored_app(app, version));
            }
            target.groups.extend(restored.groups);
        } else if let Some(factor) = body.get("scaleBy").filter(|v| !v.is_null()) {
            let factor = factor
                .as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .ok_or_else(|| invalid("/scaleBy", "must be a number of 0 or more"))?;
            for app in target
                .apps
                .values_mut()
                .filter(|a| a.path_id().is_within(&id))
            {
                app.instances = (f64::from(app.instances) * factor).ceil() as u32;
                app.version = version;
            }
        } else {
            let mut v = Violations::new();
            apply(&mut target, &id, body, &ctx, "", &mut v);
            if !v.is_empty() {
                return Err(OpError::Invalid(v));
            }
        }
        let mut set = change_set(&world, &current, &target)?;
        if dry_run {
            let changes = planned_changes(&set);
            let graph = super::commit::dependency_graph(&target.apps, &target.groups);
            let plan = Deployment::new(new_id(), version, &changes, &graph, Vec::new());
            return Ok(GroupChanged::DryRun(
                serde_json::json!({"steps": plan.steps_json()}),
            ));
        }
        let mut snapshot = target.within(&id);
        for p in set.puts.iter().filter(|p| p.change.is_some()) {
            snapshot.apps.insert(p.app.id.clone(), p.app.clone());
        }
        set.snapshot = Some((id.to_string(), snapshot));
        set.deleted_keys = self.group_versions_to_prune(&id).await?;
        let deployment_id = self
            .commit_and_wake(world, set, version, force, true)
            .await?;
        Ok(GroupChanged::Deployed(Changed {
            created: false,
            version,
            deployment_id,
        }))
    }

    /// `DELETE /v2/groups/{id}`: the group and everything in it.
    pub async fn delete_group(&self, id: &str, force: bool) -> Result<Changed, OpError> {
        let id = PathId::parse(id);
        let version = self.next_version();
        let world = self.world.lock().await;
        if !group_ids(&world.apps, &world.groups).contains(&id) {
            return Err(OpError::NotFound(format!("Group '{id}' does not exist")));
        }
        let current = GroupState {
            apps: world.apps.clone(),
            groups: world.groups.clone(),
        };
        let mut target = current.clone();
        target.remove_within(&id);
        let mut set = change_set(&world, &current, &target)?;
        for gone in group_ids(&current.apps, &current.groups)
            .iter()
            .filter(|g| g.is_within(&id))
        {
            set.deleted_keys.extend(
                self.store
                    .group_versions(&gone.to_string())
                    .await?
                    .into_iter()
                    .map(|(key, _)| key),
            );
        }
        let deployment_id = self
            .commit_and_wake(world, set, version, force, false)
            .await?;
        Ok(Changed {
            created: false,
            version,
            deployment_id,
        })
    }

    async fn stored_group_version(&self, id: &PathId, at: &Value) -> Result<GroupState, OpError> {
        let text = at.as_str().unwrap_or_default();
        let version = Timestamp::parse(text)
            .ok_or_else(|| OpError::BadRequest(format!("'{text}' is not a valid version")))?;
        self.store
            .group_version(&id.to_string(), version)
            .await?
            .ok_or_else(|| {
                OpError::NotFound(format!("Group '{id}' does not exist in version {version}"))
            })
    }

    /// The version keys of a group beyond the newest [`MAX_VERSIONS`] (one being added).
    async fn group_versions_to_prune(&self, id: &PathId) -> Result<Vec<String>, OpError> {
        let versions = self.store.group_versions(&id.to_string()).await?;
        let excess = (versions.len() + 1).saturating_sub(MAX_VERSIONS);
        Ok(versions
            .into_iter()
            .take(excess)
            .map(|(key, _)| key)
            .collect())
    }
}

/// The change from `current` to `target`: apps created, changed (each prepared as one app
/// update is) and deleted, groups written and deleted.
fn change_set(
    world: &World,
    current: &GroupState,
    target: &GroupState,
) -> Result<ChangeSet, OpError> {
    let mut set = ChangeSet::default();
    for app in target.apps.values() {
        let existing = current.apps.get(&app.id);
        if existing == Some(app) {
            continue;
        }
        set.puts.push(prepare(world, app.clone(), existing)?);
    }
    set.deletes = current
        .apps
        .values()
        .filter(|a| !target.apps.contains_key(&a.id))
        .cloned()
        .collect();
    set.groups = target
        .groups
        .values()
        .filter(|g| current.groups.get(&g.id) != Some(g))
        .cloned()
        .collect();
    set.group_deletes = current
        .groups
        .keys()
        .filter(|g| !target.groups.contains_key(*g))
        .cloned()
        .collect();
    Ok(set)
}

fn planned_changes(set: &ChangeSet) -> Vec<(String, Change)> {
    set.puts
        .iter()
        .filter_map(|p: &Prepared| p.change.map(|c| (p.app.id.clone(), c)))
        .chain(set.deletes.iter().map(|a| (a.id.clone(), Change::Delete)))
        .collect()
}

/// An app of a stored group version, restored now: its old configuration version is kept,
/// so tasks of that configuration stay.
fn restored_app(old: App, version: Timestamp) -> App {
    App {
        version,
        version_info: Some(VersionInfo {
            last_scaling_at: version,
            last_config_change_at: old.config_version(),
        }),
        ..old
    }
}

fn invalid(path: &str, message: &str) -> OpError {
    let mut v = Violations::new();
    v.add(path, message);
    OpError::Invalid(v)
}
