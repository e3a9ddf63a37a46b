//! The plugin overhead benchmark of issue 6: what a plugin costs where it sits on a task's
//! launch path, as ns per call of the embedded WebAssembly component (through the host's
//! adapters: sandbox, deadline, answer checks) next to the same plugin code (its `-core`
//! crate) compiled into the host. Calls measured: the `labels` and `admission` hooks' `on-launch`, the `command`
//! executor's `launch` (on a fresh instance, as each task gets), and the `gpu` isolator's
//! `prepare` on a fake device tree.
//!
//! Both sides get the same task as the host holds it (a [`PluginTask`]: 10 labels, 10
//! environment variables, cpus, mem, disk, ports and one GPU) and the same framework, and
//! each call includes turning them into the plugin's types: the host's adapter into WIT, the
//! native side into the SDK's (see [`sdk_task`]). The two differ by the sandbox and the
//! canonical ABI copies.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use corral_sdk::executor::Executor as _;
use corral_sdk::hook as sdk_hook;
use corral_sdk::isolator::Isolator as _;
use corral_sdk::types as sdk;

use corral_api::v1;
use corral_plugin_host::allocator::FrameworkSnapshot;
use corral_plugin_host::health_check::{CheckKind, HealthCheck};
use corral_plugin_host::hook::LaunchDecision;
use corral_plugin_host::{PluginEngine, PluginError, PluginLimits, PluginTask};

use crate::native_allocator::{framework_to_sdk, resources_to_sdk};

/// Generous limits: the point is to measure, not to police.
const LIMITS: PluginLimits = PluginLimits {
    call_deadline: Duration::from_secs(10),
    memory_bytes: 64 << 20,
};
pub const LABELS_CONFIG: &str = r#"{"labels": {"team": "infra", "tier": "prod"},
    "environment": {"DC": "eu-1"}, "roles": {"dev": {"labels": {"tier": "dev"}}}}"#;
pub const ADMISSION_CONFIG: &str = r#"{"default": {"max_cpus": 4, "max_mem": 8192},
    "roles": {"dev": {"max_cpus": 1}}, "required_labels": ["label-0"]}"#;

