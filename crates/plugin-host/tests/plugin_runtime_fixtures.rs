//! The plugin runtime against the shipped plugins (drf, command) and the misbehaving fixtures
//! in plugins/fixtures: each misbehaviour is a clear error for that call, and the engine keeps
//! serving good plugins right after.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use corral_api::v1;
use corral_plugin_host::allocator::{AgentSnapshot, AllocatorPolicy, FrameworkSnapshot};
use corral_plugin_host::executor::{Action, Event, ProcessExit};
use corral_plugin_host::{PluginEngine, PluginError, PluginLimits, PluginTask};
use corral_test_fixtures::fixture;

/// One engine for the whole file, as in the master: every test also checks that a failure
/// elsewhere did not break it.
fn engine() -> &'static PluginEngine {
    static ENGINE: OnceLock<PluginEngine> = OnceLock::new();
    ENGINE.get_or_init(|| PluginEngine::new().expect("engine starts"))
}

/// A fixture written to a temporary `<name>.wasm`, loaded by path as an operator would.
fn fixture_file(name: &str) -> (tempfile::TempDir, String) {
    let bytes = fixture(name).expect("fixture is embedded");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join(format!("{name}.wasm"));
    std::fs::write(&path, bytes).expect("write fixture");
    let path = path.to_str().expect("utf-8 temp path").to_string();
    (dir, path)
}

fn fixture_allocator(name: &str, limits: PluginLimits) -> Box<dyn AllocatorPolicy> {
    let (_dir, path) = fixture_file(name);
    let factory = engine()
        .allocator_factory(&path, "", limits)
        .expect("fixture loads");
    factory().expect("fixture instantiates")
}

fn scalar(name: &str, value: f64) -> v1::Resource {
    v1::Resource {
        name: name.into(),
        kind: v1::ValueType::Scalar,
        scalar: Some(v1::Scalar { value }),
        ..Default::default()
    }
}

fn scalar_of(resources: &[v1::Resource], name: &str) -> f64 {
    resources
        .iter()
        .filter(|r| r.name == name)
        .filter_map(|r| r.scalar.as_ref())
        .map(|s| s.value)
        .sum()
}

fn agent(id: &str) -> AgentSnapshot {
    AgentSnapshot {
        id: id.into(),
        hostname: format!("{id}.example"),
        resources: vec![scalar("cpus", 4.0), scalar("mem", 1024.0)],
        attributes: vec![],
    }
}

fn framework(id: &str) -> FrameworkSnapshot {
    FrameworkSnapshot {
        id: id.into(),
        name: id.into(),
        roles: vec!["*".into()],
        ..Default::default()
    }
}

/// The good plugin: drf grants a whole agent to the only framework.
fn assert_drf_grants() {
    let factory = engine()
        .allocator_factory("drf", "", PluginLimits::ALLOCATOR)
        .expect("drf loads");
    let mut drf = factory().expect("drf instantiates");
    assert_eq!(drf.name(), "drf");
    drf.add_agent(&agent("a1"), &[]).expect("add-agent");
    drf.add_framework(&framework("f1"), true)
        .expect("add-framework");
    let grants = drf.allocate(1_000).expect("allocate");
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(grants[0].agent_id, "a1");
    assert_eq!(grants[0].framework_id, "f1");
    assert_eq!(scalar_of(&grants[0].resources, "cpus"), 4.0);
    assert_eq!(scalar_of(&grants[0].resources, "mem"), 1024.0);
    // Granted resources stay allocated until recovered.
    assert!(drf.allocate(2_000).expect("allocate").is_empty());
    let inspect = drf.inspect().expect("inspect");
    serde_json::from_str::<serde_json::Value>(&inspect).expect("inspect is JSON");
}

#[test]
fn drf_loads_and_grants_an_agent_to_a_framework() {
    assert_drf_grants();
}

#[test]
fn drf_refuses_a_bad_config_at_load() {
    let err = engine()
        .allocator_factory("drf", "{not json", PluginLimits::ALLOCATOR)
        .err()
        .expect("refused");
    assert!(
        matches!(&err, PluginError::Failed { call, .. } if call == "init"),
        "{err}"
    );
}

