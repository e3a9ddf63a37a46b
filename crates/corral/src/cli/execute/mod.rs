//! `corral execute`: a one-shot framework like `mesos-execute`. It subscribes, launches its
//! tasks through offers (packing as many per offer as fit), acknowledges every update, prints
//! a line per state change and a summary, tears the framework down, and exits 0 only when
//! every task finished.

mod capacity;
mod command;
mod packing;
mod tracker;

use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::bail;

use super::master_arg::MasterArg;
use super::signals::shutdown_requested;
use corral_api::scheduler::{Event, EventType, Launch, Operation, OperationType};
use corral_api::v1::{Capability, FrameworkInfo, Offer, TaskInfo, TaskStatus};
use corral_client::client_error::ClientError;
use corral_client::master_address::MasterAddress;
use corral_client::scheduler_client::{EventStream, SchedulerClient};
pub use packing::{TaskShape, pack};
use tracker::{Applied, Tracker};

/// Offers this run cannot use come back after this long (it may need them once tasks end).
const REFUSE_SECONDS: f64 = 1.0;
/// How long TEARDOWN may take at the end before we stop waiting.
const TEARDOWN_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to look for a new leader after losing one (`--master` with several masters).
const RESUBSCRIBE_WINDOW: Duration = Duration::from_secs(30);
const RESUBSCRIBE_RETRY: Duration = Duration::from_millis(250);
/// How often tasks are checked against `--kill-after`.
const KILL_CHECK_INTERVAL: Duration = Duration::from_millis(200);

#[derive(Debug, Clone, clap::Args)]
pub struct ExecuteArgs {
    #[command(flatten)]
    pub master: MasterArg,
    /// The shell command every task runs.
    #[arg(long)]
    pub command: String,
    /// How many tasks to run.
    #[arg(long, default_value_t = 1)]
    pub instances: usize,
    #[arg(long, default_value_t = 0.1)]
    pub cpus: f64,
    /// Memory per task, in MB.
    #[arg(long, default_value_t = 32.0)]
    pub mem: f64,
    #[arg(long, default_value_t = 0.0)]
    pub gpus: f64,
    /// The role the framework subscribes with.
    #[arg(long, default_value = "*")]
    pub role: String,
    /// Framework name; tasks are named NAME-1, NAME-2, ...
    #[arg(long, default_value = "corral-execute")]
    pub name: String,
    /// Kill each task once it has been running this long (`30secs`, `2mins`), as
    /// mesos-execute's --kill_after.
    #[arg(long, value_name = "DURATION", value_parser = super::duration_flag::parse)]
    pub kill_after: Option<Duration>,
    /// Fetch this URI into each task's sandbox before it starts (repeatable): http://,
    /// https://, file:// or a path on the agent.
    #[arg(long = "uri", value_name = "URI")]
    pub uris: Vec<String>,
    /// Run --command without a shell: its words are the program and its argv. A program
    /// ending in .wasm runs as a wasm task (docs/wasm-tasks.md).
    #[arg(long)]
    pub no_shell: bool,
}

impl ExecuteArgs {
    fn shape(&self) -> anyhow::Result<TaskShape> {
        for (flag, value) in [
            ("--cpus", self.cpus),
            ("--mem", self.mem),
            ("--gpus", self.gpus),
        ] {
            if !value.is_finite() || value < 0.0 {
                bail!("{flag} must be a number >= 0, got {value}");
            }
        }
        if self.cpus <= 0.0 && self.mem <= 0.0 {
            bail!("a task needs some --cpus or --mem");
        }
        Ok(TaskShape {
            cpus: self.cpus,
            mem: self.mem,
            gpus: self.gpus,
        })
    }
}

/// How the event loop ended.
enum Outcome {
    AllTerminal,
    Interrupted,
    /// The master went away or broke the protocol; nothing more can be done.
    Lost(ClientError),
    /// The master sent ERROR: the framework is gone.
    FrameworkError(String),
}

