//! The authorizable actions, under their `--acls` names, with the name of the object each
//! ACL of that action lists (apache/mesos include/mesos/authorizer/acls.proto; Corral's own
//! actions after them).

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    RegisterFrameworks,
    RunTasks,
    TeardownFrameworks,
    ReserveResources,
    UnreserveResources,
    GetQuotas,
    UpdateQuotas,
    ViewRoles,
    UpdateWeights,
    GetEndpoints,
    ViewFrameworks,
    ViewTasks,
    ViewExecutors,
    AccessSandboxes,
    AccessMesosLogs,
    ViewFlags,
    SetLogLevel,
    MarkAgentsGone,
    InstallPlugins,
    ActivatePlugins,
    SwapAllocator,
    ManageApps,
    ViewApps,
    ManageJobs,
    ViewUi,
}

impl Action {
    pub const ALL: [Action; 25] = [
        Action::RegisterFrameworks,
        Action::RunTasks,
        Action::TeardownFrameworks,
        Action::ReserveResources,
        Action::UnreserveResources,
        Action::GetQuotas,
        Action::UpdateQuotas,
        Action::ViewRoles,
        Action::UpdateWeights,
        Action::GetEndpoints,
        Action::ViewFrameworks,
        Action::ViewTasks,
        Action::ViewExecutors,
        Action::AccessSandboxes,
        Action::AccessMesosLogs,
        Action::ViewFlags,
        Action::SetLogLevel,
        Action::MarkAgentsGone,
        Action::InstallPlugins,
        Action::ActivatePlugins,
        Action::SwapAllocator,
        Action::ManageApps,
        Action::ViewApps,
        Action::ManageJobs,
        Action::ViewUi,
    ];

    /// How many actions there are (for tables indexed by [`Action::index`]).
    pub const COUNT: usize = Action::ALL.len();

    /// The action's place in [`Action::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The action's key in an `--acls` document.
    pub fn name(self) -> &'static str {
        match self {
            Action::RegisterFrameworks => "register_frameworks",
            Action::RunTasks => "run_tasks",
            Action::TeardownFrameworks => "teardown_frameworks",
            Action::ReserveResources => "reserve_resources",
            Action::UnreserveResources => "unreserve_resources",
            Action::GetQuotas => "get_quotas",
            Action::UpdateQuotas => "update_quotas",
            Action::ViewRoles => "view_roles",
            Action::UpdateWeights => "update_weights",
            Action::GetEndpoints => "get_endpoints",
            Action::ViewFrameworks => "view_frameworks",
            Action::ViewTasks => "view_tasks",
            Action::ViewExecutors => "view_executors",
            Action::AccessSandboxes => "access_sandboxes",
            Action::AccessMesosLogs => "access_mesos_logs",
            Action::ViewFlags => "view_flags",
            Action::SetLogLevel => "set_log_level",
            Action::MarkAgentsGone => "mark_agents_gone",
            Action::InstallPlugins => "install_plugins",
            Action::ActivatePlugins => "activate_plugins",
            Action::SwapAllocator => "swap_allocator",
            Action::ManageApps => "manage_apps",
            Action::ViewApps => "view_apps",
            Action::ManageJobs => "manage_jobs",
            Action::ViewUi => "view_ui",
        }
    }

    /// The name of the object entity in this action's ACLs (`roles`, `users`, ...). Actions
    /// with an implicit object (`logs`, `flags`, `level`, `ui`) take ANY or NONE there.
    pub fn object_field(self) -> &'static str {
        match self {
            Action::RegisterFrameworks
            | Action::ReserveResources
            | Action::GetQuotas
            | Action::UpdateQuotas
            | Action::ViewRoles
            | Action::UpdateWeights => "roles",
            Action::RunTasks
            | Action::ViewFrameworks
            | Action::ViewTasks
            | Action::ViewExecutors
            | Action::AccessSandboxes => "users",
            Action::TeardownFrameworks => "framework_principals",
            Action::UnreserveResources => "reserver_principals",
            Action::GetEndpoints => "paths",
            Action::AccessMesosLogs => "logs",
            Action::ViewFlags => "flags",
            Action::SetLogLevel => "level",
            Action::MarkAgentsGone => "agents",
            Action::InstallPlugins | Action::ActivatePlugins => "plugins",
            Action::SwapAllocator => "allocators",
            Action::ManageApps | Action::ViewApps => "apps",
            Action::ManageJobs => "jobs",
            Action::ViewUi => "ui",
        }
    }

    /// Whether this action's objects are Marathon path ids (`/team-a/web`) matched as a tree:
    /// an ACL value covers that path and everything under it, as DC/OS's
    /// `dcos:service:marathon:marathon:services:/team-a` permission does.
    pub fn objects_are_paths(self) -> bool {
        matches!(self, Action::ManageApps | Action::ViewApps)
    }

    /// The action an `--acls` key names; `set_quotas` is the older name of `update_quotas`.
    pub fn from_name(name: &str) -> Option<Action> {
        if name == "set_quotas" {
            return Some(Action::UpdateQuotas);
        }
        Action::ALL.into_iter().find(|a| a.name() == name)
    }
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_action_indexes_its_place_in_all_and_reads_back_by_name() {
        for (place, action) in Action::ALL.into_iter().enumerate() {
            assert_eq!(action.index(), place, "{action}");
            assert_eq!(Action::from_name(action.name()), Some(action));
        }
    }
}
