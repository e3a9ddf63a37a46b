//! Recovery at start, before the agent registers: every checkpointed container is looked at
//! once. A task whose supervisor still runs is reattached (its cgroups adopted, a
//! [`RecoveredTask`] tracks it); one that ended while the agent was down gets its true
//! terminal state (see `task_ending.rs`); cgroups of ended containers and stale ones without
//! a checkpoint are removed. The registration that follows reports all of them to the
//! master. The checkpoints, exit files and cgroups are read and removed off the async
//! threads (`corral dev` runs its master on the same runtime).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::agent_cgroups::{self, AgentCgroups};
use super::config::RecoverMode;
use super::container_checkpoint::{self, ContainerCheckpoint};
use super::http_executors::checkpoint::{self as executor_checkpoint, ExecutorCheckpoint};
use super::http_executors::executor::Key;
use super::http_executors::follow::recovered_runner;
use super::http_executors::recover as executor_recovery;
use super::http_executors::registry::Registry;
use super::identity::AgentIdentity;
use super::isolators::{self, Prepared, Survivor};
use super::recovered_task::{RecoveredTask, RecoveredTaskContext};
use super::run_as;
use super::runner_input::RunnerInput;
use super::runners::Runners;
use super::supervisor;
use super::task_ending::{Decision, Ending, decide, memory_limit_hit, unrecorded_ending};
use super::task_status::{StatusFields, new_status};
use super::task_store::TaskStore;
use super::tasks::TaskEntry;
use super::unrecorded_start::{self, Trace};
use corral_api::v1::{FrameworkId, StatusSource};
use corral_cgroups::devices::DeviceCgroup;
use corral_cgroups::{Container, Limits};
use corral_plugin_host::PluginTask;
use corral_plugin_host::isolator::IsolatorSet;

/// What recovery works with.
pub struct RecoveryContext {
    pub tasks: Arc<TaskStore>,
    pub identity: Arc<AgentIdentity>,
    pub cgroups: Arc<AgentCgroups>,
    pub executors: Arc<Registry>,
    pub runners: Arc<Runners>,
    /// What each reattached task's runner works with.
    pub recovered: RecoveredTaskContext,
    pub work_dir: PathBuf,
    pub mode: RecoverMode,
    /// The isolator plugins the command line gives.
    pub isolators: IsolatorSet,
    /// Tasks run as their users (`AgentConfig::switch_user`): their checks too.
    pub switch_user: bool,
}

/// One checkpointed container as recovery found it on disk and in the cgroups.
enum Found {
    /// Its checkpoint names no framework: removed.
    NoFramework,
    /// A task of an HTTP executor that still runs: adopted with it.
    WithExecutor(Key, Box<ContainerCheckpoint>),
    Container(Box<Looked>),
}

