//! An example Mesos v1 framework, written against the HTTP API directly: the code a framework
//! author would copy. It uses no Corral crates, so it runs unchanged against Apache Mesos.
//!
//!   example-framework --master 127.0.0.1:5050 --tasks 5 --command 'echo hello'
//!
//! What it does, with the part of the Mesos docs that explains each step:
//! 1. SUBSCRIBE: one POST whose response stays open as a stream of events
//!    (https://mesos.apache.org/documentation/latest/scheduler-http-api/#subscribe).
//! 2. RECONCILE once, to learn the state of any task the master knows for us
//!    (https://mesos.apache.org/documentation/latest/reconciliation/).
//! 3. On OFFERS, launch tasks with ACCEPT, decline what it cannot use, SUPPRESS when done
//!    (https://mesos.apache.org/documentation/latest/app-framework-development-guide/).
//! 4. On UPDATE, ACKNOWLEDGE every status that carries a uuid, or the agent resends it
//!    (https://mesos.apache.org/documentation/latest/scheduler-http-api/#acknowledge).
//! 5. TEARDOWN when every task has ended.
//!
//! Message shapes are in include/mesos/v1/scheduler/scheduler.proto and
//! include/mesos/v1/mesos.proto; JSON uses the proto field names, enums as strings.

mod recordio;
mod scheduler;

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use scheduler::Scheduler;

/// What each task asks for.
const TASK_CPUS: f64 = 0.1;
const TASK_MEM: f64 = 32.0;

struct Options {
    master: String,
    tasks: usize,
    command: String,
}

fn parse_options() -> anyhow::Result<Options> {
    let mut options = Options {
        master: std::env::var("CORRAL_MASTER").unwrap_or_else(|_| "127.0.0.1:5050".into()),
        tasks: 3,
        command: "echo hello from $MESOS_TASK_ID".into(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--master" => options.master = value()?,
            "--tasks" => options.tasks = value()?.parse().context("--tasks must be a number")?,
            "--command" => options.command = value()?,
            "--help" | "-h" => {
                println!(
                    "usage: example-framework [--master HOST:PORT] [--tasks N] [--command CMD]"
                );
                std::process::exit(0);
            }
            other => bail!("unknown flag {other}; try --help"),
        }
    }
    Ok(options)
}

