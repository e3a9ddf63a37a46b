//! Starting an executor process: its sandbox, its container (cgroups from the executor's and
//! its first task's resources, resized by the registry as tasks come and go) and the Mesos
//! executor environment; then waiting for it to end and removing what it leaves. The files,
//! cgroups, isolator plugins and the fork run off the async threads. The registry starts
//! the watchers (see `Registry::watch`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::checkpoint;
use super::context::ExecutorContext;
use super::executor::Executor;
use super::sandbox::executor_sandbox;
use super::timeouts::SHUTDOWN_GRACE;
use crate::isolators::{self, Prepared};
use crate::locks::lock;
use crate::process_start::{self, ProcessSpec};
use crate::processes::{self, TaskEnvironment};
use crate::supervisor;
use corral_api::v1::{
    EnvironmentVariable, ExecutorId, ExecutorInfo, FrameworkId, FrameworkInfo, Resource, TaskInfo,
};
use corral_cgroups::{Container, JoinFiles, Limits};
use corral_plugin_host::PluginTask;
use corral_plugin_host::isolator::IsolatorSet;

/// Mesos writes durations this way ("5secs"); executor libraries parse it.
fn mesos_duration(d: std::time::Duration) -> String {
    format!("{}secs", d.as_secs_f64())
}

/// `host:port` the executor reaches the agent's HTTP API at.
fn agent_endpoint(ctx: &ExecutorContext) -> String {
    let ip = ctx.listen.ip();
    let host = if ip.is_unspecified() {
        ctx.info.hostname.clone()
    } else {
        ip.to_string()
    };
    format!("{host}:{}", ctx.info.port.unwrap_or_default())
}

/// The executor's container, made ready for its process.
struct ReadyContainer {
    container: Option<Arc<Mutex<Container>>>,
    isolation: Option<Prepared>,
    join: Option<JoinFiles>,
}

/// An executor process that runs: to wait for, then clean up after.
pub(super) struct Running {
    pub container_id: String,
    executor_id: ExecutorId,
    child: Option<tokio::process::Child>,
    exit_file: Option<PathBuf>,
    container: Option<Arc<Mutex<Container>>>,
    isolation: Option<Prepared>,
}

impl Running {
    /// Waits for the executor's process to end; says how it did.
    pub async fn ended(&mut self) -> String {
        let Some(child) = self.child.take() else {
            return "ended".to_string();
        };
        let outcome = match self.exit_file.take() {
            Some(exit_file) => supervisor::wait(child, exit_file).await,
            None => processes::wait(child).await,
        };
        match (outcome.code, outcome.signal) {
            (Some(code), _) => format!("exited with status {code}"),
            (None, Some(signal)) => format!("was killed by signal {signal}"),
            (None, None) => "ended".to_string(),
        }
    }

    /// Kills what the executor left in its cgroups and removes them, its isolator plans and
    /// its checkpoint.
    pub async fn clean_up(self, ctx: &ExecutorContext) {
        let Running {
            container_id,
            executor_id,
            container,
            isolation,
            ..
        } = self;
        if let Some(container) = container {
            let removed = tokio::task::spawn_blocking(move || lock(&container).destroy()).await;
            if let Ok(Err(e)) = removed {
                tracing::error!("executor {executor_id}: cannot remove its cgroups: {e}");
            }
        }
        if let Some(prepared) = isolation {
            let gone = container_id.clone();
            let _ = tokio::task::spawn_blocking(move || isolators::cleanup(prepared, &gone)).await;
        }
        let _ = checkpoint::remove(&ctx.writer, &ctx.work_dir, &container_id)
            .done()
            .await;
    }
}

