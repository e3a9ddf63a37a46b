//! Recovery at start, before the agent registers: every checkpointed container is looked at
//! once. A task whose supervisor still runs is reattached (its cgroups adopted, a
//! [`RecoveredTask`] tracks it); one that ended while the agent was down gets its true
//! terminal state; cgroups of ended containers and stale ones without a checkpoint are
//! removed. The registration that follows reports all of them to the master.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use super::container_checkpoint::{self, ContainerCheckpoint};
use super::http_executors::{self, Key, checkpoint as executor_checkpoint};
use super::isolators::{self, Survivor};
use super::lock;
use super::processes::ExitOutcome;
use super::recovered_task::RecoveredTask;
use super::shared::AgentShared;
use super::supervisor;
use super::task_runner::RunnerInput;
use super::tasks::{FrameworkEntry, StatusFields, TaskEntry, new_status};
use corral_api::v1::{StatusSource, TaskState, reason};
use corral_cgroups::devices::DeviceCgroup;
use corral_cgroups::{Container, Limits};
use corral_plugin_host::PluginTask;
use executor_checkpoint::ExecutorCheckpoint;

/// `--recover`: what a restarted agent does with the tasks it finds still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecoverMode {
    /// Reattach to them and keep them running (Mesos' default).
    #[default]
    Reconnect,
    /// Kill them (TASK_KILLED) and clean up their containers.
    Cleanup,
}

impl std::str::FromStr for RecoverMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "reconnect" => Ok(RecoverMode::Reconnect),
            "cleanup" => Ok(RecoverMode::Cleanup),
            other => Err(format!(
                "unknown --recover {other:?}: expected reconnect or cleanup"
            )),
        }
    }
}

impl std::fmt::Display for RecoverMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RecoverMode::Reconnect => "reconnect",
            RecoverMode::Cleanup => "cleanup",
        })
    }
}

/// How a task ended, as the agent reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ending {
    pub state: TaskState,
    pub reason: &'static str,
    pub message: String,
}

/// What to do with one checkpointed container.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// Its command still runs: track it.
    Reattach,
    /// Its terminal state was already recorded (and is pending or acknowledged).
    AlreadyEnded,
    /// It ended while the agent was down (or never started): report this.
    End(Ending),
}

/// Decides a container's fate from its checkpoint, whether its supervisor still runs, the
/// exit its supervisor recorded, and the memory limit if the OOM killer hit it.
pub fn decide(
    checkpoint: &ContainerCheckpoint,
    alive: bool,
    exit: Option<ExitOutcome>,
    memory_limit: Option<f64>,
) -> Decision {
    if checkpoint.state.is_terminal() {
        return Decision::AlreadyEnded;
    }
    if checkpoint.task.executor.is_some() {
        return Decision::End(Ending {
            state: TaskState::TaskFailed,
            reason: reason::EXECUTOR_TERMINATED,
            message: "The agent restarted and the task's executor is no longer running".into(),
        });
    }
    if checkpoint.process.is_none() {
        return Decision::End(Ending {
            state: TaskState::TaskFailed,
            reason: reason::AGENT_RESTARTED,
            message: "The agent restarted before the task's command started".into(),
        });
    }
    if alive && exit.is_none() {
        return Decision::Reattach;
    }
    Decision::End(ending(exit, checkpoint.kill_requested, memory_limit))
}

/// The terminal status of a supervised command that ended. `exit` is `None` when its
/// supervisor is gone without recording one.
pub fn ending(
    exit: Option<ExitOutcome>,
    kill_requested: bool,
    memory_limit: Option<f64>,
) -> Ending {
    if let Some(limit) = memory_limit {
        return Ending {
            state: TaskState::TaskFailed,
            reason: reason::CONTAINER_LIMITATION_MEMORY,
            message: format!("Memory limit of {limit} MB exceeded"),
        };
    }
    let Some(exit) = exit else {
        return Ending {
            state: if kill_requested {
                TaskState::TaskKilled
            } else {
                TaskState::TaskFailed
            },
            reason: reason::EXECUTOR_TERMINATED,
            message: "The task's supervisor ended without recording its exit status while \
                      the agent was down"
                .into(),
        };
    };
    let message = describe_exit(exit);
    if kill_requested {
        return Ending {
            state: TaskState::TaskKilled,
            reason: reason::EXECUTOR_TERMINATED,
            message,
        };
    }
    match exit {
        ExitOutcome {
            code: Some(0),
            signal: None,
        } => Ending {
            state: TaskState::TaskFinished,
            reason: reason::COMMAND_EXECUTOR_FAILED,
            message,
        },
        _ => Ending {
            state: TaskState::TaskFailed,
            reason: reason::COMMAND_EXECUTOR_FAILED,
            message,
        },
    }
}

