//! The scheduler driver: subscribes to the master as the framework `marathon` (with the
//! framework id it registered with before, so a restarted services process gets its tasks
//! back), reconciles, and carries out the pure decisions: launches from offers, declines
//! with a filter, kills, suppress and revive, and acknowledges every status update. A lost
//! master is followed: the driver subscribes again, to the new leader when there are several.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use corral_api::scheduler::{Event, EventType, Launch, Operation, OperationType, ReconcileTask};
use corral_api::v1::{AgentId, Capability, FrameworkInfo, Offer, TaskId, TaskStatus};
use corral_client::{ClientError, MasterAddress, scheduler_client::SchedulerClient};

use super::offer_stats::OfferStats;
use super::place::{PlaceContext, place};
use super::plan::plan;
use super::reconciliation::PendingReconciliation;
use crate::deployments::progress::{Progress, advance};
use crate::deployments::{Deployment, canary};
use crate::events::Event as ApiEvent;
use crate::events::kinds::Plan;
use crate::services::{Services, ServicesConfig};
use crate::store::Batch;
use crate::time::now_ms;
use crate::world::StatusEffect;
use crate::world::World;

/// How often the driver looks again without being woken (launch delays ending, kills to
/// resend, deployments finishing).
const TICK: Duration = Duration::from_secs(1);
/// How often every task is reconciled with the master.
const RECONCILE_EVERY: Duration = Duration::from_secs(600);
/// Filters on declined offers: short while tasks are wanted (the offer may fit after the
/// next change), long when nothing is (offers are suppressed then anyway).
const REFUSE_WHILE_WANTED: f64 = 5.0;
/// The most tasks one round of offers launches: an ACCEPT of thousands of tasks would pass
/// the master's 2 MiB request limit. The rest follow at the next allocation.
const LAUNCHES_PER_ROUND: u32 = 500;
/// The filter on offers when a round was cut at [`LAUNCHES_PER_ROUND`]: none, so the next
/// allocation offers the agents again.
const REFUSE_WHILE_CAPPED: f64 = 0.0;
const REFUSE_WHEN_IDLE: f64 = 120.0;

