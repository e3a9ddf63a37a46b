//! What `corral execute` knows about its tasks: which are launched, where, in what state;
//! the progress line for each state change, and the summary at the end.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use crate::cli::table::Table;
use corral_api::v1::{AgentId, TaskId, TaskState, TaskStatus};

#[derive(Debug, Clone)]
pub struct TaskRecord {
    pub name: String,
    pub id: TaskId,
    pub agent_id: Option<AgentId>,
    /// `None` until launched.
    pub state: Option<TaskState>,
    pub last_status: Option<TaskStatus>,
    running_since: Option<Instant>,
    kill_sent: bool,
}

impl TaskRecord {
    fn is_terminal(&self) -> bool {
        self.state.is_some_and(TaskState::is_terminal)
    }
}

/// What an update meant for the tracked tasks.
#[derive(Debug, PartialEq)]
pub enum Applied {
    /// Not one of ours (a stale task of an earlier run, or a typo in a reconcile).
    Unknown,
    /// A repeat of the state we already had.
    Unchanged,
    /// A new state; the line to print.
    Changed(String),
}

pub struct Tracker {
    tasks: Vec<TaskRecord>,
    index: HashMap<String, usize>,
}

impl Tracker {
    /// `instances` tasks named `<name>-<i>` (from 1) with ids `<name>-<i>-<short uuid>`.
    pub fn new(name: &str, instances: usize) -> Self {
        let tasks: Vec<TaskRecord> = (1..=instances)
            .map(|i| {
                let uuid = uuid::Uuid::new_v4().simple().to_string();
                TaskRecord {
                    name: format!("{name}-{i}"),
                    id: TaskId::new(format!("{name}-{i}-{}", &uuid[..8])),
                    agent_id: None,
                    state: None,
                    last_status: None,
                    running_since: None,
                    kill_sent: false,
                }
            })
            .collect();
        let index = tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.id.value.clone(), i))
            .collect();
        Tracker { tasks, index }
    }

    pub fn task(&self, i: usize) -> &TaskRecord {
        &self.tasks[i]
    }

    /// Indices of tasks not launched yet, at most `limit`.
    pub fn unlaunched(&self, limit: usize) -> Vec<usize> {
        (0..self.tasks.len())
            .filter(|i| self.tasks[*i].state.is_none())
            .take(limit)
            .collect()
    }

    pub fn unlaunched_count(&self) -> usize {
        self.tasks.iter().filter(|t| t.state.is_none()).count()
    }

    pub fn mark_launched(&mut self, i: usize, agent_id: AgentId) {
        let task = &mut self.tasks[i];
        task.agent_id = Some(agent_id);
        task.state = Some(TaskState::TaskStaging);
    }

    /// Undoes `mark_launched` when the master refused the ACCEPT outright.
    pub fn mark_unlaunched(&mut self, i: usize) {
        let task = &mut self.tasks[i];
        if task.state == Some(TaskState::TaskStaging) && task.last_status.is_none() {
            task.state = None;
            task.agent_id = None;
        }
    }

    pub fn agent_of(&self, task_id: &TaskId) -> Option<AgentId> {
        let i = *self.index.get(&task_id.value)?;
        self.tasks[i].agent_id.clone()
    }

    pub fn apply(&mut self, status: &TaskStatus, now: Instant) -> Applied {
        let Some(&i) = self.index.get(&status.task_id.value) else {
            return Applied::Unknown;
        };
        let task = &mut self.tasks[i];
        // A terminal state is final: a late duplicate of an earlier state must not undo it.
        if task.is_terminal() || task.state == Some(status.state) {
            return Applied::Unchanged;
        }
        task.state = Some(status.state);
        task.last_status = Some(status.clone());
        if let Some(agent) = &status.agent_id {
            task.agent_id = Some(agent.clone());
        }
        if status.state == TaskState::TaskRunning && task.running_since.is_none() {
            task.running_since = Some(now);
        }
        Applied::Changed(progress_line(&task.id, status))
    }

    /// Every task has reached a terminal state.
    pub fn all_terminal(&self) -> bool {
        self.tasks.iter().all(TaskRecord::is_terminal)
    }

    /// Tasks running for at least `after` that have not been asked to die yet; marks them
    /// asked, so each is killed once.
    pub fn due_for_kill(
        &mut self,
        after: Duration,
        now: Instant,
    ) -> Vec<(TaskId, Option<AgentId>)> {
        let mut due = Vec::new();
        for task in &mut self.tasks {
            let running_long_enough = task
                .running_since
                .is_some_and(|since| now.duration_since(since) >= after);
            if running_long_enough && !task.kill_sent && !task.is_terminal() {
                task.kill_sent = true;
                due.push((task.id.clone(), task.agent_id.clone()));
            }
        }
        due
    }

    /// The summary lines and whether every task finished.
    pub fn summary(&self, elapsed: Duration) -> (String, bool) {
        let mut counts: BTreeMap<(u8, String), usize> = BTreeMap::new();
        for task in &self.tasks {
            let key = match task.state {
                Some(TaskState::TaskFinished) => (0, "TASK_FINISHED".to_string()),
                Some(state) => (1, state.as_str().to_string()),
                None => (2, "not launched".to_string()),
            };
            *counts.entry(key).or_default() += 1;
        }
        let parts: Vec<String> = counts
            .iter()
            .map(|((_, label), n)| format!("{n} {label}"))
            .collect();
        let mut text = format!(
            "{} task{} in {:.2}s: {}\n",
            self.tasks.len(),
            if self.tasks.len() == 1 { "" } else { "s" },
            elapsed.as_secs_f64(),
            parts.join(", ")
        );
        let mut failed = Table::headless();
        for task in &self.tasks {
            if task.state == Some(TaskState::TaskFinished) {
                continue;
            }
            let status = task.last_status.as_ref();
            failed.row([
                task.id.value.clone(),
                task.state
                    .map_or("not launched", TaskState::as_str)
                    .to_string(),
                status.and_then(|s| s.reason.clone()).unwrap_or_default(),
                status.and_then(|s| s.message.clone()).unwrap_or_default(),
            ]);
        }
        let success = failed.is_empty();
        if !success {
            text.push_str("Tasks that did not finish:\n");
            text.push_str(&failed.render("  "));
        }
        (text, success)
    }
}