/// "Command exited with status 3" / "Command terminated with signal SIGKILL", as the
/// `command` executor says it.
fn describe_exit(exit: ExitOutcome) -> String {
    match (exit.code, exit.signal) {
        (_, Some(signal)) => format!("Command terminated with signal {}", signal_name(signal)),
        (Some(code), None) => format!("Command exited with status {code}"),
        (None, None) => "Command exited with an unknown status".into(),
    }
}

fn signal_name(signal: i32) -> String {
    let name = match signal {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTERM => "SIGTERM",
        _ => return format!("signal {signal}"),
    };
    name.to_string()
}

/// The finished part of a terminal status, reported by the agent.
pub fn submit_ending(shared: &AgentShared, checkpoint_task: &ContainerCheckpoint, ending: Ending) {
    let Some(framework_id) = checkpoint_task.framework.id.clone() else {
        return;
    };
    let fields = StatusFields {
        message: Some(ending.message),
        reason: Some(ending.reason.to_string()),
        ..Default::default()
    };
    let status = new_status(
        &checkpoint_task.task.task_id,
        ending.state,
        StatusSource::SourceAgent,
        shared.agent_id(),
        fields,
    );
    shared.submit_status(&framework_id, status);
}

/// Kills what is left in a container and removes its cgroups (off the async threads).
pub async fn destroy(container: Option<Container>, what: String) {
    let Some(container) = container else {
        return;
    };
    match tokio::task::spawn_blocking(move || container.destroy()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::error!("{what}: cannot remove its cgroups: {e}"),
        Err(e) => tracing::error!("{what}: removing its cgroups panicked: {e}"),
    }
}

/// The container's memory limit if the OOM killer killed one of its processes.
pub fn memory_limit_hit(container: Option<&Container>) -> Option<f64> {
    let container = container?;
    container
        .oom_killed()
        .then(|| container.mem_limit_mb().unwrap_or(0.0))
}

/// What recovering the containers one by one gathers for the end.
#[derive(Default)]
struct Gathered {
    /// Reattached containers, for the isolator plugins.
    survivors: Vec<Survivor>,
    /// HTTP executors still running (by key), and the tasks each is adopted with.
    executors: HashMap<Key, ExecutorCheckpoint>,
    adopted: HashMap<Key, Vec<ContainerCheckpoint>>,
}

/// Recovers every checkpointed container; see the module comment.
pub async fn recover(shared: &Arc<AgentShared>) {
    let mut known = BTreeSet::new();
    let (mut reattached, mut ended) = (0, 0);
    let mut gathered = Gathered::default();
    let work_dir = &shared.config.work_dir;
    for executor in executor_checkpoint::running(work_dir) {
        if shared.config.recovery.mode == RecoverMode::Cleanup {
            executor_checkpoint::kill(work_dir, &executor, "--recover=cleanup");
            continue;
        }
        let key = (executor.framework_id.clone(), executor.executor_id.clone());
        gathered.executors.insert(key, executor);
    }
    for loaded in container_checkpoint::load_all(&shared.config.work_dir) {
        let checkpoint = match loaded {
            Ok(checkpoint) => checkpoint,
            Err(e) => {
                tracing::error!("cannot recover a container: {e}; its files are left in place");
                continue;
            }
        };
        known.insert(checkpoint.container_id.clone());
        if recover_container(shared, checkpoint, &mut gathered).await {
            reattached += 1;
        } else {
            ended += 1;
        }
    }
    if reattached + ended > 0 {
        tracing::info!(
            "recovered {reattached} running tasks and {ended} that ended (mode {})",
            shared.config.recovery.mode
        );
    }
    adopt_executors(shared, &mut gathered, &mut known);
    let survivors = gathered.survivors;
    // The isolator plugins learn which containers (GPUs) are still taken.
    if !shared.config.isolators.is_empty() {
        let isolator_set = shared.config.isolators.clone();
        let told =
            tokio::task::spawn_blocking(move || isolators::recover(&isolator_set, &survivors));
        if let Err(e) = told.await {
            tracing::error!("recovering the isolator plugins panicked: {e}");
        }
    }
    remove_stale_cgroups(shared, &known).await;
}

