//! The changes the API makes to apps: create, update (whole or partial, one app or many),
//! roll back, restart, delete, and kill tasks. Each is validated, checked against the
//! deployments that lock the app, stored in one batch, then applied to the world; the
//! scheduler driver is woken to act on it.

pub(crate) mod commit;
pub mod groups;
pub mod kill;
pub mod rollback;

use serde_json::{Map, Value};

use crate::deployments::Change;
use crate::model::App;
use crate::model::strategy::VersionInfo;
use crate::op_error::{OpError, unknown_app};
use crate::parse::merge::{VERSION_ONLY_WITH_ID, merge_update, rollback_version};
use crate::parse::reader::NOT_AN_OBJECT;
use crate::parse::{ParseContext, parse_app};
use crate::path_id::PathId;
use crate::services::Services;
use crate::stored_form::stored_form;
use crate::tasks::TaskRecord;
use crate::time::Timestamp;
use crate::validation::{Violations, element};
use commit::{ChangeSet, Prepared, prepare};

/// Marks a kill that the driver has not sent yet (it sends kills whose request is older than
/// the retry interval, and this is older than any).
pub const KILL_NOT_SENT: u64 = 0;

/// A created app: as parsed (no `versionInfo`, service ports as asked, as Marathon answers a
/// POST), and its deployment.
pub struct Created {
    pub app: App,
    pub deployment_id: String,
}

/// An applied change: its version and deployment, and whether an app was created.
pub struct Changed {
    pub created: bool,
    pub version: Timestamp,
    pub deployment_id: String,
}

/// A killed task, as the API shows it, or the scale deployment it caused.
pub enum Killed {
    Tasks(Vec<TaskRecord>),
    Scaled(Changed),
}

impl Services {
    fn parse_context(&self, version: Timestamp) -> ParseContext {
        ParseContext {
            framework_role: self.config.role.clone(),
            version,
        }
    }

    pub async fn create_app(&self, body: &Value, force: bool) -> Result<Created, OpError> {
        let version = self.next_version();
        let app = parse_app(body, &self.parse_context(version)).map_err(OpError::Invalid)?;
        let world = self.world.lock().await;
        if world.apps.contains_key(&app.id) {
            return Err(OpError::Conflict(format!(
                "An app with id [{}] already exists.",
                app.id
            )));
        }
        let stored = stored_form(&world, app.clone(), None)?;
        let set = ChangeSet {
            puts: vec![Prepared {
                app: stored,
                change: Some(Change::Create),
                previous: None,
            }],
            ..ChangeSet::default()
        };
        let deployment_id = self
            .commit_and_wake(world, set, version, force, true)
            .await?;
        Ok(Created { app, deployment_id })
    }

    /// `PUT`/`PATCH /v2/apps/{id}`: creates the app when it is missing and `allow_create`.
    pub async fn update_app(
        &self,
        id: &str,
        body: &Value,
        partial: bool,
        force: bool,
        allow_create: bool,
    ) -> Result<Changed, OpError> {
        let path = PathId::parse(id);
        let Some(update) = body.as_object() else {
            let mut v = Violations::new();
            v.add("/", NOT_AN_OBJECT);
            return Err(OpError::Invalid(v));
        };
        let version = self.next_version();
        let rollback = match rollback_version(update) {
            None => None,
            Some(Err(())) => {
                let mut v = Violations::new();
                v.add("/", VERSION_ONLY_WITH_ID);
                return Err(OpError::Invalid(v));
            }
            Some(Ok(text)) => {
                let at = Timestamp::parse(text).ok_or_else(|| {
                    OpError::BadRequest(format!("'{text}' is not a valid version"))
                })?;
                let old = self
                    .store
                    .version(&path.to_string(), at)
                    .await?
                    .ok_or_else(|| {
                        OpError::NotFound(format!("App '{path}' does not exist in version {at}"))
                    })?;
                Some(old)
            }
        };
        let world = self.world.lock().await;
        let existing = world.apps.get(&path.to_string()).cloned();
        if existing.is_none() && !allow_create {
            return Err(unknown_app(&path.to_string()));
        }
        let created = existing.is_none();
        let prepared = match rollback {
            Some(old) => {
                let app = App {
                    version,
                    version_info: None,
                    ..old
                };
                prepare(&world, app, existing.as_ref())?
            }
            None => {
                let app = self.parse_update(&path, update, partial, existing.as_ref(), version)?;
                prepare(&world, app, existing.as_ref())?
            }
        };
        let version = prepared.app.version;
        let deployment_id = self
            .commit_and_wake(world, one(prepared), version, force, true)
            .await?;
        Ok(Changed {
            created,
            version,
            deployment_id,
        })
    }