/// `<task id>  <STATE>  <message>`, one line per state change.
pub fn progress_line(task_id: &TaskId, status: &TaskStatus) -> String {
    let message = status
        .message
        .as_deref()
        .map(|m| m.trim())
        .filter(|m| !m.is_empty())
        .map(|m| format!("  {}", m.replace('\n', " ")))
        .unwrap_or_default();
    format!("{}  {}{message}", task_id.value, status.state)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(task: &TaskId, state: TaskState, message: &str) -> TaskStatus {
        TaskStatus {
            task_id: task.clone(),
            state,
            message: (!message.is_empty()).then(|| message.to_string()),
            agent_id: Some(AgentId::new("a-1")),
            ..Default::default()
        }
    }

    #[test]
    fn names_and_ids_follow_the_pattern() {
        let tracker = Tracker::new("batch", 3);
        let first = tracker.task(0);
        assert_eq!(first.name, "batch-1");
        assert!(first.id.value.starts_with("batch-1-"), "{}", first.id);
        assert_eq!(first.id.value.len(), "batch-1-".len() + 8);
        assert_ne!(tracker.task(1).id, tracker.task(2).id);
        assert_eq!(tracker.unlaunched(2), vec![0, 1]);
    }

    #[test]
    fn a_line_per_state_change_and_terminal_states_stick() {
        let mut tracker = Tracker::new("t", 1);
        let id = tracker.task(0).id.clone();
        tracker.mark_launched(0, AgentId::new("a-1"));
        let now = Instant::now();
        assert_eq!(
            tracker.apply(&status(&id, TaskState::TaskRunning, ""), now),
            Applied::Changed(format!("{id}  TASK_RUNNING"))
        );
        assert_eq!(
            tracker.apply(&status(&id, TaskState::TaskRunning, ""), now),
            Applied::Unchanged
        );
        assert_eq!(
            tracker.apply(
                &status(&id, TaskState::TaskFailed, "Command exited with status 3\n"),
                now
            ),
            Applied::Changed(format!("{id}  TASK_FAILED  Command exited with status 3"))
        );
        assert_eq!(
            tracker.apply(&status(&id, TaskState::TaskRunning, ""), now),
            Applied::Unchanged,
            "a late duplicate does not revive a failed task"
        );
        assert!(tracker.all_terminal());
        let stranger = TaskId::new("someone-else");
        assert_eq!(
            tracker.apply(&status(&stranger, TaskState::TaskRunning, ""), now),
            Applied::Unknown
        );
    }

    #[test]
    fn summary_counts_states_and_lists_what_did_not_finish() {
        let mut tracker = Tracker::new("t", 4);
        let now = Instant::now();
        for i in 0..3 {
            tracker.mark_launched(i, AgentId::new("a-1"));
        }
        let ids: Vec<TaskId> = (0..4).map(|i| tracker.task(i).id.clone()).collect();
        tracker.apply(&status(&ids[0], TaskState::TaskFinished, ""), now);
        tracker.apply(&status(&ids[1], TaskState::TaskFinished, ""), now);
        let mut failed = status(
            &ids[2],
            TaskState::TaskFailed,
            "Command exited with status 1",
        );
        failed.reason = Some("REASON_COMMAND_EXECUTOR_FAILED".into());
        tracker.apply(&failed, now);

        let (text, success) = tracker.summary(Duration::from_millis(1500));
        assert!(!success);
        assert!(
            text.starts_with("4 tasks in 1.50s: 2 TASK_FINISHED, 1 TASK_FAILED, 1 not launched\n"),
            "{text}"
        );
        assert!(text.contains(&format!(
            "  {}  TASK_FAILED   REASON_COMMAND_EXECUTOR_FAILED  Command exited with status 1\n",
            ids[2]
        )), "{text}");
        assert!(
            text.contains(&format!("  {}  not launched\n", ids[3])),
            "{text}"
        );
    }

    #[test]
    fn all_finished_is_a_success() {
        let mut tracker = Tracker::new("t", 2);
        for i in 0..2 {
            tracker.mark_launched(i, AgentId::new("a-1"));
            let id = tracker.task(i).id.clone();
            tracker.apply(&status(&id, TaskState::TaskFinished, ""), Instant::now());
        }
        let (text, success) = tracker.summary(Duration::from_secs(2));
        assert!(success);
        assert_eq!(text, "2 tasks in 2.00s: 2 TASK_FINISHED\n");
    }

    #[test]
    fn kill_after_picks_tasks_running_long_enough_once() {
        let mut tracker = Tracker::new("t", 2);
        let start = Instant::now();
        for i in 0..2 {
            tracker.mark_launched(i, AgentId::new("a-1"));
        }
        let first = tracker.task(0).id.clone();
        tracker.apply(&status(&first, TaskState::TaskRunning, ""), start);
        let after = Duration::from_secs(5);
        assert!(
            tracker
                .due_for_kill(after, start + Duration::from_secs(4))
                .is_empty()
        );
        let due = tracker.due_for_kill(after, start + Duration::from_secs(5));
        assert_eq!(due, vec![(first, Some(AgentId::new("a-1")))]);
        assert!(
            tracker
                .due_for_kill(after, start + Duration::from_secs(9))
                .is_empty()
        );
    }

    #[test]
    fn a_refused_launch_goes_back_to_the_queue() {
        let mut tracker = Tracker::new("t", 2);
        tracker.mark_launched(0, AgentId::new("a-1"));
        assert_eq!(tracker.unlaunched_count(), 1);
        tracker.mark_unlaunched(0);
        assert_eq!(tracker.unlaunched(5), vec![0, 1]);
    }
}