/// Adopts the running executors that have non-terminal tasks, each task with a runner, and
/// kills the others. Adopted executors' containers are `known` (not stale).
fn adopt_executors(
    shared: &Arc<AgentShared>,
    gathered: &mut Gathered,
    known: &mut BTreeSet<String>,
) {
    let work_dir = &shared.config.work_dir;
    for (key, executor) in gathered.executors.drain() {
        let Some(tasks) = gathered.adopted.remove(&key) else {
            executor_checkpoint::kill(work_dir, &executor, "it has no task left to recover");
            continue;
        };
        let Some(info) = tasks.iter().find_map(|t| t.task.executor.clone()) else {
            executor_checkpoint::kill(work_dir, &executor, "its tasks name no executor");
            continue;
        };
        known.insert(executor.container_id.clone());
        if !shared.config.isolators.is_empty() {
            // The executor's container holds what the plugins gave it (GPUs): still taken.
            let mut sized = tasks[0].clone();
            sized.container_id = executor.container_id.clone();
            let mut resources = info.resources.clone();
            resources.extend(sized.task.resources.iter().cloned());
            sized.task.resources = resources;
            gathered.survivors.push(survivor(work_dir, &sized, &key.0));
        }
        let infos: Vec<_> = tasks.iter().map(|t| t.task.clone()).collect();
        let ends = http_executors::recover::adopt(
            shared,
            executor,
            tasks[0].framework.clone(),
            info,
            &infos,
        );
        for ((task_id, end), checkpoint) in ends.into_iter().zip(&tasks) {
            let (runner, inbox) =
                http_executors::recovered_runner(shared.clone(), key.clone(), task_id, end);
            let entry = TaskEntry {
                framework_id: key.0.clone(),
                info: checkpoint.task.clone(),
                container_id: checkpoint.container_id.clone(),
                sandbox: checkpoint.sandbox.clone(),
                state: checkpoint.state,
                latest: None,
                runner: Some(inbox),
                process: None,
                kill_requested: checkpoint.kill_requested,
            };
            add_entry(shared, checkpoint, entry);
            lock(&shared.runners).spawn(runner);
        }
    }
}

/// Recovers one container; true if its task still runs (it joins `gathered`).
async fn recover_container(
    shared: &Arc<AgentShared>,
    checkpoint: ContainerCheckpoint,
    gathered: &mut Gathered,
) -> bool {
    let work_dir = &shared.config.work_dir;
    let Some(framework_id) = checkpoint.framework.id.clone() else {
        tracing::error!(
            "container {} has no framework id; removing it",
            checkpoint.container_id
        );
        container_checkpoint::remove(work_dir, &checkpoint.container_id);
        return false;
    };
    let task_id = checkpoint.task.task_id.clone();
    // A task of an HTTP executor that still runs: adopted with its executor.
    if let Some(info) = &checkpoint.task.executor
        && !checkpoint.state.is_terminal()
    {
        let key = (framework_id.clone(), info.executor_id.clone());
        if gathered.executors.contains_key(&key) {
            tracing::info!("recovering task {task_id} with its executor {}", key.1);
            gathered.adopted.entry(key).or_default().push(checkpoint);
            return true;
        }
    }
    let mem_mb = Limits::for_task(&checkpoint.task.resources, 0)
        .ok()
        .and_then(|l| l.mem_mb);
    let container = checkpoint.cgroup_parent.as_deref().and_then(|parent| {
        shared
            .isolator
            .adopt(parent, &checkpoint.container_id, mem_mb)
    });
    let exit = checkpoint.process.and_then(|p| {
        supervisor::read_exit(&container_checkpoint::exit_file(
            work_dir,
            &checkpoint.container_id,
            p.id,
        ))
    });
    let alive = checkpoint
        .process
        .is_some_and(|p| supervisor::is_alive(p.supervisor_pid, p.supervisor_start));
    let decision = decide(
        &checkpoint,
        alive,
        exit,
        memory_limit_hit(container.as_ref()),
    );
    tracing::info!("recovering task {task_id} of framework {framework_id}: {decision:?}");

    let cleanup = shared.config.recovery.mode == RecoverMode::Cleanup;
    let mut entry = TaskEntry {
        framework_id: framework_id.clone(),
        info: checkpoint.task.clone(),
        container_id: checkpoint.container_id.clone(),
        sandbox: checkpoint.sandbox.clone(),
        state: checkpoint.state,
        latest: None,
        runner: None,
        process: checkpoint.process,
        kill_requested: checkpoint.kill_requested || (cleanup && decision == Decision::Reattach),
    };
    let cgroup = checkpoint.cgroup_parent.as_deref().and_then(|parent| {
        shared
            .isolator
            .container_relative(parent, &checkpoint.container_id)
    });
    match (decision, checkpoint.process) {
        (Decision::Reattach, Some(process)) => {
            if !shared.config.isolators.is_empty() {
                gathered
                    .survivors
                    .push(survivor(work_dir, &checkpoint, &framework_id));
            }
            let isolation = (!shared.config.isolators.is_empty())
                .then(|| isolators::adopted(&shared.config.isolators, cgroup.as_deref()));
            let (runner, inbox) = RecoveredTask::new(
                shared.clone(),
                framework_id.clone(),
                task_id.clone(),
                checkpoint.container_id.clone(),
                process,
                container,
                entry.kill_requested,
            );
            if cleanup {
                tracing::info!("--recover=cleanup: killing task {task_id}");
                let _ = inbox.send(RunnerInput::Kill(0));
            }
            entry.runner = Some(inbox);
            add_entry(shared, &checkpoint, entry);
            let runner = runner.with_health_check(&checkpoint.task, checkpoint.sandbox.clone());
            lock(&shared.runners).spawn(runner.with_isolation(isolation).run());
            true
        }
        (Decision::End(ending), _) => {
            add_entry(shared, &checkpoint, entry);
            submit_ending(shared, &checkpoint, ending);
            destroy(container, format!("task {task_id}")).await;
            destroy_devices(cgroup.as_deref());
            false
        }
        _ => {
            add_entry(shared, &checkpoint, entry);
            destroy(container, format!("task {task_id}")).await;
            destroy_devices(cgroup.as_deref());
            false
        }
    }
}

