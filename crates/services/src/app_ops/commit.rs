//! Committing a change of apps: the locks checked (or, with `force`, the locking deployments
//! cancelled), the dependency graph checked for cycles, the apps and one deployment of their
//! changes stored in one batch, then applied to the world.

use std::collections::BTreeMap;

use tokio::sync::MutexGuard;

use crate::deployments::steps::find_cycle;
use crate::deployments::{Change, Deployment};
use crate::events::Event;
use crate::events::kinds::Plan;
use crate::groups::GroupRecord;
use crate::groups::update::GroupState;
use crate::model::App;
use crate::model::strategy::VersionInfo;
use crate::op_error::OpError;
use crate::path_id::PathId;
use crate::services::Services;
use crate::store::Batch;
use crate::stored_form::stored_form;
use crate::time::Timestamp;
use crate::validation::Violations;
use crate::world::World;

/// One app's change, ready to store.
pub(crate) struct Prepared {
    pub app: App,
    pub change: Option<Change>,
    /// The app before the change (`None`: it is created).
    pub previous: Option<App>,
}

/// A change of apps: apps to put (created or updated) and existing apps to delete.
#[derive(Default)]
pub(crate) struct ChangeSet {
    pub puts: Vec<Prepared>,
    pub deletes: Vec<App>,
    /// The deployment this one rolls back, if it is a rollback.
    pub rollback_of: Option<String>,
    /// Groups created or changed, and groups deleted (by id).
    pub groups: Vec<GroupRecord>,
    pub group_deletes: Vec<String>,
    /// Keys to delete besides (a deleted group's versions).
    pub deleted_keys: Vec<String>,
    /// A version of a group to keep (`/v2/groups/{id}/versions`): its id and content.
    pub snapshot: Option<(String, GroupState)>,
}

/// A committed change: its deployment id.
pub(crate) struct Committed {
    pub deployment_id: String,
}

impl Services {
    /// [`Services::commit`], then the world's lock is let go and the driver woken (`revive`:
    /// new tasks may be wanted). Returns the deployment id.
    pub(crate) async fn commit_and_wake(
        &self,
        mut world: MutexGuard<'_, World>,
        set: ChangeSet,
        version: Timestamp,
        force: bool,
        revive: bool,
    ) -> Result<String, OpError> {
        let committed = self.commit(&mut world, set, version, force).await?;
        drop(world);
        self.changed(revive);
        Ok(committed.deployment_id)
    }

    /// Stores the change and one deployment of it, then applies both to the world. Returns
    /// the deployment id (a fresh one when nothing changed, as Marathon answers an empty plan).
    pub(crate) async fn commit(
        &self,
        world: &mut World,
        set: ChangeSet,
        version: Timestamp,
        force: bool,
    ) -> Result<Committed, OpError> {
        let mut changed: Vec<(String, Change)> = set
            .puts
            .iter()
            .filter_map(|p| p.change.map(|c| (p.app.id.clone(), c)))
            .collect();
        changed.extend(set.deletes.iter().map(|a| (a.id.clone(), Change::Delete)));
        let deployment_id = new_id();
        let mut batch = Batch::new();
        group_writes(&set, version, &mut batch);
        if changed.is_empty() {
            // Nothing to deploy; the groups are stored all the same.
            self.store.apply(batch).await?;
            apply_groups(world, &set);
            return Ok(Committed { deployment_id });
        }
        let ids: Vec<String> = changed.iter().map(|(id, _)| id.clone()).collect();
        let cancelled = locks(world, &ids, force)?;
        let mut target = world.apps.clone();
        for p in set.puts.iter().filter(|p| p.change.is_some()) {
            target.insert(p.app.id.clone(), p.app.clone());
        }
        for app in &set.deletes {
            target.remove(&app.id);
        }
        let mut target_groups = world.groups.clone();
        for g in &set.groups {
            target_groups.insert(g.id.clone(), g.clone());
        }
        for g in &set.group_deletes {
            target_groups.remove(g);
        }
        let graph = dependency_graph(&target, &target_groups);
        if let Some(cycle) = find_cycle(&graph) {
            let mut v = Violations::new();
            v.add(
                "/",
                format!(
                    "Dependency graph has cyclic dependencies: {}",
                    cycle.join(" -> ")
                ),
            );
            return Err(OpError::Invalid(v));
        }
        let original: Vec<App> = set
            .puts
            .iter()
            .filter(|p| p.change.is_some())
            .filter_map(|p| p.previous.clone())
            .chain(set.deletes.iter().cloned())
            .collect();
        let mut deployment =
            Deployment::new(deployment_id.clone(), version, &changed, &graph, original);
        deployment.rollback_of = set.rollback_of.clone();
        for p in set.puts.iter().filter(|p| p.change.is_some()) {
            batch.put_app(&p.app);
            for key in self.store.versions_to_prune(&p.app.id, 1).await? {
                batch.delete(key);
            }
        }
        for app in &set.deletes {
            batch.delete_app(&app.id);
            for key in self.store.version_keys(&app.id).await? {
                batch.delete(key);
            }
        }
        for c in &cancelled {
            batch.delete_deployment(c);
        }
        batch.put_deployment(&deployment);
        self.store.apply(batch).await?;
        let cancelled: Vec<Deployment> = cancelled
            .iter()
            .filter_map(|c| world.deployments.remove(c))
            .collect();
        apply_groups(world, &set);
        for p in set.puts {
            if matches!(p.change, Some(Change::Restart | Change::Create)) {
                // A new configuration starts without the old one's launch delay.
                world.delays.remove(&p.app.id);
            }
            if p.change.is_some() {
                world.apps.insert(p.app.id.clone(), p.app);
            }
        }
        for app in &set.deletes {
            world.apps.remove(&app.id);
            world.delays.remove(&app.id);
            world.failures.remove(&app.id);
        }
        for c in &cancelled {
            tracing::info!(deployment = %c.id, by = %deployment_id, "services: deployment cancelled by a forced change");
            let reason = if set.rollback_of.as_deref() == Some(c.id.as_str()) {
                format!("rolled back by deployment {deployment_id}")
            } else {
                format!("cancelled by deployment {deployment_id}")
            };
            self.publish(Event::deployment_ended(&Plan::of(c, world), Some(&reason)));
        }
        let first_step = deployment.steps.first().cloned().unwrap_or_default();
        self.publish(Event::deployment_step(
            "deployment_info",
            &Plan::of(&deployment, world),
            &first_step,
        ));
        world.deployments.insert(deployment.id.clone(), deployment);
        Ok(Committed { deployment_id })
    }
}

