//! One task's actor: drives its executor plugin instance (launch, then one call per event)
//! and carries out the actions it answers with. A plugin error or a `done` without a
//! terminal status fails the task and kills what it still runs; the agent keeps serving.
//! Plugin calls, cgroup files, process starts and file reads all run off the async threads.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::AbortHandle;

use super::active_plugins::LaunchPlugins;
use super::container_checkpoint::{self, ProcessCheckpoint};
use super::disk_watch::disk_limit_bytes;
use super::fetcher::{self, FetchError};
use super::health_checks::{self, CheckPlace, CheckedTask};
use super::isolators::{self, Prepared};
use super::process_start::{self, ProcessSpec};
use super::processes::{self, ProcessTable, TaskEnvironment};
use super::run_as;
use super::runner_context::RunnerContext;
use super::runner_input::RunnerInput;
use super::supervisor;
use super::task_ending::memory_limit_hit;
use super::task_status::{StatusFields, new_status};
use corral_api::v1::{self, CommandInfo, FrameworkId, StatusSource, TaskState, reason};
use corral_cgroups::{Container, JoinFiles, Limits};
use corral_plugin_host::executor::{
    Action, Event, ExecutorInstance, ProcessExit, SpawnFailure, SpawnProcess, Status,
};
use corral_plugin_host::{PluginError, PluginTask};

/// The agent's hook points (issue 6).
mod hooks;

/// Tests' way to crash the agent between a command's start and its checkpoint.
#[cfg(debug_assertions)]
mod crash_point;

enum Flow {
    Continue,
    Finished,
}

pub struct TaskRunner {
    ctx: RunnerContext,
    framework_id: FrameworkId,
    /// Who the task's processes run as (`run_as.rs`); `None`: the agent's user.
    user: Option<String>,
    task: v1::TaskInfo,
    container_id: String,
    sandbox: PathBuf,
    instance: Option<Box<dyn ExecutorInstance>>,
    plugin: String,
    processes: ProcessTable,
    timers: HashMap<u32, (u64, AbortHandle)>,
    next_generation: u64,
    inbox_tx: UnboundedSender<RunnerInput>,
    inbox: UnboundedReceiver<RunnerInput>,
    terminal_sent: bool,
    /// The task's cgroups (shared with its health checks); `None` under posix isolation or
    /// before the launch.
    container: Option<Arc<Container>>,
    /// What the isolator plugins (`--isolator`) prepared; `None` without isolators.
    isolation: Option<Prepared>,
    /// The executor, isolators and hooks current when the task was started (hot reload
    /// only changes what later tasks get).
    plugins: LaunchPlugins,
    /// Processes started under `corral wasm-run`: only their exits can carry a memory-cap
    /// note to read.
    wasm_processes: std::collections::HashSet<u32>,
    /// The watch of the sandbox's disk usage (`disk_watch.rs`); `None`: no `disk` asked.
    disk_watch: Option<AbortHandle>,
}

impl TaskRunner {
    /// The runner and the sender that reaches its inbox.
    pub fn new(
        ctx: RunnerContext,
        framework: &v1::FrameworkInfo,
        framework_id: FrameworkId,
        task: v1::TaskInfo,
        container_id: String,
        sandbox: PathBuf,
    ) -> (Self, UnboundedSender<RunnerInput>) {
        let (inbox_tx, inbox) = unbounded_channel();
        let user = run_as::task_user(
            ctx.switch_user,
            task.command.as_ref().and_then(|c| c.user.as_deref()),
            &framework.user,
        );
        let plugins = ctx.plugins.launch_plugins();
        let runner = TaskRunner {
            plugin: plugins.executor_name.clone(),
            plugins,
            ctx,
            framework_id,
            task,
            user,
            container_id,
            sandbox,
            instance: None,
            processes: ProcessTable::default(),
            timers: HashMap::new(),
            next_generation: 0,
            inbox_tx: inbox_tx.clone(),
            inbox,
            terminal_sent: false,
            container: None,
            isolation: None,
            wasm_processes: Default::default(),
            disk_watch: None,
        };
        (runner, inbox_tx)
    }