/// Runs until the process ends: subscribes, serves the subscription, subscribes again.
pub async fn run(services: Arc<Services>) {
    let mut backoff = Duration::from_millis(500);
    loop {
        match session(&services).await {
            Ok(()) => backoff = Duration::from_millis(500),
            Err(error) => {
                tracing::warn!(%error, "services: the subscription to the master ended; subscribing again");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

fn framework_info(services: &Services) -> FrameworkInfo {
    let config = &services.config;
    let capability = |kind: &str| Capability {
        kind: kind.to_string(),
    };
    FrameworkInfo {
        user: config.user.clone(),
        name: config.framework_name.clone(),
        id: services.framework_id().map(corral_api::v1::Id::new),
        failover_timeout: Some(ServicesConfig::FAILOVER_TIMEOUT_SECONDS),
        checkpoint: Some(true),
        roles: vec![config.role.clone()],
        hostname: Some(config.hostname.clone()),
        webui_url: Some(services.base_url()),
        principal: config.credential.as_ref().map(|c| c.principal.clone()),
        capabilities: vec![
            capability("MULTI_ROLE"),
            capability("PARTITION_AWARE"),
            capability("TASK_KILLING_STATE"),
            capability("GPU_RESOURCES"),
        ],
        ..FrameworkInfo::default()
    }
}

/// One subscription, from SUBSCRIBE until the stream ends.
async fn session(services: &Arc<Services>) -> Result<(), ClientError> {
    let config = &services.config;
    let master = MasterAddress::pick_with_tls(
        &config.master,
        config.master_tls.clone(),
        config.master_etcd_tls.as_ref(),
    )
    .await?
    .with_credential(config.credential.clone());
    let (client, mut events) = match SchedulerClient::subscribe(&master, framework_info(services))
        .await
    {
        Ok(subscribed) => subscribed,
        Err(ClientError::Refused { message, .. })
            if services.framework_id().is_some() && message.to_lowercase().contains("removed") =>
        {
            tracing::warn!(%message, "services: the master no longer knows this framework; registering anew");
            if let Err(error) = services.store.clear_framework_id().await {
                tracing::error!(%error, "services: cannot forget the old framework id");
            }
            services.set_framework_id(None);
            return Err(ClientError::Refused {
                addr: master.to_string(),
                what: "SUBSCRIBE".into(),
                status: 0,
                message,
            });
        }
        Err(error) => return Err(error),
    };
    let framework_id = client.framework_id().value.clone();
    if services.framework_id().as_deref() != Some(framework_id.as_str()) {
        if let Err(error) = services.store.set_framework_id(&framework_id).await {
            tracing::error!(%error, "services: cannot store the framework id");
        }
        services.set_framework_id(Some(framework_id.clone()));
    }
    tracing::info!(master = %master, framework = %framework_id, "services: subscribed as framework 'marathon'");
    // The event stream is read by its own task: its silence detection must not be reset by
    // the driver's other wake-ups.
    let (sender, mut received) = mpsc::channel::<Result<Event, ClientError>>(1024);
    let reader = tokio::spawn(async move {
        loop {
            let event = events.next().await;
            let end = event.is_err();
            if sender.send(event).await.is_err() || end {
                return;
            }
        }
    });
    let mut driver = Driver {
        services: services.clone(),
        client,
        suppressed: false,
        filtered: false,
        reconciling: None,
    };
    driver.reconcile().await;
    let mut tick = tokio::time::interval(TICK);
    let mut reconcile = tokio::time::interval(RECONCILE_EVERY);
    reconcile.tick().await;
    let outcome = loop {
        tokio::select! {
            event = received.recv() => match event {
                Some(Ok(event)) => {
                    if let Err(error) = driver.handle(event).await {
                        break Err(error);
                    }
                }
                Some(Err(error)) => break Err(error),
                None => break Ok(()),
            },
            () = services.woken() => driver.evaluate().await,
            _ = tick.tick() => driver.evaluate().await,
            _ = reconcile.tick() => driver.reconcile().await,
        }
    };
    reader.abort();
    outcome
}

/// `deployment_step_success` for step `index` of `deployment`, and `app_terminated_event`
/// for each app the step stopped.
fn publish_step_done(services: &Services, deployment: &Deployment, index: usize, world: &World) {
    let Some(actions) = deployment.steps.get(index) else {
        return;
    };
    let plan = Plan::of(deployment, world);
    services.publish(ApiEvent::deployment_step(
        "deployment_step_success",
        &plan,
        actions,
    ));
    for action in actions
        .iter()
        .filter(|a| a.action == crate::deployments::STOP)
    {
        services.publish(ApiEvent::app_terminated(&action.app));
    }
}

/// The events of a status update: `status_update_event` and `instance_changed_event` when
/// the task's record changed or it ended, and the health events when a Mesos-side check's
/// report changed the task's health.
fn publish_status(
    services: &Services,
    status: &TaskStatus,
    effect: &StatusEffect,
    healthy_before: Option<bool>,
) {
    let record = match effect {
        StatusEffect::Updated(record) | StatusEffect::Ended { record, .. } => record,
        _ => return,
    };
    services.publish(ApiEvent::status_update(record, status));
    services.publish(ApiEvent::instance_changed(record, status.state));
    if let Some(healthy) = status.healthy
        && healthy_before != Some(healthy)
    {
        services.publish(ApiEvent::health_status_changed(record, healthy));
        services.publish(ApiEvent::instance_health_changed(record, healthy));
    }
}

struct Driver {
    services: Arc<Services>,
    client: SchedulerClient,
    /// Whether offers are suppressed (a fresh subscription is not).
    suppressed: bool,
    /// Whether offers were declined with the long filter (nothing was wanted then); a revive
    /// lifts it once something is (a new deployment step, a launch delay over).
    filtered: bool,
    /// The tasks of the last explicit reconciliation not answered yet.
    reconciling: Option<PendingReconciliation>,
}

impl Driver {
    async fn handle(&mut self, event: Event) -> Result<(), ClientError> {
        match event.kind {
            EventType::Offers => {
                let offers = event.offers.map(|o| o.offers).unwrap_or_default();
                self.offers(offers).await;
            }
            EventType::Update => {
                if let Some(update) = event.update {
                    self.update(update.status).await;
                }
            }
            EventType::Error => {
                let message = event.error.map(|e| e.message).unwrap_or_default();
                return Err(ClientError::Disconnected {
                    addr: self.client.master().to_string(),
                    reason: format!("the master sent ERROR: {message}"),
                });
            }
            _ => {}
        }
        Ok(())
    }

    /// Launches what the plan needs from `offers`; declines the rest.
    async fn offers(&mut self, offers: Vec<Offer>) {
        let now = now_ms();
        let services = &self.services;
        let (placement, still_wanted, capped) = {
            let mut world = services.world.lock().await;
            let mut plan = plan(&world, now);
            let wanted: usize = plan.launches.iter().map(|l| l.count as usize).sum();
            let capped = plan.cap_launches(LAUNCHES_PER_ROUND);
            let ctx = PlaceContext {
                framework_role: &services.config.role,
                now_ms: now,
            };
            let mut new_uuid = || uuid::Uuid::new_v4().to_string();
            let placement = place(&world, &plan, &offers, &ctx, &mut new_uuid);
            for matched in &placement.matched {
                world
                    .offer_stats
                    .entry(matched.app_id.clone())
                    .or_insert_with(|| OfferStats::new(now))
                    .record(matched, now);
            }
            let placed: usize = placement.launches.iter().map(|l| l.records.len()).sum();
            let mut batch = Batch::new();
            for record in placement.launches.iter().flat_map(|l| &l.records) {
                batch.put_task(record);
            }
            // A task is stored before it is launched, so no restart can lose it.
            if let Err(error) = services.store.apply_in_parts(batch).await {
                tracing::error!(%error, "services: cannot store new tasks; declining the offers");
                drop(world);
                let ids = offers.iter().map(|o| o.id.clone()).collect();
                self.decline(ids, REFUSE_WHILE_WANTED).await;
                return;
            }
            for record in placement.launches.iter().flat_map(|l| &l.records) {
                tracing::info!(task = %record.id, host = %record.host, "services: launching");
                world.tasks.insert(record.id.clone(), record.clone());
            }
            (placement, placed < wanted, capped)
        };
        let refuse = if capped {
            REFUSE_WHILE_CAPPED
        } else if still_wanted {
            REFUSE_WHILE_WANTED
        } else {
            self.filtered = true;
            REFUSE_WHEN_IDLE
        };
        for launch in placement.launches {
            let operation = Operation {
                kind: OperationType::Launch,
                launch: Some(Launch {
                    task_infos: launch.tasks,
                }),
                reserve: None,
                unreserve: None,
                id: None,
            };
            if let Err(error) = self
                .client
                .accept(vec![launch.offer_id], vec![operation], Some(refuse))
                .await
            {
                tracing::warn!(%error, "services: ACCEPT failed; asking the master what became of its tasks");
                let tasks = launch
                    .records
                    .iter()
                    .map(|r| ReconcileTask {
                        task_id: TaskId::new(r.id.clone()),
                        agent_id: Some(AgentId::new(r.agent_id.clone())),
                    })
                    .collect();
                let _ = self.client.reconcile(tasks).await;
            }
        }
        if !placement.unused.is_empty() {
            self.decline(placement.unused, refuse).await;
        }
    }

    async fn decline(&self, offer_ids: Vec<corral_api::v1::OfferId>, refuse: f64) {
        if let Err(error) = self.client.decline(offer_ids, Some(refuse)).await {
            tracing::warn!(%error, "services: DECLINE failed");
        }
    }

    /// Takes in one status update, stores what changed, then acknowledges it.
    async fn update(&mut self, status: TaskStatus) {
        if let Some(pending) = &mut self.reconciling
            && pending.answered(&status.task_id.value)
        {
            tracing::info!(
                tasks = pending.asked(),
                ms = u64::try_from(pending.elapsed().as_millis()).unwrap_or(u64::MAX),
                "services: every task reconciled"
            );
            self.reconciling = None;
        }
        let now = now_ms();
        let effect = {
            let mut world = self.services.world.lock().await;
            let healthy_before = world
                .tasks
                .get(&status.task_id.value)
                .and_then(|t| t.healthy);
            let effect = world.apply_status(&status, now);
            publish_status(&self.services, &status, &effect, healthy_before);
            let mut batch = Batch::new();
            match &effect {
                StatusEffect::Updated(record) => batch.put_task(record),
                StatusEffect::Ended { record, .. } => batch.delete_task(&record.id),
                _ => {}
            }
            if let Err(error) = self.services.store.apply(batch).await {
                tracing::error!(%error, task = %status.task_id, "services: cannot store a task's state");
            }
            effect
        };
        match &effect {
            StatusEffect::KillUnknown => {
                tracing::info!(task = %status.task_id, "services: killing a task no app owns");
                if let Err(error) = self
                    .client
                    .kill(status.task_id.clone(), status.agent_id.clone())
                    .await
                {
                    tracing::warn!(%error, "services: KILL failed");
                }
            }
            StatusEffect::Ended { record, unexpected } => {
                tracing::info!(task = %record.id, state = %status.state, unexpected = *unexpected,
                    "services: task ended");
                if *unexpected {
                    self.services.changed(true);
                }
            }
            _ => {}
        }
        if let (Some(uuid), Some(agent_id)) = (&status.uuid, &status.agent_id)
            && let Err(error) = self
                .client
                .acknowledge(agent_id.clone(), status.task_id.clone(), uuid.clone())
                .await
        {
            tracing::warn!(%error, task = %status.task_id, "services: ACKNOWLEDGE failed");
        }
        if !matches!(effect, StatusEffect::Nothing | StatusEffect::Updated(_)) {
            self.evaluate().await;
        }
    }

    /// Kills what the plan says, finishes deployments that took effect, and suppresses or
    /// revives offers.
    async fn evaluate(&mut self) {
        let now = now_ms();
        let (kills, wants_offers, roll_back) = {
            let mut world = self.services.world.lock().await;
            world.delays.retain(|_, d| !d.expired(now));
            self.advance_deployments(&mut world).await;
            let roll_back = self.watch_canaries(&mut world, now).await;
            let plan = plan(&world, now);
            // A first kill of a task is stored, so a new leader carries it out too.
            let mut batch = Batch::new();
            for kill in &plan.kills {
                if let Some(task) = world.tasks.get_mut(&kill.task_id) {
                    let first = !task.kill_requested();
                    task.kill_requested_at = Some(now);
                    if first {
                        batch.put_task(task);
                    }
                }
            }
            if let Err(error) = self.services.store.apply_in_parts(batch).await {
                tracing::error!(%error, "services: cannot store the kills");
            }
            // An app waits from the first evaluation that finds it short (`/v2/queue`'s
            // `since`); one no longer waiting starts afresh next time.
            let waiting: Vec<&str> = plan
                .launches
                .iter()
                .chain(&plan.delayed)
                .map(|l| l.app_id.as_str())
                .collect();
            world
                .offer_stats
                .retain(|app, _| waiting.contains(&app.as_str()));
            for app in waiting {
                world
                    .offer_stats
                    .entry(app.to_string())
                    .or_insert_with(|| OfferStats::new(now));
            }
            let wants = plan.wants_offers();
            (plan.kills, wants, roll_back)
        };
        for deployment in roll_back {
            match self.services.cancel_deployment(&deployment, false).await {
                Ok(_) => tracing::info!(%deployment, "services: deployment rolled back"),
                Err(error) => {
                    tracing::error!(%deployment, %error, "services: cannot roll back a failed canary");
                }
            }
        }
        for kill in kills {
            tracing::info!(task = %kill.task_id, "services: killing");
            if let Err(error) = self
                .client
                .kill(TaskId::new(kill.task_id), Some(AgentId::new(kill.agent_id)))
                .await
            {
                tracing::warn!(%error, "services: KILL failed");
            }
        }
        let roles = vec![self.services.config.role.clone()];
        let revive_asked = self.services.take_revive();
        if wants_offers && (self.suppressed || revive_asked || self.filtered) {
            match self.client.revive(roles).await {
                Ok(()) => {
                    self.suppressed = false;
                    self.filtered = false;
                }
                Err(error) => tracing::warn!(%error, "services: REVIVE failed"),
            }
        } else if !wants_offers && !self.suppressed {
            match self.client.suppress(roles).await {
                Ok(()) => self.suppressed = true,
                Err(error) => tracing::warn!(%error, "services: SUPPRESS failed"),
            }
        }
    }

    /// Brings the canaries up to date (stored when they change); answers the deployments
    /// whose canary failed and that ask to be rolled back (the rollback announces them as
    /// failed).
    async fn watch_canaries(&self, world: &mut World, now: u64) -> Vec<String> {
        let watched = canary::watch(world, now);
        let mut batch = Batch::new();
        for id in &watched.changed {
            if let Some(d) = world.deployments.get(id) {
                batch.put_deployment(d);
            }
        }
        if let Err(error) = self.services.store.apply(batch).await {
            tracing::error!(%error, "services: cannot store the canaries' state");
        }
        let mut roll_back = Vec::new();
        for failed in watched.failed {
            if roll_back.contains(&failed.deployment) {
                continue;
            }
            tracing::warn!(deployment = %failed.deployment, app = %failed.app, "services: a canary failed; rolling back");
            roll_back.push(failed.deployment);
        }
        roll_back
    }

    /// Moves deployments past their finished steps; stores how far each got and removes the
    /// finished ones.
    async fn advance_deployments(&self, world: &mut World) {
        let progress = advance(world);
        if progress.is_empty() {
            return;
        }
        let mut batch = Batch::new();
        for step in &progress {
            match step {
                Progress::StepDone { deployment, index } => {
                    tracing::info!(deployment = %deployment, step = index + 1, "services: deployment step done");
                    if let Some(d) = world.deployments.get(deployment) {
                        batch.put_deployment(d);
                        publish_step_done(&self.services, d, *index, world);
                    }
                }
                Progress::Finished { deployment } => {
                    batch.delete_deployment(deployment);
                    if let Some(d) = world.deployments.get(deployment) {
                        let plan = Plan::of(d, world);
                        self.services
                            .publish(ApiEvent::deployment_ended(&plan, None));
                        self.services
                            .publish(ApiEvent::group_change_success("/", &d.version.to_string()));
                    }
                }
            }
        }
        if let Err(error) = self.services.store.apply(batch).await {
            tracing::error!(%error, "services: cannot store the deployments' progress");
            return;
        }
        for step in &progress {
            if let Progress::Finished { deployment } = step {
                tracing::info!(deployment = %deployment, "services: deployment finished");
                world.deployments.remove(deployment);
            }
        }
    }

    /// Explicit reconciliation of every task on record (the master answers each with its
    /// state, or TASK_LOST/UNKNOWN when it has none), then implicit (every task the master
    /// has for this framework, so strays are found and killed).
    async fn reconcile(&mut self) {
        let known: Vec<ReconcileTask> = {
            let world = self.services.world.lock().await;
            world
                .tasks
                .values()
                .map(|t| ReconcileTask {
                    task_id: TaskId::new(t.id.clone()),
                    agent_id: Some(AgentId::new(t.agent_id.clone())),
                })
                .collect()
        };
        self.reconciling =
            PendingReconciliation::new(known.iter().map(|t| t.task_id.value.clone()));
        if !known.is_empty()
            && let Err(error) = self.client.reconcile(known).await
        {
            tracing::warn!(%error, "services: explicit RECONCILE failed");
        }
        if let Err(error) = self.client.reconcile(Vec::new()).await {
            tracing::warn!(%error, "services: implicit RECONCILE failed");
        }
    }
}