/// The writes of a change's groups: records, deletions and the group's version.
fn group_writes(set: &ChangeSet, version: Timestamp, batch: &mut Batch) {
    for g in &set.groups {
        batch.put_group(g);
    }
    for g in &set.group_deletes {
        batch.delete_group(g);
    }
    for key in &set.deleted_keys {
        batch.delete(key.clone());
    }
    if let Some((id, content)) = &set.snapshot {
        batch.put_group_version(id, version, content);
    }
}

fn apply_groups(world: &mut World, set: &ChangeSet) {
    for g in &set.groups {
        world.groups.insert(g.id.clone(), g.clone());
    }
    for g in &set.group_deletes {
        world.groups.remove(g);
    }
}

/// The deployments locking `ids`: an error unless `force`, which cancels them.
fn locks(world: &World, ids: &[String], force: bool) -> Result<Vec<String>, OpError> {
    let mut locking: Vec<String> = ids.iter().flat_map(|id| world.deployments_of(id)).collect();
    locking.sort();
    locking.dedup();
    if !locking.is_empty() && !force {
        return Err(OpError::Locked(locking));
    }
    Ok(locking)
}

/// Each app's dependencies as app ids: its own and those of every group it is in; a
/// dependency naming an app is that app, one naming a group is every app within it.
pub fn dependency_graph(
    apps: &BTreeMap<String, App>,
    groups: &BTreeMap<String, GroupRecord>,
) -> BTreeMap<String, Vec<String>> {
    apps.values()
        .map(|app| {
            let inherited = app
                .path_id()
                .ancestors()
                .into_iter()
                .filter_map(|g| groups.get(&g.to_string()))
                .flat_map(|g| g.dependencies.iter());
            let mut on: Vec<String> = app
                .dependencies
                .iter()
                .chain(inherited)
                .flat_map(|dep| {
                    if apps.contains_key(dep) {
                        vec![dep.clone()]
                    } else {
                        let group = PathId::parse(dep);
                        apps.keys()
                            .filter(|other| {
                                *other != &app.id && PathId::parse(other).is_within(&group)
                            })
                            .cloned()
                            .collect()
                    }
                })
                .collect();
            on.sort();
            on.dedup();
            (app.id.clone(), on)
        })
        .collect()
}

/// The stored form of an updated (or new) app and what the update does to it.
pub(crate) fn prepare(
    world: &World,
    app: App,
    existing: Option<&App>,
) -> Result<Prepared, OpError> {
    let stored = stored_form(world, app, existing)?;
    let change = match existing {
        None => Some(Change::Create),
        Some(old) if old.same_definition(&stored) => None,
        Some(old) if old.is_only_scale_change(&stored) => Some(Change::Scale),
        Some(_) => Some(Change::Restart),
    };
    let stored = match (change, existing) {
        (Some(Change::Scale), Some(old)) => App {
            version_info: Some(VersionInfo {
                last_scaling_at: stored.version,
                last_config_change_at: old.config_version(),
            }),
            ..stored
        },
        _ => stored,
    };
    Ok(Prepared {
        app: stored,
        change,
        previous: existing.cloned(),
    })
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}
