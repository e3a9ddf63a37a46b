//! Runs the Marathon-side health checks (`HTTP`, `HTTPS`, `TCP`) of every running task, each
//! every `intervalSeconds` from the moment the task runs, and the readiness checks of the
//! tasks a deployment step is starting, until they are ready. Attempts run concurrently and
//! report back here; a task that fails `maxConsecutiveFailures` checks in a row is marked
//! to be killed (stored, so the kill survives a failover) and the driver replaces it.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::probe::{self, HttpAnswer};
use super::readiness::{Readiness, readiness_port};
use super::state::{Outcome, Verdict};
use crate::app_ops::KILL_NOT_SENT;
use crate::deployments::progress::{self, Mode};
use crate::events::Event;
use crate::health::mesos::check_port;
use crate::model::checks::{HealthCheck, ReadinessCheck};
use crate::services::Services;
use crate::store::Batch;
use crate::tasks::TaskRecord;
use crate::time::now_ms;
use crate::world::World;

/// How often due checks are looked for.
const TICK: Duration = Duration::from_millis(250);

/// One attempt to make.
struct Attempt {
    task_id: String,
    host: String,
    port: Option<u32>,
    what: What,
}

enum What {
    Health { index: usize, check: HealthCheck },
    Readiness { check: ReadinessCheck },
}

/// One attempt's result.
struct Finished {
    task_id: String,
    what: What,
    result: Result<HttpAnswer, String>,
    /// For a health check: what the answer means.
    outcome: Outcome,
}

/// Runs until the process ends (or the task is aborted when leadership is lost).
pub async fn run(services: Arc<Services>) {
    let (sender, mut finished) = mpsc::channel::<Finished>(4096);
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            _ = tick.tick() => {
                for attempt in due(&services).await {
                    let sender = sender.clone();
                    tokio::spawn(async move {
                        let done = attempt.run().await;
                        let _ = sender.send(done).await;
                    });
                }
            }
            Some(done) = finished.recv() => apply(&services, done).await,
        }
    }
}

/// The attempts due now, marked in flight.
async fn due(services: &Services) -> Vec<Attempt> {
    let now = now_ms();
    let mut world = services.world.lock().await;
    let mut attempts = Vec::new();
    let apps: Vec<_> = world
        .apps
        .values()
        .filter(|a| {
            a.health_checks.iter().any(|c| !c.is_mesos_check()) || !a.readiness_checks.is_empty()
        })
        .cloned()
        .collect();
    for app in apps {
        let in_step = matches!(
            progress::mode(&world, &app.id),
            Mode::Scale | Mode::Restart(_)
        );
        let tasks: Vec<TaskRecord> = world
            .tasks_of(&app.id)
            .filter(|t| t.is_running() && !t.kill_requested())
            .cloned()
            .collect();
        for task in tasks {
            let count = app.health_checks.len();
            for (index, check) in app.health_checks.iter().enumerate() {
                if check.is_mesos_check() {
                    continue;
                }
                let Some(health) = world.health_of(&task.id, count).get_mut(index) else {
                    continue;
                };
                if health.in_flight || now < health.next_check_ms {
                    continue;
                }
                health.in_flight = true;
                health.next_check_ms = now + u64::from(check.interval_seconds.max(1)) * 1000;
                attempts.push(Attempt {
                    task_id: task.id.clone(),
                    host: task.host.clone(),
                    port: check_port(check, &task.ports),
                    what: What::Health {
                        index,
                        check: check.clone(),
                    },
                });
            }
            if !in_step {
                continue;
            }
            for check in &app.readiness_checks {
                let readiness = world
                    .readiness
                    .entry(task.id.clone())
                    .or_insert_with(|| Readiness::new(check, &task.id));
                if readiness.ready || readiness.in_flight || now < readiness.next_check_ms {
                    continue;
                }
                readiness.in_flight = true;
                readiness.next_check_ms = now + u64::from(check.interval_seconds.max(1)) * 1000;
                attempts.push(Attempt {
                    task_id: task.id.clone(),
                    host: task.host.clone(),
                    port: readiness_port(&app, check, &task.ports),
                    what: What::Readiness {
                        check: check.clone(),
                    },
                });
            }
        }
    }
    attempts
}

