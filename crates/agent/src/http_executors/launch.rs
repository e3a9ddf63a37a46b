//! Starting an executor process: its sandbox, its container (cgroups from the executor's and
//! its first task's resources, resized by the registry as tasks come and go), the Mesos executor environment, and the watchers for its exit
//! and its registration timeout.

use std::path::Path;
use std::sync::{Arc, Mutex};

use super::super::isolators::{self, Prepared};
use super::super::lock;
use super::super::processes::{self, TaskEnvironment};
use super::super::shared::AgentShared;
use super::super::supervisor;
use super::checkpoint;
use super::registry::Executor;
use corral_api::v1::{
    EnvironmentVariable, ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, Resource, TaskInfo,
};
use corral_cgroups::{Container, JoinFiles, Limits};
use corral_plugin_host::PluginTask;

/// Mesos writes durations this way ("5secs"); executor libraries parse it.
fn mesos_duration(d: std::time::Duration) -> String {
    format!("{}secs", d.as_secs_f64())
}

/// `host:port` the executor reaches the agent's HTTP API at.
fn agent_endpoint(shared: &AgentShared) -> String {
    let ip = shared.config.listen.ip();
    let host = if ip.is_unspecified() {
        shared.info.hostname.clone()
    } else {
        ip.to_string()
    };
    format!("{host}:{}", shared.info.port.unwrap_or_default())
}

pub(super) fn start(
    shared: &Arc<AgentShared>,
    framework: &FrameworkInfo,
    info: &ExecutorInfo,
    task: &TaskInfo,
) -> Result<Executor, String> {
    let framework_id = framework
        .id
        .clone()
        .ok_or_else(|| "the framework has no id".to_string())?;
    let command = info
        .command
        .as_ref()
        .ok_or_else(|| format!("executor {} has no command", info.executor_id))?;
    let sandbox =
        super::executor_sandbox(&shared.config.work_dir, &framework_id, &info.executor_id);
    std::fs::create_dir_all(&sandbox)
        .map_err(|e| format!("cannot create sandbox {}: {e}", sandbox.display()))?;
    let container_id = uuid::Uuid::new_v4().to_string();

    let mut resources = info.resources.clone();
    resources.extend(task.resources.iter().cloned());
    let limits = Limits::for_task(&resources, shared.config.isolation.pids_limit)?;
    let container: Option<Container> = shared
        .isolator
        .create(&shared.cgroup_name(), &container_id, &limits)
        .map_err(|e| format!("cannot create the executor's cgroups: {e}"))?;
    let container = container.map(|c| Arc::new(Mutex::new(c)));
    let isolation = prepare_isolators(
        shared,
        (&framework_id, &container_id, &sandbox),
        task,
        &resources,
        container.is_some(),
    );
    let isolation = match isolation {
        Ok(isolation) => isolation,
        Err(message) => {
            destroy_cgroups(container.as_ref(), &info.executor_id);
            return Err(message);
        }
    };
    let undo = |isolation: Option<Prepared>| {
        destroy_cgroups(container.as_ref(), &info.executor_id);
        if let Some(prepared) = isolation {
            isolators::cleanup(prepared, &container_id);
        }
    };
    let join = match join_files(container.as_ref(), isolation.as_ref()) {
        Ok(join) => join,
        Err(message) => {
            undo(isolation);
            return Err(message);
        }
    };

    let mut command = command.clone();
    let checkpoint = framework.checkpoint.unwrap_or(false);
    let variables = [
        ("MESOS_EXECUTOR_ID", info.executor_id.value.clone()),
        ("MESOS_AGENT_ENDPOINT", agent_endpoint(shared)),
        (
            "MESOS_SLAVE_ID",
            shared.agent_id().map(|a| a.value).unwrap_or_default(),
        ),
        (
            "MESOS_CHECKPOINT",
            if checkpoint { "1" } else { "0" }.to_string(),
        ),
        ("MESOS_HTTP_COMMAND_EXECUTOR", "0".to_string()),
        (
            "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
            mesos_duration(super::SHUTDOWN_GRACE),
        ),
        ("MESOS_SUBSCRIPTION_BACKOFF_MAX", "2secs".to_string()),
        ("MESOS_RECOVERY_TIMEOUT", "15mins".to_string()),
    ];
    let environment = &mut command.environment.get_or_insert_default().variables;
    environment.extend(
        variables
            .into_iter()
            .map(|(name, value)| EnvironmentVariable {
                name: name.to_string(),
                value: Some(value),
            }),
    );
    if let Some(prepared) = &isolation {
        environment.extend(prepared.environment.iter().cloned());
    }
    let env = TaskEnvironment {
        sandbox: sandbox.display().to_string(),
        task_id: String::new(),
        framework_id: framework_id.value.clone(),
        agent_id: shared.agent_id().map(|a| a.value).unwrap_or_default(),
        container_id: container_id.clone(),
    };
    let work_dir = shared.config.work_dir.clone();
    let spawned = match &shared.config.recovery.supervisor {
        Some(binary) => {
            let exit_file = checkpoint::exit_file(&work_dir, &container_id);
            supervisor::spawn(binary, &exit_file, &command, &sandbox, &env, join.as_ref())
                .map(|s| (s.child, s.pgid, s.supervisor_pid, Some(exit_file)))
        }
        None => processes::spawn(&command, &sandbox, &env, join.as_ref())
            .map(|(child, pid)| (child, pid, pid, None)),
    };
    let (child, pgid, supervisor_pid, exit_file) = match spawned {
        Ok(spawned) => spawned,
        Err(message) => {
            undo(isolation);
            return Err(message);
        }
    };
    if let Some(supervisor_start) = supervisor::start_time(supervisor_pid) {
        let saved = checkpoint::ExecutorCheckpoint {
            framework_id: framework_id.clone(),
            executor_id: info.executor_id.clone(),
            container_id: container_id.clone(),
            supervisor_pid,
            supervisor_start,
            pgid,
        };
        checkpoint::save(&work_dir, &saved);
    }
    tracing::info!(
        "started executor {} of framework {framework_id} (pid {pgid}) in {}",
        info.executor_id,
        sandbox.display()
    );

    let key = (framework_id.clone(), info.executor_id.clone());
    let watcher = shared.clone();
    let watched_key = key.clone();
    let watched_container = container_id.clone();
    let watched_cgroups = container.clone();
    tokio::spawn(async move {
        let outcome = match exit_file {
            Some(exit_file) => supervisor::wait(child, exit_file).await,
            None => processes::wait(child).await,
        };
        let how = match (outcome.code, outcome.signal) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(signal)) => format!("was killed by signal {signal}"),
            (None, None) => "ended".to_string(),
        };
        let registry = &watcher.http_executors;
        registry.exited(&watcher, &watched_key, &watched_container, how);
        if let Some(container) = watched_cgroups {
            // Kills what the executor left behind and removes its cgroups.
            let removed = tokio::task::spawn_blocking(move || lock(&container).destroy()).await;
            if let Ok(Err(e)) = removed {
                tracing::error!("executor {}: cannot remove its cgroups: {e}", watched_key.1);
            }
        }
        if let Some(prepared) = isolation {
            let container_id = watched_container.clone();
            let _ = tokio::task::spawn_blocking(move || {
                isolators::cleanup(prepared, &container_id);
            })
            .await;
        }
        checkpoint::remove(&watcher.config.work_dir, &watched_container);
    });
    let timer = shared.clone();
    let timed_container = container_id.clone();
    let timeout = shared.config.executor_registration_timeout;
    tokio::spawn(async move {
        tokio::time::sleep(timeout).await;
        timer.http_executors.registration_timed_out(
            &timer,
            &key,
            &timed_container,
            super::REASON_REGISTRATION_TIMEOUT,
        );
    });

    Ok(Executor::new(
        info.clone(),
        framework.clone(),
        container_id,
        container,
        pgid,
    ))
}