fn echo_task(command: &str) -> PluginTask {
    let task = v1::TaskInfo {
        name: "echo".into(),
        task_id: v1::Id::new("t1"),
        agent_id: v1::Id::new("a1"),
        resources: vec![scalar("cpus", 0.1)],
        command: Some(v1::CommandInfo {
            value: Some(command.into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    PluginTask::new(task, "f1", "c1", "/tmp/sandbox")
}

fn statuses(actions: &[Action]) -> Vec<(v1::TaskState, Option<String>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::SendStatus(s) => Some((s.state, s.message.clone())),
            _ => None,
        })
        .collect()
}

/// The good executor: launch answers spawn + STARTING + RUNNING; the exit ends the task.
fn assert_command_runs(exit_code: i32) {
    let factory = engine()
        .executor_factory("command", PluginLimits::EXECUTOR)
        .expect("command loads");
    let mut exec = factory().expect("command instantiates");
    assert_eq!(exec.plugin_name(), "command");
    let actions = exec.launch(&echo_task("echo hi")).expect("launch");
    match &actions[0] {
        Action::Spawn(spawn) => {
            assert!(spawn.command.is_shell());
            assert_eq!(spawn.command.value.as_deref(), Some("echo hi"));
        }
        other => panic!("first action should spawn, got {other:?}"),
    }
    let states: Vec<_> = statuses(&actions).into_iter().map(|s| s.0).collect();
    assert_eq!(
        states,
        [v1::TaskState::TaskStarting, v1::TaskState::TaskRunning]
    );
    let exit = Event::Exited(ProcessExit {
        id: 1,
        code: Some(exit_code),
        signal: None,
    });
    let actions = exec.on_event(&exit).expect("on-event");
    let end = statuses(&actions);
    if exit_code == 0 {
        assert_eq!(end[0].0, v1::TaskState::TaskFinished);
    } else {
        assert_eq!(end[0].0, v1::TaskState::TaskFailed);
        let message = end[0].1.clone().unwrap_or_default();
        assert!(message.contains(&exit_code.to_string()), "{message}");
    }
    assert_eq!(actions.last(), Some(&Action::Done));
}

#[test]
fn command_executor_spawns_and_reports_statuses() {
    assert_command_runs(0);
    assert_command_runs(3);
}

#[test]
fn command_executor_refusing_a_task_is_failed_not_a_trap() {
    let factory = engine()
        .executor_factory("command", PluginLimits::EXECUTOR)
        .expect("command loads");
    let mut exec = factory().expect("instantiates");
    let err = exec.launch(&echo_task("  ")).expect_err("refused");
    assert!(
        matches!(&err, PluginError::Failed { call, .. } if call == "launch"),
        "{err}"
    );
    assert!(!err.poisons_instance());
}

#[test]
fn an_endless_loop_times_out_near_the_deadline() {
    let deadline = Duration::from_millis(200);
    let limits = PluginLimits {
        call_deadline: deadline,
        ..PluginLimits::ALLOCATOR
    };
    let mut looping = fixture_allocator("loop-allocator", limits);
    let started = Instant::now();
    let err = looping.allocate(1_000).expect_err("times out");
    let took = started.elapsed();
    assert_eq!(
        err,
        PluginError::Timeout {
            plugin: "loop-allocator".into(),
            call: "allocate".into(),
            deadline_ms: 200,
        }
    );
    assert!(took >= deadline, "stopped early, after {took:?}");
    // Only that it was stopped at all: the epoch ticker's oversleeps on a busy machine add
    // up, so a tight bound here would time the machine, not the plugin host.
    assert!(took < deadline * 50, "not stopped, after {took:?}");
    // The instance is dropped from use; the next call does not enter wasm.
    assert_eq!(
        looping.inspect(),
        Err(PluginError::Poisoned {
            plugin: "loop-allocator".into()
        })
    );
    assert_drf_grants();
}

#[test]
fn a_memory_bomb_hits_the_memory_cap() {
    let limits = PluginLimits {
        memory_bytes: 64 << 20,
        ..PluginLimits::ALLOCATOR
    };
    let mut bomb = fixture_allocator("membomb-allocator", limits);
    let err = bomb.allocate(1_000).expect_err("stopped");
    assert_eq!(
        err,
        PluginError::MemoryLimit {
            plugin: "membomb-allocator".into(),
            call: "allocate".into(),
            limit_bytes: 64 << 20,
        }
    );
    assert!(err.poisons_instance());
    assert_drf_grants();
}

#[test]
fn a_panic_is_a_trap_with_the_panic_message() {
    let mut trapping = fixture_allocator("trap-allocator", PluginLimits::ALLOCATOR);
    trapping
        .add_agent(&agent("a1"), &[])
        .expect("other calls work");
    let err = trapping.allocate(1_000).expect_err("traps");
    match &err {
        PluginError::Trap { call, message, .. } => {
            assert_eq!(call, "allocate");
            assert!(message.contains("allocate always panics"), "{message}");
        }
        other => panic!("expected a trap, got {other}"),
    }
    assert!(matches!(
        trapping.add_agent(&agent("a2"), &[]),
        Err(PluginError::Poisoned { .. })
    ));
    assert_drf_grants();
}

#[test]
fn a_100_mb_answer_is_refused_and_the_instance_keeps_working() {
    let mut huge = fixture_allocator("huge-allocator", PluginLimits::ALLOCATOR);
    let err = huge.inspect().expect_err("refused");
    match &err {
        PluginError::BadAnswer { call, message, .. } => {
            assert_eq!(call, "inspect");
            assert!(message.contains("over the limit"), "{message}");
        }
        other => panic!("expected a bad answer, got {other}"),
    }
    assert!(!err.poisons_instance());
    assert!(huge.allocate(1_000).expect("still serves").is_empty());
    assert_drf_grants();
}

#[test]
fn an_executor_that_panics_in_launch_is_a_trap() {
    let (_dir, path) = fixture_file("trap-executor");
    let factory = engine()
        .executor_factory(&path, PluginLimits::EXECUTOR)
        .expect("loads");
    let mut exec = factory().expect("instantiates");
    let err = exec.launch(&echo_task("true")).expect_err("traps");
    assert!(
        matches!(&err, PluginError::Trap { message, .. } if message.contains("launch always panics")),
        "{err}"
    );
    assert!(matches!(
        exec.on_event(&Event::Kill(1000)),
        Err(PluginError::Poisoned { .. })
    ));
    assert_command_runs(0);
}

#[test]
fn kinds_are_checked_both_ways() {
    let err = engine()
        .allocator_factory("command", "", PluginLimits::ALLOCATOR)
        .err()
        .expect("refused");
    assert_eq!(
        err,
        PluginError::WrongKind {
            plugin: "command".into(),
            expected: "allocator".into(),
            found: "corral:plugin/executor@0.1.1".into(),
        }
    );
    let err = engine()
        .executor_factory("drf", PluginLimits::EXECUTOR)
        .err()
        .expect("refused");
    assert!(matches!(err, PluginError::WrongKind { .. }), "{err}");
}

#[test]
fn a_component_is_compiled_once_per_engine() {
    let engine = PluginEngine::new().expect("engine starts");
    let (_dir, path) = fixture_file("trap-allocator");
    engine
        .allocator_factory(&path, "", PluginLimits::ALLOCATOR)
        .expect("loads");
    // The same bytes by another path are found by their sha256.
    let (_dir2, path2) = fixture_file("trap-allocator");
    engine
        .allocator_factory(&path2, "", PluginLimits::ALLOCATOR)
        .expect("loads again");
    assert_eq!(engine.compiled_components(), 1);
    engine
        .executor_factory("command", PluginLimits::EXECUTOR)
        .expect("loads");
    assert_eq!(engine.compiled_components(), 2);
}