/// Starts the executor for its first task: the executor as the registry keeps it, and its
/// process to watch.
pub(super) async fn start(
    ctx: &ExecutorContext,
    framework: &FrameworkInfo,
    info: &ExecutorInfo,
    task: &TaskInfo,
) -> Result<(Executor, Running), String> {
    let framework_id = framework
        .id
        .clone()
        .ok_or_else(|| "the framework has no id".to_string())?;
    let command = info
        .command
        .as_ref()
        .ok_or_else(|| format!("executor {} has no command", info.executor_id))?;
    let sandbox = executor_sandbox(&ctx.work_dir, &framework_id, &info.executor_id);
    let container_id = uuid::Uuid::new_v4().to_string();

    let mut resources = info.resources.clone();
    resources.extend(task.resources.iter().cloned());
    let limits = Limits::for_task(&resources, ctx.pids_limit)?;
    let place = ContainerPlace {
        framework_id: framework_id.clone(),
        executor_id: info.executor_id.clone(),
        container_id: container_id.clone(),
        sandbox: sandbox.clone(),
        task: task.clone(),
        resources,
        limits,
    };
    let cgroups = ctx.cgroups.clone();
    let isolator_set = ctx.isolators.clone();
    let ready =
        tokio::task::spawn_blocking(move || prepare_container(&cgroups, &isolator_set, place))
            .await
            .unwrap_or_else(|e| Err(format!("preparing the executor's container panicked: {e}")))?;
    let ReadyContainer {
        container,
        isolation,
        join,
    } = ready;

    let mut command = command.clone();
    let checkpoint = framework.checkpoint.unwrap_or(false);
    let variables = [
        ("MESOS_EXECUTOR_ID", info.executor_id.value.clone()),
        ("MESOS_AGENT_ENDPOINT", agent_endpoint(ctx)),
        ("MESOS_SLAVE_ID", ctx.identity.id_value()),
        (
            "MESOS_CHECKPOINT",
            if checkpoint { "1" } else { "0" }.to_string(),
        ),
        ("MESOS_HTTP_COMMAND_EXECUTOR", "0".to_string()),
        (
            "MESOS_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
            mesos_duration(SHUTDOWN_GRACE),
        ),
        ("MESOS_SUBSCRIPTION_BACKOFF_MAX", "2secs".to_string()),
        (
            crate::executor_tokens::TOKEN_ENV,
            ctx.signer.issue(&crate::executor_tokens::subject(
                &framework_id,
                &info.executor_id,
            )),
        ),
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
        agent_id: ctx.identity.id_value(),
        container_id: container_id.clone(),
    };
    let spec = ProcessSpec {
        supervisor: ctx.supervisor.clone(),
        root_namespaces: ctx.root_namespaces,
        user: crate::run_as::task_user(
            ctx.switch_user,
            info.command.as_ref().and_then(|c| c.user.as_deref()),
            &framework.user,
        ),
        exit_file: checkpoint::exit_file(&ctx.work_dir, &container_id),
        command,
        sandbox: sandbox.clone(),
        env,
        join,
        logs: ctx.logs,
    };
    let started = match process_start::start(spec).await {
        Ok(started) => started,
        Err(message) => {
            let executor_id = info.executor_id.clone();
            let gone = container_id.clone();
            let _ = tokio::task::spawn_blocking(move || {
                undo(container.as_ref(), isolation, &executor_id, &gone)
            })
            .await;
            return Err(message);
        }
    };
    let pgid = started.pgid;
    if let Some(supervisor_start) = started.supervisor_start {
        let saved = checkpoint::ExecutorCheckpoint {
            framework_id: framework_id.clone(),
            executor_id: info.executor_id.clone(),
            container_id: container_id.clone(),
            supervisor_pid: started.supervisor_pid,
            supervisor_start,
            pgid,
        };
        if let Some(written) = checkpoint::save(&ctx.writer, &ctx.work_dir, &saved) {
            // A failure is logged by the writer: a restarted agent would not find it.
            let _ = written.done().await;
        }
    }
    tracing::info!(
        "started executor {} of framework {framework_id} (pid {pgid}) in {}",
        info.executor_id,
        sandbox.display()
    );

    let executor = Executor::new(
        info.clone(),
        framework.clone(),
        container_id.clone(),
        container.clone(),
        pgid,
    );
    let running = Running {
        container_id,
        executor_id: info.executor_id.clone(),
        child: Some(started.child),
        exit_file: started.exit_file,
        container,
        isolation,
    };
    Ok((executor, running))
}

/// Where the executor's container goes and what it is sized to.
struct ContainerPlace {
    framework_id: FrameworkId,
    executor_id: ExecutorId,
    container_id: String,
    sandbox: PathBuf,
    /// The executor's first task.
    task: TaskInfo,
    /// The executor's and its first task's resources.
    resources: Vec<Resource>,
    limits: Limits,
}

/// The executor's sandbox, cgroups and isolator plans, and the `cgroup.procs` files its
/// process joins. Blocks (files, cgroups, plugin calls): run it off the async threads.
fn prepare_container(
    cgroups: &crate::agent_cgroups::AgentCgroups,
    isolator_set: &IsolatorSet,
    place: ContainerPlace,
) -> Result<ReadyContainer, String> {
    std::fs::create_dir_all(&place.sandbox)
        .map_err(|e| format!("cannot create sandbox {}: {e}", place.sandbox.display()))?;
    let container: Option<Container> = cgroups
        .create(&place.container_id, &place.limits)
        .map_err(|e| format!("cannot create the executor's cgroups: {e}"))?;
    let container = container.map(|c| Arc::new(Mutex::new(c)));
    let cgroup = container
        .as_ref()
        .and_then(|_| cgroups.container_relative(&place.container_id));
    let isolation = prepare_isolators(isolator_set, &place, cgroup.as_deref());
    let isolation = match isolation {
        Ok(isolation) => isolation,
        Err(message) => {
            undo(
                container.as_ref(),
                None,
                &place.executor_id,
                &place.container_id,
            );
            return Err(message);
        }
    };
    match join_files(container.as_ref(), isolation.as_ref()) {
        Ok(join) => Ok(ReadyContainer {
            container,
            isolation,
            join,
        }),
        Err(message) => {
            undo(
                container.as_ref(),
                isolation,
                &place.executor_id,
                &place.container_id,
            );
            Err(message)
        }
    }
}

/// The isolator plugins' plans for the executor's container, asked as for a command task:
/// its first task, carrying the executor's and that task's resources (so an executor task
/// asking gpus gets its GPUs' devices and environment). `None` without isolators.
fn prepare_isolators(
    isolator_set: &IsolatorSet,
    place: &ContainerPlace,
    cgroup: Option<&Path>,
) -> Result<Option<Prepared>, String> {
    if isolator_set.is_empty() {
        return Ok(None);
    }
    let mut sized = place.task.clone();
    sized.resources = place.resources.clone();
    let plugin_task = PluginTask::new(
        sized,
        &place.framework_id.value,
        &place.container_id,
        &place.sandbox.display().to_string(),
    );
    isolators::prepare(isolator_set, &place.container_id, &plugin_task, cgroup).map(Some)
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

/// Removes the cgroups and isolator plans of an executor that did not start. Blocks.
fn undo(
    container: Option<&Arc<Mutex<Container>>>,
    isolation: Option<Prepared>,
    executor: &ExecutorId,
    container_id: &str,
) {
    if let Some(container) = container
        && let Err(e) = lock(container).destroy()
    {
        tracing::error!("executor {executor}: cannot remove its cgroups: {e}");
    }
    if let Some(prepared) = isolation {
        isolators::cleanup(prepared, container_id);
    }
}
