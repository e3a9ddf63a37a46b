//! What operators may do to frameworks and tasks: TEARDOWN (Mesos' operator call, as
//! `src/master/http.cpp` `_teardown` answers it) and KILL_TASK (a Corral extension: Mesos
//! has no operator call that kills one task, so `corral task kill` would otherwise need the
//! framework's own subscription).

use corral_api::scheduler::Kill;
use corral_api::v1::{FrameworkId, TaskId};

use super::core::MasterCore;
use super::core_error::CoreError;

impl MasterCore {
    /// Removes a framework as if it had torn itself down: its tasks are killed.
    pub fn operator_teardown(&mut self, now_ms: u64, id: &FrameworkId) -> Result<(), CoreError> {
        if !self.frameworks.contains_key(id) {
            return Err(CoreError::invalid("No framework found with specified ID"));
        }
        self.remove_framework(now_ms, id, "an operator tore it down");
        Ok(())
    }

    /// Asks the task's agent to kill it; the framework then hears TASK_KILLED as usual.
    /// Without `framework_id`, the task id must name one live task.
    pub fn operator_kill(
        &mut self,
        now_ms: u64,
        framework_id: Option<&FrameworkId>,
        task_id: &TaskId,
    ) -> Result<(), CoreError> {
        let owners: Vec<FrameworkId> = self
            .frameworks
            .iter()
            .filter(|(id, _)| framework_id.is_none_or(|f| f == *id))
            .filter(|(_, f)| f.tasks.contains_key(task_id))
            .map(|(id, _)| id.clone())
            .collect();
        let owner = match owners.as_slice() {
            [] => {
                return Err(CoreError::not_found(format!(
                    "No live task '{task_id}' is known to the master"
                )));
            }
            [one] => one.clone(),
            several => {
                let names: Vec<&str> = several.iter().map(|f| f.value.as_str()).collect();
                return Err(CoreError::invalid(format!(
                    "Task id '{task_id}' is used by several frameworks ({}): name one in \
                     'kill_task.framework_id'",
                    names.join(", ")
                )));
            }
        };
        let record = self
            .frameworks
            .get(&owner)
            .and_then(|f| f.tasks.get(task_id))
            .ok_or_else(|| CoreError::not_found(format!("No live task '{task_id}'")))?;
        if record.task.state.is_terminal() {
            return Err(CoreError::conflict(format!(
                "Task '{task_id}' has already ended ({})",
                record.task.state.as_str()
            )));
        }
        let kill = Kill {
            task_id: task_id.clone(),
            agent_id: Some(record.task.agent_id.clone()),
            kill_policy: None,
        };
        self.kill(now_ms, &owner, kill);
        Ok(())
    }
}