/// The isolator plugins' plans for the executor's container, asked as for a command task:
/// its first task, carrying the executor's and that task's resources (so an executor task
/// asking gpus gets its GPUs' devices and environment). `None` without isolators.
fn prepare_isolators(
    shared: &AgentShared,
    (framework_id, container_id, sandbox): (&FrameworkId, &str, &Path),
    task: &TaskInfo,
    resources: &[Resource],
    has_cgroups: bool,
) -> Result<Option<Prepared>, String> {
    let isolator_set = &shared.config.isolators;
    if isolator_set.is_empty() {
        return Ok(None);
    }
    let mut sized = task.clone();
    sized.resources = resources.to_vec();
    let plugin_task = PluginTask::new(
        sized,
        &framework_id.value,
        container_id,
        &sandbox.display().to_string(),
    );
    let cgroup = has_cgroups
        .then(|| {
            shared
                .isolator
                .container_relative(&shared.cgroup_name(), container_id)
        })
        .flatten();
    isolators::prepare(isolator_set, container_id, &plugin_task, cgroup.as_deref()).map(Some)
}

/// The `cgroup.procs` files the executor joins: its cgroups' and its devices cgroup's.
fn join_files(
    container: Option<&Arc<Mutex<Container>>>,
    isolation: Option<&Prepared>,
) -> Result<Option<JoinFiles>, String> {
    let mut join = container
        .map(|c| lock(c).join_files())
        .transpose()
        .map_err(|e| format!("cannot put the executor in its cgroups: {e}"))?;
    let devices = isolation.and_then(|p| p.devices.as_ref());
    if let Some(file) = devices
        .map(|d| d.join_file())
        .transpose()
        .map_err(|e| format!("cannot put the executor in its devices cgroup: {e}"))?
        .flatten()
    {
        join.get_or_insert_with(|| JoinFiles::from_files(Vec::new()))
            .push(file);
    }
    Ok(join)
}

/// Removes the cgroups of an executor that did not start.
fn destroy_cgroups(container: Option<&Arc<Mutex<Container>>>, executor: &ExecutorId) {
    if let Some(container) = container
        && let Err(e) = lock(container).destroy()
    {
        tracing::error!("executor {executor}: cannot remove its cgroups: {e}");
    }
}