    pub async fn run(mut self) {
        let mut shutdown = self.ctx.shutdown.clone();
        let mut flow = self.start().await;
        while let Flow::Continue = flow {
            tokio::select! {
                input = self.inbox.recv() => {
                    let Some(input) = input else { break };
                    flow = self.deliver(input).await;
                }
                _ = shutdown.stopped() => {
                    // A clean stop takes its tasks with it; after a crash they are recovered.
                    self.processes.kill_all();
                    break;
                }
            }
        }
        for (_, (_, timer)) in self.timers.drain() {
            timer.abort();
        }
        if let Some(watch) = self.disk_watch.take() {
            watch.abort();
        }
        self.instance = None;
        self.destroy_container().await;
        self.cleanup_isolators().await;
        self.ctx
            .tasks
            .runner_finished(&self.framework_id, &self.task.task_id);
    }

    /// Prepares the sandbox, makes the executor instance and launches the task.
    async fn start(&mut self) -> Flow {
        if let Err(e) = tokio::fs::create_dir_all(&self.sandbox).await {
            let message = format!("cannot create sandbox {}: {e}", self.sandbox.display());
            self.fail(message, reason::CONTAINER_LAUNCH_FAILED).await;
            return Flow::Finished;
        }
        // The task's URIs (issue 6); a failed fetch fails the task, naming the URI, and a
        // kill meanwhile ends it at once (a server that stalls cannot hold the task).
        let fetch = self.fetch_uris();
        tokio::pin!(fetch);
        let fetched = loop {
            tokio::select! {
                fetched = &mut fetch => break Some(fetched),
                input = self.inbox.recv() => {
                    if let Some(RunnerInput::Kill(_)) | None = input {
                        break None;
                    }
                }
            }
        };
        match fetched {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                tracing::warn!("task {}: {e}", self.task.task_id);
                self.fail(e.to_string(), reason::CONTAINER_LAUNCH_FAILED)
                    .await;
                return Flow::Finished;
            }
            None => {
                let message = "Killed while fetching its URIs".to_string();
                let why = reason::TASK_KILLED_DURING_LAUNCH;
                self.end(TaskState::TaskKilled, message, why).await;
                return Flow::Finished;
            }
        }
        if let Err(flow) = self.create_container().await {
            return flow;
        }
        self.watch_disk();
        // Isolator plugins: their launch plans are applied before any process starts.
        if let Err(flow) = self.prepare_isolators().await {
            return flow;
        }
        let factory = self.plugins.executor.clone();
        let made = tokio::task::spawn_blocking(move || factory()).await;
        let instance = match made {
            Ok(Ok(instance)) => instance,
            Ok(Err(e)) => {
                self.fail(e.to_string(), reason::EXECUTOR_TERMINATED).await;
                return Flow::Finished;
            }
            Err(e) => {
                let message = format!(
                    "executor plugin {} panicked while starting: {e}",
                    self.plugin
                );
                self.fail(message, reason::EXECUTOR_TERMINATED).await;
                return Flow::Finished;
            }
        };
        self.plugin = instance.plugin_name().to_string();
        self.instance = Some(instance);
        // Hooks (issue 6): environment for the task's processes, or a refusal.
        let task = self.plugin_task();
        let hooked = hooks::run_hooks(&self.plugins.hooks, task, self.task.command.as_mut()).await;
        if let Err(message) = hooked {
            self.fail(message, reason::CONTAINER_LAUNCH_FAILED).await;
            return Flow::Finished;
        }
        let task = self.plugin_task();
        let answer = self.call("launch", move |i| i.launch(&task)).await;
        self.handle_answer(answer).await
    }

    /// The task as its plugins see it.
    fn plugin_task(&self) -> PluginTask {
        PluginTask::new(
            self.task.clone(),
            &self.framework_id.value,
            &self.container_id,
            &self.sandbox.display().to_string(),
        )
    }

    /// The task's URIs into its sandbox; owns what it needs, so no `&self` is held across
    /// the downloads (the runner is not `Sync`).
    fn fetch_uris(&self) -> impl Future<Output = Result<(), FetchError>> + Send + 'static {
        let uris = self.task.command.as_ref().map(|c| c.uris.clone());
        let sandbox = self.sandbox.clone();
        let config = self.ctx.fetcher;
        async move { fetcher::fetch_all(&uris.unwrap_or_default(), &sandbox, config).await }
    }

    /// Creates the task's cgroups with the limits its resources ask for, and checkpoints
    /// the container before anything runs in it. A task below the memory floor is refused
    /// with TASK_ERROR; a cgroup failure fails it.
    async fn create_container(&mut self) -> Result<(), Flow> {
        let limits = match Limits::for_task(&self.task.resources, self.ctx.pids_limit) {
            Ok(limits) => limits,
            Err(message) => {
                self.refuse(message).await;
                return Err(Flow::Finished);
            }
        };
        let (cgroups, container_id) = (self.ctx.cgroups.clone(), self.container_id.clone());
        let created = tokio::task::spawn_blocking(move || {
            cgroups
                .create(&container_id, &limits)
                .map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|e| Err(format!("creating them panicked: {e}")));
        match created {
            Ok(container) => {
                self.container = container.map(Arc::new);
                let saved = self
                    .ctx
                    .tasks
                    .save_container(&self.framework_id, &self.task.task_id);
                if let Some(saved) = saved {
                    // A failure is logged by the writer; the task runs without it.
                    let _ = saved.done().await;
                }
                Ok(())
            }
            Err(e) => {
                let message = format!("cannot create the task's cgroups: {e}");
                tracing::error!("task {}: {message}", self.task.task_id);
                self.fail(message, reason::CONTAINER_LAUNCH_FAILED).await;
                Err(Flow::Finished)
            }
        }
    }

    /// Starts measuring the sandbox of a task that asked for `disk` (Mesos' `disk/du`).
    fn watch_disk(&mut self) {
        let Some(limit) = disk_limit_bytes(&self.task.resources) else {
            return;
        };
        let watch = self.ctx.disk.start(
            self.container_id.clone(),
            self.sandbox.clone(),
            limit,
            self.inbox_tx.clone(),
        );
        self.disk_watch = Some(watch);
    }

    /// Asks every isolator plugin for its launch plan and applies the granted parts; a
    /// refusal, error or trap fails the task with a message naming the plugin.
    async fn prepare_isolators(&mut self) -> Result<(), Flow> {
        let isolators = self.plugins.isolators.clone();
        if isolators.is_empty() {
            return Ok(());
        }
        let task = self.plugin_task();
        let cgroup = self
            .container
            .as_ref()
            .and_then(|_| self.ctx.cgroups.container_relative(&self.container_id));
        let container_id = self.container_id.clone();
        let prepared = tokio::task::spawn_blocking(move || {
            isolators::prepare(&isolators, &container_id, &task, cgroup.as_deref())
        })
        .await
        .unwrap_or_else(|e| Err(format!("preparing the isolators panicked: {e}")));
        match prepared {
            Ok(prepared) => {
                let saved = isolators::checkpoint(
                    &self.ctx.writer,
                    &self.ctx.work_dir,
                    &self.container_id,
                    &prepared,
                );
                if let Some(saved) = saved {
                    // A failure is logged by the writer (after a restart the plugins would
                    // not know the container).
                    let _ = saved.done().await;
                }
                self.isolation = Some(prepared);
                Ok(())
            }
            Err(message) => {
                tracing::error!("task {}: {message}", self.task.task_id);
                self.fail(message, reason::CONTAINER_LAUNCH_FAILED).await;
                Err(Flow::Finished)
            }
        }
    }

    async fn cleanup_isolators(&mut self) {
        let Some(prepared) = self.isolation.take() else {
            return;
        };
        let container_id = self.container_id.clone();
        let _ =
            tokio::task::spawn_blocking(move || isolators::cleanup(prepared, &container_id)).await;
    }

    /// Why the process that exited ended the task, if its container hit a memory limit: the
    /// cgroup's OOM killer, or a wasm task's linear-memory cap (issue 6). Reads the cgroup
    /// and the cap's note off the async threads; owns what it needs (the runner is not
    /// `Sync`).
    fn memory_limitation(
        &self,
        process: u32,
    ) -> impl Future<Output = Option<String>> + Send + 'static {
        let container = self.container.clone();
        let wasm_note = self
            .wasm_processes
            .contains(&process)
            .then(|| self.wasm_limit_file(process));
        async move {
            tokio::task::spawn_blocking(move || {
                if let Some(limit) = memory_limit_hit(container.as_deref()) {
                    return Some(format!("Memory limit of {limit} MB exceeded"));
                }
                wasm_note.and_then(|note| corral_wasm_task::launch::memory_limit_hit(&note))
            })
            .await
            .unwrap_or_default()
        }
    }

    /// Kills what is left in the task's cgroups and removes them.
    async fn destroy_container(&mut self) {
        let Some(container) = self.container.take() else {
            return;
        };
        let task_id = self.task.task_id.clone();
        let destroyed = tokio::task::spawn_blocking(move || container.destroy()).await;
        match destroyed {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!("task {task_id}: cannot remove its cgroups: {e}"),
            Err(e) => tracing::error!("task {task_id}: removing its cgroups panicked: {e}"),
        }
    }

    async fn deliver(&mut self, input: RunnerInput) -> Flow {
        let event = match input {
            RunnerInput::Kill(grace_ms) => Event::Kill(grace_ms),
            RunnerInput::Event(Event::Exited(exit)) => {
                if let Some(message) = self.memory_limitation(exit.id).await {
                    tracing::info!("task {}: {message}", self.task.task_id);
                    self.fail(message, reason::CONTAINER_LIMITATION_MEMORY)
                        .await;
                    return Flow::Finished;
                }
                Event::Exited(exit)
            }
            RunnerInput::Event(event) => event,
            RunnerInput::Limitation { message, reason } => {
                tracing::info!("task {}: {message}", self.task.task_id);
                self.fail(message, reason).await;
                return Flow::Finished;
            }
            RunnerInput::TimerFired { id, generation } => {
                if self.timers.get(&id).is_none_or(|(g, _)| *g != generation) {
                    return Flow::Continue; // cancelled or set again meanwhile
                }
                self.timers.remove(&id);
                Event::TimerFired(id)
            }
        };
        let answer = self.call("on-event", move |i| i.on_event(&event)).await;
        self.handle_answer(answer).await
    }

    /// Runs one plugin call off the async threads (a call may take up to its deadline).
    async fn call<F>(&mut self, call: &str, f: F) -> Result<Vec<Action>, PluginError>
    where
        F: FnOnce(&mut dyn ExecutorInstance) -> Result<Vec<Action>, PluginError> + Send + 'static,
    {
        let Some(mut instance) = self.instance.take() else {
            return Err(PluginError::Poisoned {
                plugin: self.plugin.clone(),
            });
        };
        match tokio::task::spawn_blocking(move || {
            let answer = f(instance.as_mut());
            (instance, answer)
        })
        .await
        {
            Ok((instance, answer)) => {
                self.instance = Some(instance);
                answer
            }
            Err(e) => Err(PluginError::Failed {
                plugin: self.plugin.clone(),
                call: call.to_string(),
                message: format!("the host adapter panicked: {e}"),
            }),
        }
    }

    async fn handle_answer(&mut self, answer: Result<Vec<Action>, PluginError>) -> Flow {
        let actions = match answer {
            Ok(actions) => actions,
            Err(e) => {
                tracing::error!("task {}: {e}", self.task.task_id);
                self.fail(e.to_string(), reason::EXECUTOR_TERMINATED).await;
                return Flow::Finished;
            }
        };
        let mut done = false;
        for action in actions {
            match action {
                Action::Done => done = true,
                other => self.carry_out(other).await,
            }
        }
        if !done {
            return Flow::Continue;
        }
        if self.terminal_sent {
            self.processes.kill_all();
        } else {
            let message = format!(
                "executor plugin {} ended the task without a terminal status",
                self.plugin
            );
            self.fail(message, reason::EXECUTOR_TERMINATED).await;
        }
        Flow::Finished
    }

    async fn carry_out(&mut self, action: Action) {
        match action {
            Action::Spawn(spawn) => self.spawn(spawn).await,
            Action::SendStatus(status) => self.send_status(status).await,
            Action::Signal(s) => match self.processes.group(s.id) {
                Some(pgid) => {
                    if let Err(e) = processes::signal_group(pgid, s.signal) {
                        tracing::debug!(
                            "signal {} to process {} of task {}: {e}",
                            s.signal,
                            s.id,
                            self.task.task_id
                        );
                    }
                }
                None => tracing::warn!(
                    "executor plugin {} signalled unknown process {} of task {}",
                    self.plugin,
                    s.id,
                    self.task.task_id
                ),
            },
            Action::SetTimer(timer) => {
                self.next_generation += 1;
                let generation = self.next_generation;
                let inbox = self.inbox_tx.clone();
                let id = timer.id;
                let handle = tokio::spawn(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(timer.after_ms)).await;
                    let _ = inbox.send(RunnerInput::TimerFired { id, generation });
                });
                if let Some((_, old)) = self.timers.insert(id, (generation, handle.abort_handle()))
                {
                    old.abort();
                }
            }
            Action::CancelTimer(id) => {
                if let Some((_, timer)) = self.timers.remove(&id) {
                    timer.abort();
                }
            }
            Action::Check(check) => {
                let task = CheckedTask {
                    agent_id: self.ctx.identity.id_value(),
                    task_id: &self.task.task_id.value,
                    framework_id: &self.framework_id.value,
                    container_id: &self.container_id,
                    user: self.user.as_deref(),
                    task_group: self.processes.first_group(),
                };
                let place = CheckPlace::for_task(task, &self.sandbox, self.container.as_ref());
                health_checks::start(check, place, self.inbox_tx.clone());
            }
            Action::Done => {}
        }
    }

    async fn spawn(&mut self, spawn: SpawnProcess) {
        let id = spawn.id;
        let env = TaskEnvironment {
            sandbox: self.sandbox.display().to_string(),
            task_id: self.task.task_id.value.clone(),
            framework_id: self.framework_id.value.clone(),
            agent_id: self.ctx.identity.id_value(),
            container_id: self.container_id.clone(),
        };
        // Opening `cgroup.procs` is answered by the kernel's cgroup filesystem from memory,
        // never from a disk: fine on an async thread. The fork that joins them is not.
        let mut join = self
            .container
            .as_deref()
            .map(Container::join_files)
            .transpose();
        // Isolator plugins: their environment and the devices cgroup.
        let mut command = spawn.command;
        if let Some(prepared) = &self.isolation {
            command
                .environment
                .get_or_insert_default()
                .variables
                .extend(prepared.environment.iter().cloned());
            if let Some(devices) = &prepared.devices {
                join = match (join, devices.join_file()) {
                    (Ok(files), Ok(Some(file))) => {
                        let mut files = files.unwrap_or_else(|| JoinFiles::from_files(Vec::new()));
                        files.push(file);
                        Ok(Some(files))
                    }
                    (Ok(files), Ok(None)) => Ok(files),
                    (Err(e), _) | (_, Err(e)) => Err(e),
                };
            }
        }
        let started = match join {
            _ if self.processes.group(id).is_some() => {
                Err(format!("process id {id} is already used by this task"))
            }
            Err(e) => Err(format!("cannot put the process in the task's cgroups: {e}")),
            Ok(join) => self.start_process(id, command, env, join).await,
        };
        let inbox = self.inbox_tx.clone();
        match started {
            Ok((child, pgid, exit_file)) => {
                self.processes.insert(id, pgid);
                tokio::spawn(async move {
                    let outcome = match exit_file {
                        Some(exit_file) => supervisor::wait(child, exit_file).await,
                        None => processes::wait(child).await,
                    };
                    let _ = inbox.send(RunnerInput::Event(Event::Exited(ProcessExit {
                        id,
                        code: outcome.code,
                        signal: outcome.signal,
                    })));
                });
            }
            Err(message) => {
                tracing::warn!("task {}: {message}", self.task.task_id);
                let _ = inbox.send(RunnerInput::Event(Event::SpawnFailed(SpawnFailure {
                    id,
                    message,
                })));
            }
        }
    }

    /// Starts one of the task's processes (see `process_start.rs`). The first process (the
    /// task's command) is checkpointed for recovery. Returns the child to wait for, the
    /// process group to signal, and where the supervisor records the exit.
    async fn start_process(
        &mut self,
        id: u32,
        command: CommandInfo,
        env: TaskEnvironment,
        join: Option<JoinFiles>,
    ) -> Result<(tokio::process::Child, u32, Option<PathBuf>), String> {
        // Wasm tasks (issue 6): a `.wasm` program runs under `corral wasm-run`.
        let command = if corral_wasm_task::launch::is_wasm_command(&command) {
            let wasm = self.wasm_runner(command, id)?.await?;
            self.wasm_processes.insert(id);
            wasm
        } else {
            command
        };
        let spec = ProcessSpec {
            supervisor: self.ctx.supervisor.clone(),
            exit_file: container_checkpoint::exit_file(&self.ctx.work_dir, &self.container_id, id),
            command,
            sandbox: self.sandbox.clone(),
            env,
            join,
            user: self.user.clone(),
            root_namespaces: self.ctx.root_namespaces,
            logs: self.ctx.logs,
        };
        let started = process_start::start(spec).await?;
        #[cfg(debug_assertions)]
        crash_point::after_start(&self.ctx.work_dir).await;
        if let Some(supervisor_start) = started.supervisor_start {
            let process = ProcessCheckpoint {
                id,
                supervisor_pid: started.supervisor_pid,
                supervisor_start,
                pgid: started.pgid,
            };
            self.ctx
                .tasks
                .record_process(&self.framework_id, &self.task.task_id, process);
        }
        Ok((started.child, started.pgid, started.exit_file))
    }

    /// The `corral wasm-run` command for a `.wasm` program, its memory capped at the task's
    /// `mem`. Checking the program's header reads it: off the async threads (the returned
    /// future owns what it needs).
    fn wasm_runner(
        &self,
        command: CommandInfo,
        id: u32,
    ) -> Result<impl Future<Output = Result<CommandInfo, String>> + Send + 'static, String> {
        let corral = match &self.ctx.supervisor {
            Some(binary) => binary.clone(),
            // Reads the /proc/self/exe link: kernel memory, no disk.
            None => std::env::current_exe().map_err(|e| format!("no corral binary: {e}"))?,
        };
        let mem = Limits::for_task(&self.task.resources, 0)
            .ok()
            .and_then(|l| l.mem_mb);
        let limit_file = self.wasm_limit_file(id);
        let sandbox = self.sandbox.clone();
        Ok(async move {
            tokio::task::spawn_blocking(move || {
                corral_wasm_task::launch::runner_command(
                    &command,
                    &corral,
                    &sandbox,
                    mem,
                    Some(&limit_file),
                )
            })
            .await
            .unwrap_or_else(|e| Err(format!("checking the wasm program panicked: {e}")))
        })
    }

    /// Where `corral wasm-run` says that process `id` hit its memory cap (beside its exit file).
    fn wasm_limit_file(&self, id: u32) -> PathBuf {
        container_checkpoint::exit_file(&self.ctx.work_dir, &self.container_id, id)
            .with_extension("limit")
    }

    async fn send_status(&mut self, status: Status) {
        let state = status.state;
        if self.terminal_sent {
            tracing::warn!(
                "executor plugin {} sent {state} for task {} after its terminal status; ignored",
                self.plugin,
                self.task.task_id
            );
            return;
        }
        let fields = StatusFields {
            message: status.message,
            reason: status.reason,
            healthy: status.healthy,
            labels: status.labels,
        };
        let update = new_status(
            &self.task.task_id,
            state,
            StatusSource::SourceExecutor,
            self.ctx.identity.id(),
            fields,
        );
        let update = hooks::status_hooks(&self.plugins.hooks, self.plugin_task(), update).await;
        if self.ctx.tasks.submit_status(&self.framework_id, update) && state.is_terminal() {
            self.terminal_sent = true;
        }
    }

    /// Fails the task (unless it already ended) and kills everything it still runs.
    async fn fail(&mut self, message: String, why: &str) {
        self.end(TaskState::TaskFailed, message, why).await;
    }

    /// Refuses a task that cannot run as asked (TASK_ERROR, as Mesos answers invalid tasks).
    async fn refuse(&mut self, message: String) {
        tracing::warn!("task {}: {message}", self.task.task_id);
        self.end(TaskState::TaskError, message, reason::TASK_INVALID)
            .await;
    }

    async fn end(&mut self, state: TaskState, message: String, why: &str) {
        self.processes.kill_all();
        if self.terminal_sent {
            return;
        }
        let fields = StatusFields {
            message: Some(message),
            reason: Some(why.to_string()),
            ..Default::default()
        };
        let update = new_status(
            &self.task.task_id,
            state,
            StatusSource::SourceAgent,
            self.ctx.identity.id(),
            fields,
        );
        let update = hooks::status_hooks(&self.plugins.hooks, self.plugin_task(), update).await;
        self.ctx.tasks.submit_status(&self.framework_id, update);
        self.terminal_sent = true;
    }
}