impl Attempt {
    async fn run(self) -> Finished {
        let Some(port) = self.port else {
            return self.finish(Err("the task has no such port".into()));
        };
        match &self.what {
            What::Health { check, .. } => {
                let timeout = Duration::from_secs(u64::from(check.timeout_seconds.max(1)));
                let result = match check.protocol.as_str() {
                    "TCP" => probe::tcp_connect(&self.host, port, timeout)
                        .await
                        .map(|()| connected()),
                    "HTTPS" => probe::tls_handshake(&self.host, port, timeout)
                        .await
                        .map(|()| connected()),
                    _ => {
                        let path = check.path.as_deref().unwrap_or("/");
                        probe::http_get(&self.host, port, path, timeout).await
                    }
                };
                self.finish(result)
            }
            What::Readiness { check } => {
                let timeout = Duration::from_secs(u64::from(check.timeout_seconds.max(1)));
                let result = probe::http_get(&self.host, port, &check.path, timeout).await;
                self.finish(result)
            }
        }
    }

    fn finish(self, result: Result<HttpAnswer, String>) -> Finished {
        let outcome = match (&self.what, &result) {
            (_, Err(e)) => Outcome::Unhealthy(e.clone()),
            (What::Health { check, .. }, Ok(answer)) => http_outcome(check, answer),
            (What::Readiness { .. }, Ok(_)) => Outcome::Healthy,
        };
        Finished {
            task_id: self.task_id,
            what: self.what,
            result,
            outcome,
        }
    }
}

/// A TCP or TLS check's success, as an answer that passes.
fn connected() -> HttpAnswer {
    HttpAnswer {
        status: 200,
        content_type: String::new(),
        body: String::new(),
    }
}

/// An HTTP answer under a health check: 200-399 passes; 1xx is no result with
/// `ignoreHttp1xx`.
fn http_outcome(check: &HealthCheck, answer: &HttpAnswer) -> Outcome {
    match answer.status {
        200..=399 => Outcome::Healthy,
        100..=199 if check.ignore_http1xx == Some(true) => Outcome::Ignored,
        status => Outcome::Unhealthy(format!("HTTP status {status}")),
    }
}

/// Takes in one result: the health or readiness it changes, and the kill it asks for.
async fn apply(services: &Services, done: Finished) {
    let now = now_ms();
    let mut world = services.world.lock().await;
    let Some(task) = world.tasks.get(&done.task_id).cloned() else {
        return;
    };
    match done.what {
        What::Readiness { check } => {
            let Some(readiness) = world.readiness.get_mut(&done.task_id) else {
                return;
            };
            readiness.judge(&check, done.result);
            if readiness.ready {
                drop(world);
                // A step may be done now.
                services.changed(false);
            }
        }
        What::Health { index, check } => {
            let count = world
                .apps
                .get(&task.app_id)
                .map_or(0, |a| a.health_checks.len());
            let started = task.started_at.map_or(now, |t| t.0);
            let Some(health) = world.health_of(&done.task_id, count).get_mut(index) else {
                return;
            };
            health.in_flight = false;
            let verdicts = health.judge(&check, done.outcome, started, now);
            for verdict in verdicts {
                match verdict {
                    Verdict::Quiet => {}
                    Verdict::Failed => services.publish(Event::failed_health_check(&task, &check)),
                    Verdict::Changed(alive) => {
                        services.publish(Event::health_status_changed(&task, alive));
                        services.changed(false);
                    }
                    Verdict::Kill(reason) => {
                        kill_unhealthy(services, &mut world, &task, &reason).await
                    }
                }
            }
        }
    }
}

/// Marks a task that failed too many health checks to be killed, and stores the mark.
async fn kill_unhealthy(services: &Services, world: &mut World, task: &TaskRecord, reason: &str) {
    tracing::info!(task = %task.id, %reason, "services: killing a task that failed its health checks");
    let marked = TaskRecord {
        kill_requested_at: Some(KILL_NOT_SENT),
        ..task.clone()
    };
    let mut batch = Batch::new();
    batch.put_task(&marked);
    if let Err(error) = services.store.apply(batch).await {
        tracing::error!(%error, task = %task.id, "services: cannot store a kill");
    }
    world.tasks.insert(task.id.clone(), marked);
    world
        .unhealthy_kills
        .insert(task.app_id.clone(), task.version);
    services.publish(Event::unhealthy_task_kill(task, reason));
    services.changed(true);
}