    /// `PUT`/`PATCH /v2/apps`: many apps in one deployment; every body names its `id`.
    /// Missing apps are created only when `allow_create` (`PUT`).
    pub async fn update_apps(
        &self,
        body: &Value,
        partial: bool,
        force: bool,
        allow_create: bool,
    ) -> Result<Changed, OpError> {
        let mut v = Violations::new();
        let Some(items) = body.as_array() else {
            v.add("/", "must be an array of apps");
            return Err(OpError::Invalid(v));
        };
        let version = self.next_version();
        let world = self.world.lock().await;
        let mut batch: Vec<Prepared> = Vec::new();
        let mut created = false;
        for (i, item) in items.iter().enumerate() {
            let prefix = element("", i);
            let Some(update) = item.as_object() else {
                v.add(&prefix, NOT_AN_OBJECT);
                continue;
            };
            let Some(id) = update.get("id").and_then(Value::as_str) else {
                v.add(&format!("{prefix}/id"), "is required");
                continue;
            };
            let path = PathId::parse(id);
            let existing = world.apps.get(&path.to_string()).cloned();
            if existing.is_none() && !allow_create {
                return Err(unknown_app(&path.to_string()));
            }
            created |= existing.is_none();
            let result = self
                .parse_update(&path, update, partial, existing.as_ref(), version)
                .and_then(|app| prepare(&world, app, existing.as_ref()));
            match result {
                Ok(p) => batch.push(p),
                Err(OpError::Invalid(inner)) => {
                    for (path, error) in inner.iter() {
                        let path = if path == "/" {
                            String::new()
                        } else {
                            path.to_string()
                        };
                        v.add(&format!("{prefix}{path}"), error);
                    }
                }
                Err(other) => return Err(other),
            }
        }
        if !v.is_empty() {
            return Err(OpError::Invalid(v));
        }
        let set = ChangeSet {
            puts: batch,
            ..ChangeSet::default()
        };
        let deployment_id = self
            .commit_and_wake(world, set, version, force, true)
            .await?;
        Ok(Changed {
            created,
            version,
            deployment_id,
        })
    }

    /// `POST /v2/apps/{id}/restart`: a new configuration version, so every task is replaced.
    pub async fn restart_app(&self, id: &str, force: bool) -> Result<Changed, OpError> {
        let version = self.next_version();
        let world = self.world.lock().await;
        let id = PathId::parse(id).to_string();
        let existing = world
            .apps
            .get(&id)
            .cloned()
            .ok_or_else(|| unknown_app(&id))?;
        let app = App {
            version,
            version_info: Some(VersionInfo {
                last_scaling_at: version,
                last_config_change_at: version,
            }),
            ..existing.clone()
        };
        let prepared = Prepared {
            app,
            change: Some(Change::Restart),
            previous: Some(existing),
        };
        let deployment_id = self
            .commit_and_wake(world, one(prepared), version, force, true)
            .await?;
        Ok(Changed {
            created: false,
            version,
            deployment_id,
        })
    }

    /// `DELETE /v2/apps/{id}`: the app goes, its tasks are killed and never replaced.
    pub async fn delete_app(&self, id: &str, force: bool) -> Result<Changed, OpError> {
        let version = self.next_version();
        let id = PathId::parse(id).to_string();
        let world = self.world.lock().await;
        let app = world
            .apps
            .get(&id)
            .cloned()
            .ok_or_else(|| unknown_app(&id))?;
        let set = ChangeSet {
            deletes: vec![app],
            ..ChangeSet::default()
        };
        let deployment_id = self
            .commit_and_wake(world, set, version, force, false)
            .await?;
        Ok(Changed {
            created: false,
            version,
            deployment_id,
        })
    }

    /// The app a (partial or whole) update makes, parsed and validated.
    fn parse_update(
        &self,
        path: &PathId,
        update: &Map<String, Value>,
        partial: bool,
        existing: Option<&App>,
        version: Timestamp,
    ) -> Result<App, OpError> {
        let body = match existing {
            Some(existing) if partial => merge_update(existing, update),
            _ => {
                let mut whole = update.clone();
                whole.insert("id".into(), Value::String(path.to_string()));
                Value::Object(whole)
            }
        };
        parse_app(&body, &self.parse_context(version)).map_err(OpError::Invalid)
    }
}

/// A change set of one app.
fn one(prepared: Prepared) -> ChangeSet {
    ChangeSet {
        puts: vec![prepared],
        ..ChangeSet::default()
    }
}

#[cfg(test)]
mod tests;
