//! `DELETE /v2/deployments/{id}`: a deployment rolled back (a new deployment that puts its
//! apps back as they were before it: created apps deleted, deleted ones created again,
//! changed ones restored), or with `force` just stopped where it is.

use super::Changed;
use super::commit::{ChangeSet, Prepared};
use crate::deployments::{Change, Deployment};
use crate::events::Event;
use crate::events::kinds::Plan;
use crate::model::App;
use crate::model::strategy::VersionInfo;
use crate::op_error::OpError;
use crate::services::Services;
use crate::store::Batch;
use crate::time::Timestamp;
use crate::world::World;

/// What cancelling a deployment did.
pub enum Cancelled {
    /// Stopped without a rollback (`force`).
    Stopped(Deployment),
    /// Rolled back by a new deployment.
    RolledBack {
        changed: Changed,
        cancelled: Deployment,
    },
}

impl Services {
    pub async fn cancel_deployment(&self, id: &str, force: bool) -> Result<Cancelled, OpError> {
        let version = self.next_version();
        let mut world = self.world.lock().await;
        let deployment = world
            .deployments
            .get(id)
            .cloned()
            .ok_or_else(|| unknown_deployment(id))?;
        if force {
            let mut batch = Batch::new();
            batch.delete_deployment(id);
            self.store.apply(batch).await?;
            world.deployments.remove(id);
            self.publish(Event::deployment_ended(
                &Plan::of(&deployment, &world),
                Some("stopped by DELETE /v2/deployments with force"),
            ));
            drop(world);
            self.changed(false);
            return Ok(Cancelled::Stopped(deployment));
        }
        let set = revert(&world, &deployment, version);
        // The rollback takes over the deployment's apps, which cancels it.
        let deployment_id = self
            .commit_and_wake(world, set, version, true, true)
            .await?;
        Ok(Cancelled::RolledBack {
            changed: Changed {
                created: false,
                version,
                deployment_id,
            },
            cancelled: deployment,
        })
    }
}

/// The change that undoes `deployment` on the apps as they are now (Marathon's
/// `DeploymentPlanReverter`): an app it created is deleted, one it deleted comes back, one it
/// changed gets its old definition back. A restored app keeps its old configuration version,
/// so its tasks of that version are current again and only the newer ones are replaced.
pub(crate) fn revert(world: &World, deployment: &Deployment, version: Timestamp) -> ChangeSet {
    let mut set = ChangeSet {
        rollback_of: Some(deployment.id.clone()),
        ..ChangeSet::default()
    };
    for app_id in &deployment.affected_apps {
        let now = world.apps.get(app_id);
        match (deployment.original_of(app_id), now) {
            (None, Some(created)) => set.deletes.push(created.clone()),
            (None, None) => {}
            (Some(old), now) => {
                let restored = App {
                    version,
                    version_info: Some(VersionInfo {
                        last_scaling_at: version,
                        last_config_change_at: old.config_version(),
                    }),
                    ..old.clone()
                };
                let change = match now {
                    None => Some(Change::Create),
                    Some(now) if now.same_definition(&restored) => None,
                    Some(now) if now.config_version() == old.config_version() => {
                        Some(Change::Scale)
                    }
                    Some(_) => Some(Change::Restart),
                };
                set.puts.push(Prepared {
                    app: restored,
                    change,
                    previous: now.cloned(),
                });
            }
        }
    }
    set
}

pub fn unknown_deployment(id: &str) -> OpError {
    OpError::NotFound(format!("DeploymentPlan {id} does not exist"))
}