pub async fn run(args: ExecuteArgs) -> anyhow::Result<ExitCode> {
    let master = args.master.resolve().await?;
    let shape = args.shape()?;
    if args.instances == 0 {
        bail!("--instances must be at least 1");
    }
    if args.command.trim().is_empty() {
        bail!("--command must not be empty");
    }
    capacity::check(&master, &shape).await?;
    let started = Instant::now();
    // Left without context: an unreachable master must stay a bare `ClientError` so the
    // binary prints one line and exits 2.
    let (client, mut events) = SchedulerClient::subscribe(&master, framework_info(&args)).await?;
    println!(
        "Subscribed to {master} as framework {}; running {} task(s) of {} each: {}",
        client.framework_id(),
        args.instances,
        shape.describe(),
        args.command
    );
    let mut execution = Execution {
        tracker: Tracker::new(&args.name, args.instances),
        tls: master.tls().cloned(),
        etcd_tls: args.master.etcd_tls().await?,
        credential: master.credential().cloned(),
        client,
        shape,
        args,
        suppressed: false,
        told_offers_too_small: false,
    };
    let mut outcome = execution.event_loop(&mut events).await;
    // With several masters (or their etcd) a lost leader is a failover: follow it.
    let highly_available = MasterAddress::names_several(&execution.args.master.master);
    while highly_available && let Outcome::Lost(lost) = &outcome {
        match execution.resubscribe(lost).await {
            Ok(resubscribed) => {
                events = resubscribed;
                outcome = execution.event_loop(&mut events).await;
            }
            Err(e) => {
                outcome = Outcome::Lost(e);
                break;
            }
        }
    }
    // The subscription stays open through TEARDOWN: closing it first would make the master
    // drop the framework on its own (failover_timeout 0) and refuse the TEARDOWN.
    let code = execution.finish(outcome, started).await;
    drop(events);
    code
}

fn framework_info(args: &ExecuteArgs) -> FrameworkInfo {
    let mut capabilities = vec![Capability {
        kind: "MULTI_ROLE".into(),
    }];
    if args.gpus > 0.0 {
        capabilities.push(Capability {
            kind: "GPU_RESOURCES".into(),
        });
    }
    FrameworkInfo {
        // Empty asks the agent to run tasks as its own user.
        user: std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_default(),
        name: args.name.clone(),
        roles: vec![args.role.clone()],
        // 0: the master tears the framework down as soon as this process disconnects.
        failover_timeout: Some(0.0),
        capabilities,
        ..Default::default()
    }
}

struct Execution {
    client: SchedulerClient,
    /// What the master is presented, again on a failover.
    tls: Option<corral_client::ClientTls>,
    /// What `--master etcd://` is read over, again on a failover.
    etcd_tls: Option<corral_client::EtcdTls>,
    credential: Option<corral_http::auth::Credential>,
    tracker: Tracker,
    shape: TaskShape,
    args: ExecuteArgs,
    suppressed: bool,
    told_offers_too_small: bool,
}

impl Execution {
    /// After the leading master was lost: subscribes again, with this framework's id, to
    /// whichever master leads now (retrying for [`RESUBSCRIBE_WINDOW`]), and asks for every
    /// task's latest state (implicit reconciliation), as a Mesos framework does on failover.
    /// The master keeps the framework's tasks across a leader change (see README, HA).
    async fn resubscribe(&mut self, lost: &ClientError) -> Result<EventStream, ClientError> {
        let id = self.client.framework_id().clone();
        eprintln!("warning: {lost}; resubscribing as framework {id} to the leading master");
        let mut info = framework_info(&self.args);
        info.id = Some(id.clone());
        let deadline = Instant::now() + RESUBSCRIBE_WINDOW;
        loop {
            let attempt = async {
                let master = MasterAddress::pick_with_tls(
                    &self.args.master.master,
                    self.tls.clone(),
                    self.etcd_tls.as_ref(),
                )
                .await?
                .with_credential(self.credential.clone());
                let subscribed = SchedulerClient::subscribe(&master, info.clone()).await?;
                Ok::<_, ClientError>((master, subscribed))
            };
            match attempt.await {
                Ok((master, (client, events))) => {
                    println!("Resubscribed to {master} as framework {id}");
                    self.client = client;
                    // The new leader offers again and knows nothing of an old suppression.
                    self.suppressed = false;
                    self.client.reconcile(Vec::new()).await?;
                    return Ok(events);
                }
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(e) => tracing::debug!("resubscribe attempt failed: {e}"),
            }
            tokio::time::sleep(RESUBSCRIBE_RETRY).await;
        }
    }