/// A reattached container as its isolator plugins prepared it: the task they were shown
/// and the environment each plan gave it.
fn survivor(
    work_dir: &std::path::Path,
    checkpoint: &ContainerCheckpoint,
    framework_id: &corral_api::v1::FrameworkId,
) -> Survivor {
    let plans = container_checkpoint::load_isolation(work_dir, &checkpoint.container_id)
        .unwrap_or_else(|e| {
            tracing::error!("container {}: {e}", checkpoint.container_id);
            Vec::new()
        });
    Survivor {
        container_id: checkpoint.container_id.clone(),
        task: PluginTask::new(
            checkpoint.task.clone(),
            &framework_id.value,
            &checkpoint.container_id,
            &checkpoint.sandbox.display().to_string(),
        ),
        plans,
    }
}

/// The devices cgroup an isolator plan made for an ended container (the other cgroups go
/// with [`destroy`]).
fn destroy_devices(cgroup: Option<&std::path::Path>) {
    if let Some(devices) = cgroup.and_then(DeviceCgroup::adopt) {
        devices.destroy();
    }
}

/// Puts a recovered task (and its framework) in the agent's table and checkpoints it.
fn add_entry(shared: &AgentShared, checkpoint: &ContainerCheckpoint, entry: TaskEntry) {
    let framework_id = entry.framework_id.clone();
    let task_id = entry.info.task_id.clone();
    let mut table = lock(&shared.tasks);
    table
        .frameworks
        .entry(framework_id.clone())
        .or_insert_with(|| FrameworkEntry {
            info: checkpoint.framework.clone(),
            shutting_down: false,
        });
    table
        .tasks
        .insert((framework_id.clone(), task_id.clone()), entry);
    shared.checkpoint_container(&table, &framework_id, &task_id);
}

/// Removes this agent's container cgroups that no checkpoint names (left by a crash between
/// creating a container and checkpointing it, or by an older agent).
async fn remove_stale_cgroups(shared: &AgentShared, known: &BTreeSet<String>) {
    let parent = shared.cgroup_name();
    let mut stale = BTreeSet::new();
    for path in shared.isolator.containers_left(&parent) {
        if let Some(name) = path.file_name().and_then(|n| n.to_str())
            && !known.contains(name)
        {
            stale.insert(name.to_string());
        }
    }
    for name in stale {
        tracing::info!("removing the stale container cgroup {name}");
        let container = shared.isolator.adopt(&parent, &name, None);
        destroy(container, format!("stale container {name}")).await;
    }
}

#[cfg(test)]
#[path = "recovery_tests.rs"]
mod tests;
