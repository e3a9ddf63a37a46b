//! An app as `GET /v2/apps` shows it (Marathon's `AppInfo`): the definition, plus what the
//! request embeds — counts (`tasksStaged`, `tasksRunning`, `tasksHealthy`,
//! `tasksUnhealthy`), `deployments`, `readinessCheckResults`, `tasks`, `lastTaskFailure`,
//! `taskStats`. Embed names are accepted with the `apps.`, `app.` or `group.apps.` prefix,
//! or none, as Marathon's InfoEmbedResolver does.

use serde_json::{Map, Value, json};

use crate::model::App;
use crate::tasks::TaskRecord;
use crate::time::Timestamp;
use crate::world::World;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Embed {
    pub counts: bool,
    pub deployments: bool,
    pub readiness: bool,
    pub tasks: bool,
    pub last_task_failure: bool,
    pub task_stats: bool,
}

impl Embed {
    /// What `GET /v2/apps` always embeds.
    pub fn list_default() -> Embed {
        Embed {
            counts: true,
            deployments: true,
            ..Embed::default()
        }
    }

    /// What `GET /v2/apps/{id}` always embeds (Marathon keeps them for compatibility).
    pub fn show_default() -> Embed {
        Embed {
            counts: true,
            deployments: true,
            tasks: true,
            last_task_failure: true,
            ..Embed::default()
        }
    }

    /// Adds the `embed` query values to `self`.
    pub fn with(mut self, values: &[&str]) -> Embed {
        for value in values {
            let name = ["group.apps.", "apps.", "app."]
                .iter()
                .find_map(|p| value.strip_prefix(p))
                .unwrap_or(value);
            match name {
                "tasks" => {
                    self.tasks = true;
                    self.deployments = true;
                }
                "failures" => {
                    self.tasks = true;
                    self.last_task_failure = true;
                    self.deployments = true;
                }
                "deployments" => self.deployments = true,
                "readiness" => self.readiness = true,
                "lastTaskFailure" => self.last_task_failure = true,
                "counts" => self.counts = true,
                "taskStats" => self.task_stats = true,
                _ => {}
            }
        }
        self
    }
}

pub fn app_info(world: &World, app: &App, embed: Embed, now_ms: u64) -> Value {
    let mut object = app.to_json();
    let tasks: Vec<&TaskRecord> = world.tasks_of(&app.id).collect();
    if embed.counts {
        let (staged, running) = world.counts(&app.id);
        let (healthy, unhealthy) = world.health_counts(&app.id);
        object.extend(counts_json([staged, running, healthy, unhealthy], "tasks"));
    }
    if embed.deployments {
        let ids: Vec<Value> = world
            .deployments_of(&app.id)
            .into_iter()
            .map(|id| json!({"id": id}))
            .collect();
        object.insert("deployments".into(), Value::Array(ids));
    }
    if embed.readiness {
        object.insert(
            "readinessCheckResults".into(),
            Value::Array(world.readiness_json(&app.id)),
        );
    }
    if embed.tasks {
        let list: Vec<Value> = tasks.iter().map(|t| world.task_json(t, &[])).collect();
        object.insert("tasks".into(), Value::Array(list));
    }
    if embed.last_task_failure
        && let Some(failure) = world.failures.get(&app.id)
    {
        object.insert("lastTaskFailure".into(), failure.to_json());
    }
    if embed.task_stats {
        object.insert("taskStats".into(), task_stats(world, app, &tasks, now_ms));
    }
    Value::Object(object)
}

/// The four counts (staged, running, healthy, unhealthy), with `prefix` (`tasksStaged`) or
/// without (`staged`).
fn counts_json(counts: [usize; 4], prefix: &str) -> Map<String, Value> {
    let [staged, running, healthy, unhealthy] = counts;
    let key = |name: &str| {
        if prefix.is_empty() {
            name.to_lowercase()
        } else {
            format!("{prefix}{name}")
        }
    };
    let mut map = Map::new();
    map.insert(key("Staged"), json!(staged));
    map.insert(key("Running"), json!(running));
    map.insert(key("Healthy"), json!(healthy));
    map.insert(key("Unhealthy"), json!(unhealthy));
    map
}

/// `taskStats`: counts and life times of all tasks, of those with the latest and with an
/// outdated configuration, and of those started since the last scaling; a group with no
/// tasks is left out.
fn task_stats(world: &World, app: &App, tasks: &[&TaskRecord], now_ms: u64) -> Value {
    let config = app.config_version();
    let last_scaling = app.version_info.map_or(app.version, |v| v.last_scaling_at);
    let groups: [(&str, Vec<&TaskRecord>); 4] = [
        (
            "startedAfterLastScaling",
            tasks
                .iter()
                .copied()
                .filter(|t| t.staged_at >= last_scaling)
                .collect(),
        ),
        (
            "withLatestConfig",
            tasks
                .iter()
                .copied()
                .filter(|t| t.config_version == config)
                .collect(),
        ),
        (
            "withOutdatedConfig",
            tasks
                .iter()
                .copied()
                .filter(|t| t.config_version != config)
                .collect(),
        ),
        ("totalSummary", tasks.to_vec()),
    ];
    let mut stats = Map::new();
    for (name, group) in groups {
        if group.is_empty() {
            continue;
        }
        let staged = group.iter().filter(|t| t.is_staging()).count();
        let running = group.iter().filter(|t| t.is_running()).count();
        let checked = !app.health_checks.is_empty();
        let healthy = group
            .iter()
            .filter(|t| checked && world.is_healthy(app, t))
            .count();
        let unhealthy = group
            .iter()
            .filter(|t| {
                checked
                    && t.is_running()
                    && !world.is_healthy(app, t)
                    && !world.health_json(t).is_empty()
            })
            .count();
        let mut inner = Map::new();
        inner.insert(
            "counts".into(),
            Value::Object(counts_json([staged, running, healthy, unhealthy], "")),
        );
        if let Some(life_time) = life_time(&group, now_ms) {
            inner.insert("lifeTime".into(), life_time);
        }
        stats.insert(name.into(), json!({"stats": inner}));
    }
    Value::Object(stats)
}

fn life_time(tasks: &[&TaskRecord], now_ms: u64) -> Option<Value> {
    let mut ages: Vec<f64> = tasks
        .iter()
        .filter_map(|t| t.started_at)
        .map(|Timestamp(started)| now_ms.saturating_sub(started) as f64 / 1000.0)
        .collect();
    if ages.is_empty() {
        return None;
    }
    ages.sort_by(f64::total_cmp);
    let average = ages.iter().sum::<f64>() / ages.len() as f64;
    let mid = ages.len() / 2;
    let median = if ages.len().is_multiple_of(2) {
        (ages[mid - 1] + ages[mid]) / 2.0
    } else {
        ages[mid]
    };
    Some(json!({"averageSeconds": average, "medianSeconds": median}))
}