    async fn event_loop(&mut self, events: &mut EventStream) -> Outcome {
        let interrupted = shutdown_requested();
        tokio::pin!(interrupted);
        let mut kill_check = tokio::time::interval(KILL_CHECK_INTERVAL);
        let kill_after = self.args.kill_after;
        loop {
            let result = tokio::select! {
                () = &mut interrupted => return Outcome::Interrupted,
                _ = kill_check.tick(), if kill_after.is_some() => {
                    self.kill_overdue(kill_after.unwrap_or_default()).await
                }
                event = events.next() => match event {
                    Ok(event) => self.handle(event).await,
                    Err(e) => Err(e),
                },
            };
            match result {
                Ok(None) => {}
                Ok(Some(outcome)) => return outcome,
                Err(e) => return Outcome::Lost(e),
            }
            if self.tracker.all_terminal() {
                return Outcome::AllTerminal;
            }
        }
    }

    /// Handles one event; `Ok(Some)` ends the run.
    async fn handle(&mut self, event: Event) -> Result<Option<Outcome>, ClientError> {
        match event.kind {
            EventType::Offers => {
                let offers = event.offers.map(|o| o.offers).unwrap_or_default();
                self.handle_offers(offers).await?;
            }
            EventType::Update => {
                if let Some(update) = event.update {
                    self.handle_update(update.status).await?;
                }
            }
            EventType::Error => {
                let message = event.error.map(|e| e.message).unwrap_or_default();
                return Ok(Some(Outcome::FrameworkError(message)));
            }
            EventType::Failure => {
                if let Some(failure) = event.failure {
                    let agent = failure.agent_id.map(|a| a.value).unwrap_or_default();
                    eprintln!("note: the master reports a failure on agent {agent}");
                }
            }
            // Offers are answered as soon as they arrive, so a rescind needs no action.
            _ => {}
        }
        Ok(None)
    }

    async fn handle_offers(&mut self, offers: Vec<Offer>) -> Result<(), ClientError> {
        let mut unused = Vec::new();
        for offer in offers {
            let wanted = self.tracker.unlaunched_count();
            let packed = if wanted == 0 {
                Vec::new()
            } else {
                pack(&offer.resources, &self.args.role, &self.shape, wanted)
            };
            if packed.is_empty() {
                if wanted > 0 && !self.told_offers_too_small {
                    self.told_offers_too_small = true;
                    eprintln!(
                        "note: an offer from {} ({}) cannot hold a task of {}; waiting for more",
                        offer.hostname,
                        corral_api::resources::Resources::from_list(&offer.resources).summary(),
                        self.shape.describe()
                    );
                }
                unused.push(offer.id);
                continue;
            }
            self.launch(offer, packed).await?;
        }
        if !unused.is_empty() {
            match self.client.decline(unused, Some(REFUSE_SECONDS)).await {
                Err(e @ ClientError::Refused { .. }) => eprintln!("warning: {e}"),
                other => other?,
            }
        }
        if self.tracker.unlaunched_count() == 0 && !self.suppressed {
            self.client.suppress(vec![self.args.role.clone()]).await?;
            self.suppressed = true;
        }
        Ok(())
    }