/// The sum of an unreserved scalar resource in an offer, e.g. "cpus".
fn scalar(offer: &Value, name: &str) -> f64 {
    offer["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["name"] == name && r["type"] == "SCALAR")
        // Reserved resources carry a "reservations" stack; this example only uses unreserved.
        .filter(|r| r["reservations"].as_array().is_none_or(|a| a.is_empty()))
        .filter_map(|r| r["scalar"]["value"].as_f64())
        .sum()
}

/// One task's resources, tagged with the role the offer was made to (MULTI_ROLE frameworks
/// must say which of their roles each resource is allocated to).
fn task_resources(offer: &Value) -> Value {
    let allocation = offer["resources"][0]["allocation_info"].clone();
    let scalar = |name: &str, value: f64| {
        let mut r = json!({"name": name, "type": "SCALAR", "scalar": {"value": value}});
        if !allocation.is_null() {
            r["allocation_info"] = allocation.clone();
        }
        r
    };
    json!([scalar("cpus", TASK_CPUS), scalar("mem", TASK_MEM)])
}

/// Framework state: which tasks exist and where they stand.
struct Framework {
    options: Options,
    launched: usize,
    /// task id -> last state
    states: HashMap<String, String>,
    suppressed: bool,
}

impl Framework {
    /// Answers every offer: ACCEPT with as many tasks as fit, or DECLINE.
    async fn on_offers(&mut self, scheduler: &Scheduler, offers: &[Value]) -> anyhow::Result<()> {
        for offer in offers {
            let offer_id = offer["id"].clone();
            let remaining = self.options.tasks - self.launched;
            let fit = ((scalar(offer, "cpus") + 1e-9) / TASK_CPUS)
                .min((scalar(offer, "mem") + 1e-9) / TASK_MEM)
                .floor() as usize;
            let count = fit.min(remaining);
            if count == 0 {
                // Filters tell the allocator not to offer this agent again for a while.
                scheduler.decline(&offer_id, 5.0).await?;
                continue;
            }
            let tasks: Vec<Value> = (0..count)
                .map(|_| {
                    self.launched += 1;
                    let id = format!("example-{}-{}", self.launched, std::process::id());
                    self.states.insert(id.clone(), "TASK_STAGING".into());
                    json!({
                        "name": format!("example-{}", self.launched),
                        "task_id": {"value": id},
                        "agent_id": offer["agent_id"],
                        "resources": task_resources(offer),
                        "command": {"shell": true, "value": self.options.command},
                    })
                })
                .collect();
            println!(
                "launching {count} task(s) on {}",
                offer["hostname"].as_str().unwrap_or("?")
            );
            scheduler.launch(&offer_id, tasks).await?;
        }
        if self.launched == self.options.tasks && !self.suppressed {
            // No more offers needed: SUPPRESS stops them until a REVIVE.
            scheduler.suppress().await?;
            self.suppressed = true;
        }
        Ok(())
    }

    /// Records a status update and acknowledges it. Returns true when every task has ended.
    async fn on_update(&mut self, scheduler: &Scheduler, status: &Value) -> anyhow::Result<bool> {
        let task_id = status["task_id"]["value"].as_str().unwrap_or_default();
        let state = status["state"].as_str().unwrap_or_default();
        let message = status["message"].as_str().unwrap_or_default();
        println!("{}", format!("{task_id}  {state}  {message}").trim_end());
        if let Some(known) = self.states.get_mut(task_id) {
            *known = state.to_string();
        }
        // Only updates with a uuid are acknowledged; reconciliation answers carry none.
        if let Some(uuid) = status["uuid"].as_str() {
            scheduler
                .acknowledge(&status["agent_id"], &status["task_id"], uuid)
                .await?;
        }
        Ok(self.launched == self.options.tasks && self.states.values().all(|s| is_terminal(s)))
    }
}

fn is_terminal(state: &str) -> bool {
    matches!(
        state,
        "TASK_FINISHED"
            | "TASK_FAILED"
            | "TASK_KILLED"
            | "TASK_ERROR"
            | "TASK_LOST"
            | "TASK_DROPPED"
            | "TASK_GONE"
            | "TASK_GONE_BY_OPERATOR"
    )
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let options = parse_options()?;
    if options.tasks == 0 {
        bail!("--tasks must be at least 1");
    }
    let framework_info = json!({
        "user": std::env::var("USER").unwrap_or_default(),
        "name": "example-framework",
        "roles": ["*"],
        "capabilities": [{"type": "MULTI_ROLE"}],
        // 0 means: if this process goes away, the master ends the framework and its tasks.
        "failover_timeout": 0.0,
    });
    let (scheduler, mut events) = Scheduler::subscribe(&options.master, framework_info).await?;
    println!("subscribed as framework {}", scheduler.framework_id());

    // Implicit reconciliation: an empty task list asks for every task the master knows.
    scheduler.reconcile().await?;

    let mut framework = Framework {
        options,
        launched: 0,
        states: HashMap::new(),
        suppressed: false,
    };
    // The master sends HEARTBEAT every heartbeat_interval_seconds; silence for several
    // intervals means the connection is dead even if TCP has not noticed.
    let silence_limit = Duration::from_secs_f64(scheduler.heartbeat_seconds() * 3.0);
    loop {
        let event = tokio::time::timeout(silence_limit, events.next())
            .await
            .context("no event or heartbeat from the master; giving up")??;
        match event["type"].as_str().unwrap_or_default() {
            "OFFERS" => {
                let offers = event["offers"]["offers"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                framework.on_offers(&scheduler, &offers).await?;
            }
            "UPDATE" => {
                let all_ended = framework
                    .on_update(&scheduler, &event["update"]["status"])
                    .await?;
                if all_ended {
                    break;
                }
            }
            "ERROR" => bail!(
                "the master ended the framework: {}",
                event["error"]["message"]
            ),
            // HEARTBEAT, RESCIND (offers are answered at once), MESSAGE, FAILURE: nothing to do.
            _ => {}
        }
    }
    scheduler.teardown().await?;
    let failed = framework
        .states
        .iter()
        .filter(|(_, state)| state.as_str() != "TASK_FINISHED")
        .count();
    println!(
        "{} task(s) ended, {failed} not finished",
        framework.states.len()
    );
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
