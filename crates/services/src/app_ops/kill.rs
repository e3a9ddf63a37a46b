//! Killing tasks through the API: an app's tasks that a filter picks (`DELETE
//! /v2/apps/{id}/tasks[/{taskId}]`) or tasks named by id across apps (`POST
//! /v2/tasks/delete`). Killed tasks are replaced; with `scale`, every app concerned drops its
//! `instances` by as many, in one deployment (Marathon's `killAndScale`). The kill is stored
//! before it is sent, so it survives a restart of the services.

use std::collections::BTreeMap;

use super::commit::{ChangeSet, prepare};
use super::{Changed, KILL_NOT_SENT, Killed};
use crate::model::App;
use crate::op_error::{OpError, unknown_app};
use crate::path_id::PathId;
use crate::services::Services;
use crate::store::Batch;
use crate::tasks::TaskRecord;
use crate::time::Timestamp;
use crate::world::World;

impl Services {
    /// Kills the app's tasks that `select` picks.
    pub async fn kill_tasks(
        &self,
        app_id: &str,
        select: impl Fn(&TaskRecord) -> bool,
        scale: bool,
        force: bool,
    ) -> Result<Killed, OpError> {
        let version = self.next_version();
        let app_id = PathId::parse(app_id).to_string();
        let mut world = self.world.lock().await;
        if !world.apps.contains_key(&app_id) {
            return Err(unknown_app(&app_id));
        }
        let chosen: Vec<String> = world
            .tasks_of(&app_id)
            .filter(|t| select(t) && !t.kill_requested())
            .map(|t| t.id.clone())
            .collect();
        let chosen = BTreeMap::from([(app_id, chosen)]);
        let killed = self
            .kill_chosen(&mut world, chosen, scale, force, version)
            .await;
        drop(world);
        self.changed(!scale);
        killed
    }

    /// Kills the tasks named in `ids`, of whatever apps; ids of no task are skipped.
    pub async fn kill_by_ids(
        &self,
        ids: &[String],
        scale: bool,
        force: bool,
    ) -> Result<Killed, OpError> {
        let version = self.next_version();
        let mut world = self.world.lock().await;
        let mut chosen: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for id in ids {
            if let Some(task) = world.tasks.get(id).filter(|t| !t.kill_requested()) {
                chosen
                    .entry(task.app_id.clone())
                    .or_default()
                    .push(id.clone());
            }
        }
        let killed = self
            .kill_chosen(&mut world, chosen, scale, force, version)
            .await;
        drop(world);
        self.changed(!scale);
        killed
    }

    /// Kills `chosen` (task ids by app id), scaling the apps down first when `scale`.
    async fn kill_chosen(
        &self,
        world: &mut World,
        chosen: BTreeMap<String, Vec<String>>,
        scale: bool,
        force: bool,
        version: Timestamp,
    ) -> Result<Killed, OpError> {
        let result = if scale {
            let mut set = ChangeSet::default();
            for (app_id, tasks) in &chosen {
                let Some(app) = world.apps.get(app_id) else {
                    continue;
                };
                let instances = app
                    .instances
                    .saturating_sub(u32::try_from(tasks.len()).unwrap_or(u32::MAX));
                let scaled = App {
                    instances,
                    version,
                    ..app.clone()
                };
                set.puts.push(prepare(world, scaled, Some(app))?);
            }
            let deployment_id = self.commit(world, set, version, force).await?.deployment_id;
            Killed::Scaled(Changed {
                created: false,
                version,
                deployment_id,
            })
        } else {
            Killed::Tasks(
                chosen
                    .values()
                    .flatten()
                    .filter_map(|id| world.tasks.get(id).cloned())
                    .collect(),
            )
        };
        let mut batch = Batch::new();
        for id in chosen.values().flatten() {
            if let Some(task) = world.tasks.get(id) {
                batch.put_task(&TaskRecord {
                    kill_requested_at: Some(KILL_NOT_SENT),
                    ..task.clone()
                });
            }
        }
        self.store.apply_in_parts(batch).await?;
        for id in chosen.values().flatten() {
            if let Some(task) = world.tasks.get_mut(id) {
                task.kill_requested_at = Some(KILL_NOT_SENT);
            }
        }
        Ok(result)
    }
}