    async fn launch(
        &mut self,
        offer: Offer,
        packed: Vec<Vec<corral_api::v1::Resource>>,
    ) -> Result<(), ClientError> {
        let indices = self.tracker.unlaunched(packed.len());
        let mut task_infos = Vec::with_capacity(indices.len());
        for (&i, resources) in indices.iter().zip(packed) {
            let task = self.tracker.task(i);
            task_infos.push(TaskInfo {
                name: task.name.clone(),
                task_id: task.id.clone(),
                agent_id: offer.agent_id.clone(),
                resources,
                command: Some(command::command_info(
                    &self.args.command,
                    self.args.no_shell,
                    &self.args.uris,
                )),
                ..Default::default()
            });
            self.tracker.mark_launched(i, offer.agent_id.clone());
        }
        println!(
            "Launching {} task(s) on {} (agent {})",
            task_infos.len(),
            offer.hostname,
            offer.agent_id
        );
        let operation = Operation {
            kind: OperationType::Launch,
            launch: Some(Launch { task_infos }),
            reserve: None,
            unreserve: None,
            id: None,
        };
        match self
            .client
            .accept(vec![offer.id], vec![operation], Some(REFUSE_SECONDS))
            .await
        {
            Ok(()) => Ok(()),
            Err(e @ ClientError::Refused { .. }) => {
                // The master did not take the launch at all: these tasks wait for another offer.
                eprintln!("warning: {e}");
                for i in indices {
                    self.tracker.mark_unlaunched(i);
                }
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn handle_update(&mut self, status: TaskStatus) -> Result<(), ClientError> {
        match self.tracker.apply(&status, Instant::now()) {
            Applied::Changed(line) => println!("{line}"),
            Applied::Unchanged => {}
            Applied::Unknown => {
                tracing::debug!(task = %status.task_id, "update for a task this run does not know")
            }
        }
        // Only updates with a uuid are retried by the master, and only those are acknowledged.
        let Some(uuid) = status.uuid.clone() else {
            return Ok(());
        };
        let Some(agent_id) = status
            .agent_id
            .clone()
            .or_else(|| self.tracker.agent_of(&status.task_id))
        else {
            eprintln!(
                "warning: cannot acknowledge the update for {}: it names no agent",
                status.task_id
            );
            return Ok(());
        };
        match self
            .client
            .acknowledge(agent_id, status.task_id.clone(), uuid)
            .await
        {
            Err(e @ ClientError::Refused { .. }) => {
                eprintln!("warning: {e}");
                Ok(())
            }
            other => other,
        }
    }

    async fn kill_overdue(&mut self, after: Duration) -> Result<Option<Outcome>, ClientError> {
        for (task_id, agent_id) in self.tracker.due_for_kill(after, Instant::now()) {
            println!("Killing {task_id} after {}s", after.as_secs());
            match self.client.kill(task_id, agent_id).await {
                Err(e @ ClientError::Refused { .. }) => eprintln!("warning: {e}"),
                other => other?,
            }
        }
        Ok(None)
    }

    /// Tears down (when the master is still there), prints the summary, picks the exit code.
    async fn finish(self, outcome: Outcome, started: Instant) -> anyhow::Result<ExitCode> {
        let teardown = match &outcome {
            Outcome::AllTerminal => true,
            Outcome::Interrupted => {
                eprintln!(
                    "Interrupted: tearing down framework {}",
                    self.client.framework_id()
                );
                true
            }
            Outcome::Lost(e) => {
                eprintln!("error: {e}");
                false
            }
            Outcome::FrameworkError(message) => {
                eprintln!("error: the master ended the framework: {message}");
                false
            }
        };
        if teardown {
            match tokio::time::timeout(TEARDOWN_TIMEOUT, self.client.teardown()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => eprintln!("warning: TEARDOWN failed: {e}"),
                Err(_) => eprintln!("warning: TEARDOWN got no answer in time"),
            }
        }
        let (summary, all_finished) = self.tracker.summary(started.elapsed());
        print!("{summary}");
        let success = all_finished && matches!(outcome, Outcome::AllTerminal);
        Ok(if success {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        })
    }
}