struct Looked {
    checkpoint: ContainerCheckpoint,
    framework_id: FrameworkId,
    container: Option<Container>,
    decision: Decision,
    /// The container's cgroup path relative to each hierarchy; `None` without cgroups.
    cgroup: Option<PathBuf>,
    /// For a reattached task with isolator plugins: what they gave it, and what they hold.
    survivor: Option<Survivor>,
    isolation: Option<Prepared>,
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
pub async fn recover(ctx: &RecoveryContext) {
    let (work_dir, mode, cgroups) = (ctx.work_dir.clone(), ctx.mode, ctx.cgroups.clone());
    let isolator_set = ctx.isolators.clone();
    let scanned =
        tokio::task::spawn_blocking(move || scan(&work_dir, mode, &cgroups, &isolator_set)).await;
    let (executors, found) = match scanned {
        Ok(scanned) => scanned,
        Err(e) => {
            tracing::error!("reading the checkpoints panicked: {e}; nothing is recovered");
            return;
        }
    };
    let mut known = BTreeSet::new();
    let (mut reattached, mut ended) = (0, 0);
    let mut gathered = Gathered {
        executors,
        ..Gathered::default()
    };
    for (container_id, found) in found {
        known.insert(container_id);
        if recover_container(ctx, found, &mut gathered).await {
            reattached += 1;
        } else {
            ended += 1;
        }
    }
    if reattached + ended > 0 {
        tracing::info!(
            "recovered {reattached} running tasks and {ended} that ended (mode {})",
            ctx.mode
        );
    }
    adopt_executors(ctx, &mut gathered, &mut known).await;
    let survivors = gathered.survivors;
    // The isolator plugins learn which containers (GPUs) are still taken.
    if !ctx.isolators.is_empty() {
        let isolator_set = ctx.isolators.clone();
        let told =
            tokio::task::spawn_blocking(move || isolators::recover(&isolator_set, &survivors));
        if let Err(e) = told.await {
            tracing::error!("recovering the isolator plugins panicked: {e}");
        }
    }
    remove_stale_cgroups(&ctx.cgroups, known).await;
}

/// Reads every checkpoint and looks at each container's cgroups, supervisor and exit file.
/// Executors left running are killed here under `--recover=cleanup`. Blocks.
fn scan(
    work_dir: &Path,
    mode: RecoverMode,
    cgroups: &AgentCgroups,
    isolator_set: &IsolatorSet,
) -> (HashMap<Key, ExecutorCheckpoint>, Vec<(String, Found)>) {
    let mut executors = HashMap::new();
    for executor in executor_checkpoint::running(work_dir) {
        if mode == RecoverMode::Cleanup {
            executor_checkpoint::kill(work_dir, &executor, "--recover=cleanup");
            continue;
        }
        let key = (executor.framework_id.clone(), executor.executor_id.clone());
        executors.insert(key, executor);
    }
    let mut found = Vec::new();
    for loaded in container_checkpoint::load_all(work_dir) {
        let checkpoint = match loaded {
            Ok(checkpoint) => checkpoint,
            Err(e) => {
                tracing::error!("cannot recover a container: {e}; its files are left in place");
                continue;
            }
        };
        let container_id = checkpoint.container_id.clone();
        let looked = look_at(work_dir, cgroups, isolator_set, &executors, checkpoint);
        found.push((container_id, looked));
    }
    (executors, found)
}

/// What one checkpointed container's files and cgroups say. Blocks.
fn look_at(
    work_dir: &Path,
    cgroups: &AgentCgroups,
    isolator_set: &IsolatorSet,
    executors: &HashMap<Key, ExecutorCheckpoint>,
    checkpoint: ContainerCheckpoint,
) -> Found {
    let Some(framework_id) = checkpoint.framework.id.clone() else {
        tracing::error!(
            "container {} has no framework id; removing it",
            checkpoint.container_id
        );
        container_checkpoint::remove(work_dir, &checkpoint.container_id);
        return Found::NoFramework;
    };
    if let Some(info) = &checkpoint.task.executor
        && !checkpoint.state.is_terminal()
    {
        let key = (framework_id.clone(), info.executor_id.clone());
        if executors.contains_key(&key) {
            return Found::WithExecutor(key, Box::new(checkpoint));
        }
    }
    let mem_mb = Limits::for_task(&checkpoint.task.resources, 0)
        .ok()
        .and_then(|l| l.mem_mb);
    let container = checkpoint
        .cgroup_parent
        .as_deref()
        .and_then(|parent| cgroups.adopt_under(parent, &checkpoint.container_id, mem_mb));
    let mut checkpoint = checkpoint;
    // Started but not yet recorded when the agent died: look for it (`unrecorded_start.rs`).
    let unrecorded = checkpoint.process.is_none()
        && checkpoint.task.executor.is_none()
        && !checkpoint.state.is_terminal();
    let mut unrecorded_end = None;
    if unrecorded {
        let strays = container
            .as_ref()
            .is_some_and(|c| !c.processes().is_empty());
        match unrecorded_start::find(work_dir, &checkpoint.container_id, strays) {
            Trace::Running(process) => {
                tracing::warn!(
                    "task {}: found its command running though its start was not recorded; \
                     reattaching",
                    checkpoint.task.task_id
                );
                checkpoint.process = Some(process);
            }
            Trace::Ended(found) => unrecorded_end = Some(found),
        }
    }
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
    let decision = match unrecorded_end {
        Some(found) => Decision::End(unrecorded_ending(
            found,
            checkpoint.kill_requested,
            memory_limit_hit(container.as_ref()),
        )),
        None => decide(
            &checkpoint,
            alive,
            exit,
            memory_limit_hit(container.as_ref()),
        ),
    };
    let cgroup = checkpoint
        .cgroup_parent
        .as_deref()
        .and_then(|parent| cgroups.container_relative_under(parent, &checkpoint.container_id));
    let reattached = decision == Decision::Reattach && checkpoint.process.is_some();
    let with_isolators = reattached && !isolator_set.is_empty();
    let survivor = with_isolators.then(|| survivor(work_dir, &checkpoint, &framework_id));
    let isolation = with_isolators.then(|| isolators::adopted(isolator_set, cgroup.as_deref()));
    Found::Container(Box::new(Looked {
        checkpoint,
        framework_id,
        container,
        decision,
        cgroup,
        survivor,
        isolation,
    }))
}

/// Recovers one container; true if its task still runs (it joins `gathered`).
async fn recover_container(ctx: &RecoveryContext, found: Found, gathered: &mut Gathered) -> bool {
    let looked = match found {
        Found::NoFramework => return false,
        Found::WithExecutor(key, checkpoint) => {
            let task_id = &checkpoint.task.task_id;
            tracing::info!("recovering task {task_id} with its executor {}", key.1);
            gathered.adopted.entry(key).or_default().push(*checkpoint);
            return true;
        }
        Found::Container(looked) => *looked,
    };
    let Looked {
        checkpoint,
        framework_id,
        container,
        decision,
        cgroup,
        survivor,
        isolation,
    } = looked;
    let task_id = checkpoint.task.task_id.clone();
    tracing::info!("recovering task {task_id} of framework {framework_id}: {decision:?}");

    let cleanup = ctx.mode == RecoverMode::Cleanup;
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
    match (decision, checkpoint.process) {
        (Decision::Reattach, Some(process)) => {
            gathered.survivors.extend(survivor);
            let (runner, inbox) = RecoveredTask::new(
                ctx.recovered.clone(),
                framework_id.clone(),
                task_id.clone(),
                checkpoint.container_id.clone(),
                process,
                container.map(Arc::new),
                entry.kill_requested,
            );
            if cleanup {
                tracing::info!("--recover=cleanup: killing task {task_id}");
                let _ = inbox.send(RunnerInput::Kill(0));
            }
            entry.runner = Some(inbox);
            ctx.tasks.add_recovered(&checkpoint.framework, entry);
            let user = run_as::task_user(
                ctx.switch_user,
                checkpoint
                    .task
                    .command
                    .as_ref()
                    .and_then(|c| c.user.as_deref()),
                &checkpoint.framework.user,
            );
            let runner =
                runner.with_health_check(&checkpoint.task, checkpoint.sandbox.clone(), user);
            ctx.runners.spawn(runner.with_isolation(isolation).run());
            true
        }
        (Decision::End(ending), _) => {
            ctx.tasks.add_recovered(&checkpoint.framework, entry);
            submit_ending(ctx, &checkpoint, ending);
            destroy(container, cgroup, format!("task {task_id}")).await;
            false
        }
        _ => {
            ctx.tasks.add_recovered(&checkpoint.framework, entry);
            destroy(container, cgroup, format!("task {task_id}")).await;
            false
        }
    }
}

/// Adopts the running executors that have non-terminal tasks, each task with a runner, and
/// kills the others. Adopted executors' containers are `known` (not stale).
async fn adopt_executors(
    ctx: &RecoveryContext,
    gathered: &mut Gathered,
    known: &mut BTreeSet<String>,
) {
    let mut unwanted = Vec::new();
    let mut adopted = Vec::new();
    for (key, executor) in gathered.executors.drain() {
        let Some(tasks) = gathered.adopted.remove(&key) else {
            unwanted.push((executor, "it has no task left to recover"));
            continue;
        };
        let Some(info) = tasks.iter().find_map(|t| t.task.executor.clone()) else {
            unwanted.push((executor, "its tasks name no executor"));
            continue;
        };
        known.insert(executor.container_id.clone());
        adopted.push((key, executor, info, tasks));
    }
    // The executor's container holds what the plugins gave it (GPUs): still taken.
    let sized: Vec<(ContainerCheckpoint, FrameworkId)> = if ctx.isolators.is_empty() {
        Vec::new()
    } else {
        adopted
            .iter()
            .map(|(key, executor, info, tasks)| {
                let mut sized = tasks[0].clone();
                sized.container_id = executor.container_id.clone();
                let mut resources = info.resources.clone();
                resources.extend(sized.task.resources.iter().cloned());
                sized.task.resources = resources;
                (sized, key.0.clone())
            })
            .collect()
    };
    let work_dir = ctx.work_dir.clone();
    let survivors = tokio::task::spawn_blocking(move || {
        for (executor, why) in unwanted {
            executor_checkpoint::kill(&work_dir, &executor, why);
        }
        sized
            .iter()
            .map(|(checkpoint, framework_id)| survivor(&work_dir, checkpoint, framework_id))
            .collect::<Vec<_>>()
    })
    .await;
    match survivors {
        Ok(survivors) => gathered.survivors.extend(survivors),
        Err(e) => tracing::error!("recovering the executors' containers panicked: {e}"),
    }
    for (key, executor, info, tasks) in adopted {
        let infos: Vec<_> = tasks.iter().map(|t| t.task.clone()).collect();
        let ends = executor_recovery::adopt(
            &ctx.executors,
            executor,
            tasks[0].framework.clone(),
            info,
            &infos,
        );
        for ((task_id, end), checkpoint) in ends.into_iter().zip(&tasks) {
            let (runner, inbox) =
                recovered_runner(ctx.executors.clone(), key.clone(), task_id, end);
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
            ctx.tasks.add_recovered(&checkpoint.framework, entry);
            ctx.runners.spawn(runner);
        }
    }
}

/// The finished part of a terminal status, reported by the agent.
fn submit_ending(ctx: &RecoveryContext, checkpoint: &ContainerCheckpoint, ending: Ending) {
    let Some(framework_id) = checkpoint.framework.id.clone() else {
        return;
    };
    let fields = StatusFields {
        message: Some(ending.message),
        reason: Some(ending.reason.to_string()),
        ..Default::default()
    };
    let status = new_status(
        &checkpoint.task.task_id,
        ending.state,
        StatusSource::SourceAgent,
        ctx.identity.id(),
        fields,
    );
    ctx.tasks.submit_status(&framework_id, status);
}

/// A reattached container as its isolator plugins prepared it: the task they were shown
/// and the environment each plan gave it. Reads a file.
fn survivor(
    work_dir: &Path,
    checkpoint: &ContainerCheckpoint,
    framework_id: &FrameworkId,
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

/// Removes an ended container's cgroups, and the devices cgroup an isolator plan made for
/// it, off the async threads.
async fn destroy(container: Option<Container>, cgroup: Option<PathBuf>, what: String) {
    agent_cgroups::destroy(container.map(Arc::new), what).await;
    if let Some(relative) = cgroup {
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(devices) = DeviceCgroup::adopt(&relative) {
                devices.destroy();
            }
        })
        .await;
    }
}

/// Removes this agent's container cgroups that no checkpoint names (left by a crash between
/// creating a container and checkpointing it, or by an older agent).
async fn remove_stale_cgroups(cgroups: &Arc<AgentCgroups>, known: BTreeSet<String>) {
    let cgroups = cgroups.clone();
    let removed = tokio::task::spawn_blocking(move || {
        let mut stale = BTreeSet::new();
        for path in cgroups.containers_left() {
            if let Some(name) = path.file_name().and_then(|n| n.to_str())
                && !known.contains(name)
            {
                stale.insert(name.to_string());
            }
        }
        for name in stale {
            tracing::info!("removing the stale container cgroup {name}");
            if let Some(container) = cgroups.adopt(&name, None)
                && let Err(e) = container.destroy()
            {
                tracing::error!("stale container {name}: cannot remove its cgroups: {e}");
            }
        }
    })
    .await;
    if let Err(e) = removed {
        tracing::error!("removing stale container cgroups panicked: {e}");
    }
}
