//! Where the master asks its authorizer (`--acls`, Mesos' local authorizer): who may register
//! with which roles, run tasks as which users, tear down whose frameworks, change weights,
//! quotas and reservations, mark agents gone, and install, activate or swap plugins. A refusal
//! is a 403 naming the action; a task refused `run_tasks` ends TASK_ERROR
//! (REASON_TASK_UNAUTHORIZED). The decision is made outside the core's lock; an authorizer
//! plugin, when one is active, is asked after the ACLs (`authorizers.rs`).

use std::sync::Arc;

use corral_api::operator::OperatorCallType;
use corral_api::operator_roles::OperatorCallPayload;
use corral_api::v1::{FrameworkId, FrameworkInfo, Resource, TaskInfo};
use corral_authz::{Action, Authorizer, Denied, Request};
use corral_http::error::ApiError;

use super::shell::Shared;

/// The actions the master asks its authorizer about; ACLs for others are refused at start.
pub const ENFORCED: [Action; 19] = [
    Action::RegisterFrameworks,
    Action::RunTasks,
    Action::TeardownFrameworks,
    Action::UpdateWeights,
    Action::UpdateQuotas,
    Action::ReserveResources,
    Action::UnreserveResources,
    Action::MarkAgentsGone,
    Action::InstallPlugins,
    Action::ActivatePlugins,
    Action::SwapAllocator,
    // What a caller may view: lists are filtered (`view_filter.rs`), GET_FLAGS refused.
    Action::ViewFrameworks,
    Action::ViewTasks,
    Action::ViewExecutors,
    Action::ViewRoles,
    Action::GetQuotas,
    Action::ViewFlags,
    // The process itself: SET_LOGGING_LEVEL, and Mesos' authorizable endpoints the master
    // serves (`/metrics/snapshot`; Corral's `/metrics` likewise).
    Action::SetLogLevel,
    Action::GetEndpoints,
];

impl Shared {
    /// What a request must pass now: the ACLs, then the authorizer plugin if one is active.
    pub fn authorizer(&self) -> Arc<dyn Authorizer> {
        self.authorizers.current()
    }

    /// Sets the local authorizer (`--acls`), at start.
    pub fn set_authorizer(&self, authorizer: Arc<dyn Authorizer>) {
        self.authorizers.set_acls(authorizer);
    }

    /// `action` on `object` by `subject`, or a 403 naming the action.
    pub fn authorize(
        &self,
        subject: Option<&str>,
        action: Action,
        object: Option<&str>,
    ) -> Result<(), ApiError> {
        self.authorizer()
            .authorize(&Request {
                subject,
                action,
                object,
            })
            .map_err(refused)
    }

    /// A framework may register with each of its roles.
    pub fn authorize_registration(
        &self,
        subject: Option<&str>,
        info: &FrameworkInfo,
    ) -> Result<(), ApiError> {
        let mut roles: Vec<&str> = info.roles.iter().map(String::as_str).collect();
        if let Some(role) = info.role.as_deref() {
            roles.push(role);
        }
        if roles.is_empty() {
            roles.push("*");
        }
        self.authorizer()
            .authorize_all(subject, Action::RegisterFrameworks, &roles)
            .map_err(refused)
    }

    /// An operator call's action on its objects (the calls that only read are filtered in
    /// their answers, not refused).
    pub fn authorize_operator_call(
        &self,
        subject: Option<&str>,
        kind: OperatorCallType,
        payload: &OperatorCallPayload,
    ) -> Result<(), ApiError> {
        let all = |action: Action, objects: Vec<&str>| {
            self.authorizer()
                .authorize_all(subject, action, &objects)
                .map_err(refused)
        };
        match kind {
            OperatorCallType::UpdateWeights => all(
                Action::UpdateWeights,
                payload
                    .update_weights
                    .iter()
                    .flat_map(|w| &w.weight_infos)
                    .map(|w| w.role.as_deref().unwrap_or("*"))
                    .collect(),
            ),
            OperatorCallType::UpdateQuota => all(
                Action::UpdateQuotas,
                payload
                    .update_quota
                    .iter()
                    .flat_map(|q| &q.quota_configs)
                    .map(|q| q.role.as_str())
                    .collect(),
            ),
            OperatorCallType::ReserveResources => all(
                Action::ReserveResources,
                payload
                    .reserve_resources
                    .iter()
                    .flat_map(|r| &r.resources)
                    .map(reservation_role)
                    .collect(),
            ),
            OperatorCallType::UnreserveResources => {
                let resources = payload
                    .unreserve_resources
                    .iter()
                    .flat_map(|r| &r.resources);
                for resource in resources {
                    self.authorize(
                        subject,
                        Action::UnreserveResources,
                        reserver_principal(resource),
                    )?;
                }
                Ok(())
            }
            OperatorCallType::MarkAgentGone => {
                let agent = payload
                    .mark_agent_gone
                    .as_ref()
                    .map(|m| m.agent_id.value.as_str());
                self.authorize(subject, Action::MarkAgentsGone, agent)
            }
            OperatorCallType::Teardown => match &payload.teardown {
                Some(teardown) => self.authorize_teardown(subject, &teardown.framework_id),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// `teardown_frameworks` on the principal of the framework `id` (the operator API's
    /// TEARDOWN and v0's `POST /master/teardown`).
    pub fn authorize_teardown(
        &self,
        subject: Option<&str>,
        id: &FrameworkId,
    ) -> Result<(), ApiError> {
        let owner = self.with_core(|core, _| {
            core.frameworks
                .get(id)
                .and_then(|f| f.info.principal.clone())
        });
        self.authorize(subject, Action::TeardownFrameworks, owner.as_deref())
    }
}

/// The role a resource is reserved for (its last reservation, Mesos' refined role).
fn reservation_role(resource: &Resource) -> &str {
    resource
        .reservations
        .last()
        .map(|r| r.role.as_str())
        .or(resource.role.as_deref())
        .unwrap_or("*")
}

/// Who made the reservation a resource carries (`None`: nobody named).
fn reserver_principal(resource: &Resource) -> Option<&str> {
    resource
        .reservations
        .last()
        .and_then(|r| r.principal.as_deref())
}

/// The user a task runs as: its command's, its executor's, else its framework's.
pub fn task_user<'a>(task: &'a TaskInfo, framework_user: &'a str) -> &'a str {
    task.command
        .as_ref()
        .and_then(|c| c.user.as_deref())
        .or_else(|| {
            task.executor
                .as_ref()
                .and_then(|e| e.command.as_ref())
                .and_then(|c| c.user.as_deref())
        })
        .unwrap_or(framework_user)
}

pub(super) fn refused(denied: Denied) -> ApiError {
    tracing::info!(
        principal = denied.subject.as_deref().unwrap_or("<anonymous>"),
        action = denied.action.name(),
        object = denied.object.as_deref().unwrap_or(""),
        "refused by the authorizer"
    );
    ApiError::forbidden(denied.to_string())
}