#[derive(Debug, thiserror::Error)]
pub enum OverheadError {
    #[error(transparent)]
    Plugin(#[from] PluginError),
    #[error("native {call}: {message}")]
    Native { call: &'static str, message: String },
    #[error("{call}: WASM and native disagree: {detail}")]
    Disagree { call: &'static str, detail: String },
    #[error("cannot make the fake device tree: {0}")]
    Tree(#[from] std::io::Error),
}

/// One call's median time per call, both ways.
#[derive(Debug, Clone, PartialEq)]
pub struct CallTimes {
    pub call: &'static str,
    pub wasm: Duration,
    pub native: Duration,
}

impl CallTimes {
    pub fn ratio(&self) -> f64 {
        self.wasm.as_secs_f64() / self.native.as_secs_f64().max(1e-12)
    }
}

/// The task every call gets, as the host holds it.
fn realistic_task() -> PluginTask {
    let scalar = |name: &str, value: f64| v1::Resource {
        name: name.into(),
        kind: v1::ValueType::Scalar,
        scalar: Some(v1::Scalar { value }),
        ..Default::default()
    };
    let ports = v1::Resource {
        name: "ports".into(),
        kind: v1::ValueType::Ranges,
        ranges: Some(v1::Ranges {
            range: vec![v1::Range {
                begin: 31000,
                end: 31004,
            }],
        }),
        ..Default::default()
    };
    let info = v1::TaskInfo {
        task_id: v1::Id::new("bench-task-000001"),
        name: "bench task".into(),
        agent_id: v1::Id::new("bench-agent"),
        resources: vec![
            scalar("cpus", 0.5),
            scalar("mem", 128.0),
            scalar("disk", 256.0),
            scalar("gpus", 1.0),
            ports,
        ],
        command: Some(v1::CommandInfo {
            shell: Some(true),
            value: Some("true".into()),
            environment: Some(v1::Environment {
                variables: (0..10)
                    .map(|i| v1::EnvironmentVariable {
                        name: format!("BENCH_VAR_{i}"),
                        value: Some(format!("value of variable {i}")),
                    })
                    .collect(),
            }),
            ..Default::default()
        }),
        labels: Some(v1::Labels {
            labels: (0..10)
                .map(|i| v1::Label {
                    key: format!("label-{i}"),
                    value: Some(format!("value-{i}")),
                })
                .collect(),
        }),
        kill_policy: Some(v1::KillPolicy {
            grace_period: Some(v1::DurationInfo {
                nanoseconds: 5_000_000_000,
            }),
        }),
        ..Default::default()
    };
    PluginTask::new(
        info,
        "bench-framework",
        "bench-container",
        "/tmp/bench-sandbox",
    )
}

fn framework() -> FrameworkSnapshot {
    FrameworkSnapshot {
        id: "bench-framework".into(),
        name: "bench".into(),
        roles: vec!["dev".into()],
        capabilities: vec!["GPU_RESOURCES".into()],
        principal: None,
    }
}

/// The task as a native plugin takes it: the SDK's types, mapped as the host maps it to WIT.
fn sdk_task(task: &PluginTask) -> sdk::TaskInfo {
    let info = &task.info;
    sdk::TaskInfo {
        task_id: info.task_id.value.clone(),
        name: info.name.clone(),
        framework_id: task.framework_id.clone(),
        agent_id: info.agent_id.value.clone(),
        container_id: task.container_id.clone(),
        resources: resources_to_sdk(&info.resources),
        command: info.command.as_ref().map(sdk_command),
        labels: info
            .labels
            .iter()
            .flat_map(|l| &l.labels)
            .map(|l| sdk::Label {
                key: l.key.clone(),
                value: l.value.clone().unwrap_or_default(),
            })
            .collect(),
        kill_grace_period_ms: info
            .kill_policy
            .as_ref()
            .and_then(|k| k.grace_period)
            .map(|d| u64::try_from(d.nanoseconds / 1_000_000).unwrap_or(0)),
        health_check: info
            .health_check
            .as_ref()
            .and_then(HealthCheck::from_mesos)
            .map(|check| sdk_health_check(&check)),
        sandbox: task.sandbox.clone(),
    }
}

fn sdk_command(command: &v1::CommandInfo) -> sdk::CommandInfo {
    sdk::CommandInfo {
        shell: command.is_shell(),
        value: command.value.clone().unwrap_or_default(),
        arguments: command.arguments.clone(),
        environment: command
            .environment
            .iter()
            .flat_map(|e| &e.variables)
            .map(|v| sdk::EnvVar {
                name: v.name.clone(),
                value: v.value.clone().unwrap_or_default(),
            })
            .collect(),
        user: command.user.clone(),
    }
}

fn sdk_health_check(check: &HealthCheck) -> sdk::HealthCheck {
    sdk::HealthCheck {
        kind: match &check.kind {
            CheckKind::Command(command) => sdk::CheckKind::Command(sdk_command(command)),
            CheckKind::Http(http) => sdk::CheckKind::Http(sdk::HttpCheck {
                port: http.port,
                path: http.path.clone(),
                scheme: http.scheme.clone(),
            }),
            CheckKind::Tcp(port) => sdk::CheckKind::Tcp(*port),
        },
        delay_seconds: check.delay_seconds,
        interval_seconds: check.interval_seconds,
        timeout_seconds: check.timeout_seconds,
        consecutive_failures: check.consecutive_failures,
        grace_period_seconds: check.grace_period_seconds,
    }
}

/// The median of `iterations` runs of `one`, which does any setup and returns how long its
/// timed part took (see [`timed`]).
fn median<E>(
    iterations: usize,
    mut one: impl FnMut(usize) -> Result<Duration, E>,
) -> Result<Duration, E> {
    let mut times = (0..iterations.max(1))
        .map(&mut one)
        .collect::<Result<Vec<_>, E>>()?;
    times.sort();
    Ok(times[times.len() / 2])
}

fn timed<T, E>(call: impl FnOnce() -> Result<T, E>) -> Result<(T, Duration), E> {
    let started = Instant::now();
    let answer = call()?;
    Ok((answer, started.elapsed()))
}

fn native(call: &'static str) -> impl Fn(String) -> OverheadError {
    move |message| OverheadError::Native { call, message }
}

fn agree(call: &'static str, wasm: usize, native: usize) -> Result<(), OverheadError> {
    if wasm == native {
        Ok(())
    } else {
        Err(OverheadError::Disagree {
            call,
            detail: format!("{wasm} vs {native} entries"),
        })
    }
}

/// Every call, `iterations` times each way.
pub fn measure(engine: &PluginEngine, iterations: usize) -> Result<Vec<CallTimes>, OverheadError> {
    Ok(vec![
        labels_on_launch(engine, iterations)?,
        admission_on_launch(engine, iterations)?,
        command_launch(engine, iterations)?,
        gpu_prepare(engine, iterations)?,
    ])
}

/// What a hook's decision adds (labels and variables), or `usize::MAX` for a denial.
fn added(decision: &LaunchDecision) -> usize {
    match decision {
        LaunchDecision::Allow(d) => d.labels.len() + d.environment.len(),
        LaunchDecision::Deny(_) => usize::MAX,
    }
}

fn sdk_added(decision: &sdk_hook::LaunchDecision) -> usize {
    match decision {
        sdk_hook::LaunchDecision::Allow(d) => d.labels.len() + d.environment.len(),
        sdk_hook::LaunchDecision::Deny(_) => usize::MAX,
    }
}

fn hook_on_launch<H: sdk_hook::Hook>(
    engine: &PluginEngine,
    n: usize,
    call: &'static str,
    name: &str,
    config: &str,
    mut plugin: H,
) -> Result<CallTimes, OverheadError> {
    let (task, fw) = (realistic_task(), framework());
    let factory = engine.hook_factory(name, config, LIMITS)?;
    let mut hook = factory()?;
    let mut wasm_added = 0;
    let wasm = median(n, |_| {
        let (decision, took) = timed(|| hook.on_launch(&task, &fw))?;
        wasm_added = added(&decision);
        Ok::<_, PluginError>(took)
    })?;
    plugin.init(config.into()).map_err(native(call))?;
    let mut native_added = 0;
    let native_time = median(n, |_| {
        let (decision, took) = timed(|| plugin.on_launch(sdk_task(&task), framework_to_sdk(&fw)))?;
        native_added = sdk_added(&decision);
        Ok(took)
    })
    .map_err(native(call))?;
    agree(call, wasm_added, native_added)?;
    Ok(CallTimes {
        call,
        wasm,
        native: native_time,
    })
}

fn labels_on_launch(engine: &PluginEngine, n: usize) -> Result<CallTimes, OverheadError> {
    let plugin = labels_core::Labels::default();
    hook_on_launch(
        engine,
        n,
        "labels on-launch",
        "labels",
        LABELS_CONFIG,
        plugin,
    )
}

fn admission_on_launch(engine: &PluginEngine, n: usize) -> Result<CallTimes, OverheadError> {
    let plugin = admission_core::Admission::default();
    hook_on_launch(
        engine,
        n,
        "admission on-launch",
        "admission",
        ADMISSION_CONFIG,
        plugin,
    )
}

/// `launch` on a fresh instance each time (an executor instance runs one task); making the
/// instance is not timed.
fn command_launch(engine: &PluginEngine, n: usize) -> Result<CallTimes, OverheadError> {
    const CALL: &str = "command launch";
    let task = realistic_task();
    let factory = engine.executor_factory("command", LIMITS)?;
    let mut actions = 0;
    let wasm = median(n, |_| {
        let mut executor = factory()?;
        let (answer, took) = timed(|| executor.launch(&task))?;
        actions = answer.len();
        Ok::<_, PluginError>(took)
    })?;
    let mut native_actions = 0;
    let native_time = median(n, |_| {
        let mut executor = command_core::CommandExecutor::default();
        let (answer, took) = timed(|| executor.launch(sdk_task(&task)))?;
        native_actions = answer.len();
        Ok(took)
    })
    .map_err(native(CALL))?;
    agree(CALL, actions, native_actions)?;
    Ok(CallTimes {
        call: CALL,
        wasm,
        native: native_time,
    })
}

/// `prepare` of one GPU for a new container, after `discover` on a fake tree of 4 GPUs;
/// the container before is cleaned up (untimed) first.
fn gpu_prepare(engine: &PluginEngine, n: usize) -> Result<CallTimes, OverheadError> {
    const CALL: &str = "gpu prepare";
    let tree = TempTree::new()?;
    fake_gpus(&tree.0, 4)?;
    let task = realistic_task();
    let mut isolator = engine.isolator("gpu", "", &tree.0)?;
    isolator.discover()?;
    let mut devices = 0;
    let mut last: Option<String> = None;
    let wasm = median(n, |i| {
        if let Some(id) = last.take() {
            isolator.cleanup(&id)?;
        }
        let id = format!("container-{i}");
        let (plan, took) = timed(|| isolator.prepare(&id, &task))?;
        devices = plan.devices.len();
        last = Some(id);
        Ok::<_, PluginError>(took)
    })?;
    corral_sdk::isolator::capabilities::fake_root(Some(tree.0.clone()));
    let mut plugin = gpu_core::GpuIsolator::default();
    let mut native_devices = 0;
    let mut last: Option<String> = None;
    let native_time = plugin
        .init(String::new())
        .and_then(|()| plugin.discover())
        .and_then(|_| {
            median(n, |i| {
                if let Some(id) = last.take() {
                    plugin.cleanup(id)?;
                }
                let id = format!("container-{i}");
                let (plan, took) = timed(|| plugin.prepare(id.clone(), sdk_task(&task)))?;
                native_devices = plan.devices.len();
                last = Some(id);
                Ok(took)
            })
        });
    corral_sdk::isolator::capabilities::fake_root(None);
    let native_time = native_time.map_err(native(CALL))?;
    agree(CALL, devices, native_devices)?;
    Ok(CallTimes {
        call: CALL,
        wasm,
        native: native_time,
    })
}

/// A directory of its own under the system's temp dir, removed when dropped.
struct TempTree(PathBuf);

impl TempTree {
    fn new() -> std::io::Result<TempTree> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let dir =
            std::env::temp_dir().join(format!("corral-bench-gpus-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(TempTree(dir))
    }
}

impl Drop for TempTree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `count` GPUs as the gpu plugin finds them: nodes under dev/ and the driver's
/// information files (plain files: the plugin only lists and reads them).
pub fn fake_gpus(root: &Path, count: u32) -> std::io::Result<()> {
    std::fs::create_dir_all(root.join("dev"))?;
    std::fs::write(root.join("dev/nvidiactl"), "")?;
    for minor in 0..count {
        std::fs::write(root.join(format!("dev/nvidia{minor}")), "")?;
        let gpu = root.join(format!("proc/driver/nvidia/gpus/0000:0{minor}:00.0"));
        std::fs::create_dir_all(&gpu)?;
        let info = format!("Model: Bench GPU\nGPU UUID: GPU-{minor}\nDevice Minor: {minor}\n");
        std::fs::write(gpu.join("information"), info)?;
    }
    Ok(())
}
