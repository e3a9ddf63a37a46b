//! The chain over the real embedded hooks (plugins/labels, plugins/admission) and the
//! misbehaving `bad-hook` fixture, through the component ABI.

use super::*;

fn spec(plugin: &str, config: serde_json::Value, failure: FailMode) -> HookSpec {
    HookSpec {
        plugin: plugin.to_string(),
        config,
        failure,
        deadline_ms: None,
        override_task_environment: false,
    }
}

/// The fixture is not a built-in name: load it from a file, as an operator would.
fn bad_hook(how_call: &str, failure: FailMode) -> HookSpec {
    let dir = std::env::temp_dir().join(format!("corral-hooks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    // One file per call: tests run in parallel and must not read a half-written file.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = dir.join(n.to_string()).join("bad-hook.wasm");
    std::fs::create_dir_all(path.parent().expect("parent")).expect("temp dir");
    let bytes = corral_test_fixtures::fixture("bad-hook").expect("fixture");
    std::fs::write(&path, bytes).expect("write fixture");
    spec(
        &path.display().to_string(),
        serde_json::Value::String(how_call.into()),
        failure,
    )
}

fn chain(specs: &[HookSpec], quarantine_after: Option<u32>) -> HookChain {
    let engine = PluginEngine::new().expect("engine");
    HookChain::load(&engine, specs, quarantine_after).expect("hooks load")
}

fn task(cpus: f64) -> PluginTask {
    let info = v1::TaskInfo {
        task_id: v1::Id::new("t1"),
        name: "t1".into(),
        agent_id: v1::Id::new("a"),
        resources: vec![v1::Resource {
            name: "cpus".into(),
            kind: v1::ValueType::Scalar,
            scalar: Some(v1::Scalar { value: cpus }),
            ..Default::default()
        }],
        command: Some(v1::CommandInfo {
            shell: Some(true),
            value: Some("true".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    PluginTask::new(info, "f", "", "")
}

fn framework() -> FrameworkSnapshot {
    FrameworkSnapshot {
        id: "f".into(),
        name: "fw".into(),
        roles: vec!["dev".into()],
        capabilities: vec![],
        principal: None,
    }
}

fn status() -> v1::TaskStatus {
    v1::TaskStatus {
        task_id: v1::Id::new("t1"),
        state: v1::TaskState::TaskRunning,
        ..Default::default()
    }
}

fn labels(task: &PluginTask) -> &[v1::Label] {
    task.info.labels.as_ref().map_or(&[], |l| &l.labels)
}

fn env(task: &PluginTask) -> Vec<(&str, &str)> {
    let command = task.info.command.as_ref().expect("command");
    command
        .environment
        .iter()
        .flat_map(|e| &e.variables)
        .map(|v| (v.name.as_str(), v.value.as_deref().unwrap_or_default()))
        .collect()
}

#[test]
fn labels_then_admission_decorates_or_denies_naming_the_rule() {
    let hooks = chain(
        &[
            spec(
                "labels",
                serde_json::json!({"labels": {"team": "infra"}, "environment": {"X": "1"}}),
                FailMode::Closed,
            ),
            spec(
                "admission",
                serde_json::json!({"roles": {"dev": {"max_cpus": 1}}, "required_labels": ["team"]}),
                FailMode::Closed,
            ),
        ],
        None,
    );
    let mut small = task(0.5);
    assert_eq!(
        hooks.on_launch(&mut small, &framework()),
        LaunchVerdict::Allow
    );
    assert_eq!(
        labels(&small)[0].key,
        "team",
        "admission saw the label labels added"
    );
    let env = env(&small);
    assert_eq!((env[0].0, env[0].1), ("X", "1"));
    let mut big = task(2.0);
    let LaunchVerdict::Deny { hook, reason } = hooks.on_launch(&mut big, &framework()) else {
        panic!("a task over the limit must be denied");
    };
    assert_eq!(hook, "admission");
    assert!(reason.contains("roles.dev.max_cpus"), "{reason}");
}

#[test]
fn a_trapping_hook_is_skipped_fail_open_and_denies_fail_closed() {
    let open = chain(&[bad_hook("trap:all", FailMode::Open)], None);
    assert_eq!(
        open.on_launch(&mut task(1.0), &framework()),
        LaunchVerdict::Allow
    );
    assert_eq!(open.on_run(&task(1.0)), Ok(vec![]));
    assert_eq!(open.on_status(&task(1.0), &status()), vec![]);
    let closed = chain(&[bad_hook("trap:all", FailMode::Closed)], None);
    let LaunchVerdict::Deny { reason, .. } = closed.on_launch(&mut task(1.0), &framework()) else {
        panic!("fail-closed must deny");
    };
    assert!(
        reason.contains("fail-closed") && reason.contains("trapped"),
        "{reason}"
    );
    let refused = closed.on_run(&task(1.0)).unwrap_err();
    assert!(refused.contains("on-run trapped"), "{refused}");
    assert!(closed.on_agent_register(&agent()).is_err());
}

fn agent() -> AgentSnapshot {
    AgentSnapshot {
        id: "a".into(),
        hostname: "h".into(),
        resources: vec![],
        attributes: vec![],
    }
}

#[test]
fn a_hook_that_loops_in_any_export_is_stopped_by_its_deadline() {
    for call in ["on-launch", "on-run", "on-status", "on-agent-register"] {
        let hooks = chain(&[bad_hook(&format!("loop:{call}"), FailMode::Closed)], None);
        let reason = match call {
            "on-launch" => match hooks.on_launch(&mut task(1.0), &framework()) {
                LaunchVerdict::Deny { reason, .. } => reason,
                LaunchVerdict::Allow => panic!("must deny"),
            },
            "on-run" => hooks.on_run(&task(1.0)).unwrap_err(),
            "on-status" => {
                assert_eq!(hooks.on_status(&task(1.0), &status()), vec![]);
                let state = &hooks.status()[0].state;
                assert_eq!(state.failures, 1, "{call}");
                continue;
            }
            _ => hooks.on_agent_register(&agent()).unwrap_err(),
        };
        assert!(reason.contains("deadline"), "{call}: {reason}");
        // The instance was replaced: the next call works again (other exports behave).
        if call != "on-run" {
            assert_eq!(hooks.on_run(&task(1.0)), Ok(vec![]), "{call}");
        }
    }
}

#[test]
fn a_hook_answering_100_mb_hits_its_memory_cap() {
    for how_call in ["huge:on-launch", "huge:on-run"] {
        let hooks = chain(&[bad_hook(how_call, FailMode::Closed)], None);
        let reason = match hooks.on_launch(&mut task(1.0), &framework()) {
            LaunchVerdict::Deny { reason, .. } => reason,
            LaunchVerdict::Allow => hooks.on_run(&task(1.0)).unwrap_err(),
        };
        assert!(reason.contains("memory limit"), "{how_call}: {reason}");
    }
}

#[test]
fn a_hook_failing_in_a_row_is_quarantined_and_no_longer_called() {
    let hooks = chain(&[bad_hook("fail:on-launch", FailMode::Open)], Some(3));
    for _ in 0..5 {
        assert_eq!(
            hooks.on_launch(&mut task(1.0), &framework()),
            LaunchVerdict::Allow
        );
    }
    let status = &hooks.status()[0];
    assert_eq!(status.state.calls, 3, "no calls after the quarantine");
    let why = status.state.quarantined.as_deref().expect("quarantined");
    assert!(why.contains("after 3 consecutive failures"), "{why}");
    assert!(why.contains("on-launch failed"), "{why}");
    // Fail-closed, a quarantined hook denies with the quarantine as the reason.
    let closed = chain(&[bad_hook("fail:on-launch", FailMode::Closed)], Some(1));
    closed.on_launch(&mut task(1.0), &framework());
    let LaunchVerdict::Deny { reason, .. } = closed.on_launch(&mut task(1.0), &framework()) else {
        panic!("must deny");
    };
    assert!(reason.contains("quarantined"), "{reason}");
}

#[test]
fn bad_hooks_and_configs_are_refused_at_load_naming_them() {
    let engine = PluginEngine::new().expect("engine");
    let trap_init = HookChain::load(&engine, &[bad_hook("trap:init", FailMode::Open)], None);
    let err = trap_init.unwrap_err().to_string();
    assert!(err.contains("bad-hook") && err.contains("init"), "{err}");
    let bad_config = spec("labels", serde_json::json!({"nope": 1}), FailMode::Open);
    let err = HookChain::load(&engine, &[bad_config], None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("labels: bad config"), "{err}");
    let not_a_hook = spec("drf", serde_json::Value::Null, FailMode::Open);
    let err = HookChain::load(&engine, &[not_a_hook], None).unwrap_err();
    assert!(matches!(err, PluginError::WrongKind { .. }), "{err}");
}

#[test]
fn hook_flags_and_files_parse() {
    let closed = HookSpec::parse_flag("admission:closed").expect("valid");
    assert_eq!(
        (closed.plugin.as_str(), closed.failure),
        ("admission", FailMode::Closed)
    );
    assert_eq!(
        HookSpec::parse_flag("labels").expect("valid").failure,
        FailMode::Open
    );
    assert!(HookSpec::parse_flag(":open").is_err());
    let dir = std::env::temp_dir().join(format!("corral-hookfile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("hooks.json");
    std::fs::write(
        &file,
        r#"[{"plugin": "labels", "config": {"labels": {"a": "b"}}, "failure": "closed"}]"#,
    )
    .expect("write");
    let specs = HookSpec::parse_file(&file.display().to_string()).expect("parses");
    assert_eq!(specs[0].config_text(), r#"{"labels":{"a":"b"}}"#);
    std::fs::write(&file, r#"[{"plugin": "labels", "failure": "sometimes"}]"#).expect("write");
    let err = HookSpec::parse_file(&file.display().to_string()).unwrap_err();
    assert!(matches!(err, HookConfigError::Parse { .. }), "{err}");
}

#[test]
fn decorations_apply_to_the_mesos_task_and_status() {
    let mut info = v1::TaskInfo {
        command: Some(v1::CommandInfo::default()),
        ..Default::default()
    };
    let mut decorated = task(1.0);
    let label = v1::Label {
        key: "k".into(),
        value: Some("v".into()),
    };
    decorated.info.labels = Some(v1::Labels {
        labels: vec![label.clone()],
    });
    decorated.add_environment([v1::EnvironmentVariable {
        name: "X".into(),
        value: Some("1".into()),
    }]);
    apply_to_task(&mut info, &decorated);
    assert_eq!(info.labels.expect("labels").labels[0].key, "k");
    let env = info.command.expect("command").environment.expect("env");
    assert_eq!(env.variables[0].value.as_deref(), Some("1"));
    let mut labels = None;
    add_status_labels(&mut labels, vec![label]);
    assert_eq!(labels.expect("labels").labels.len(), 1);
}

#[test]
fn a_joined_chain_runs_both_chains_hooks_in_order_and_shares_their_state() {
    let fixed = chain(
        &[spec(
            "labels",
            serde_json::json!({"run_environment": {"X": "fixed", "A": "1"}}),
            FailMode::Open,
        )],
        None,
    );
    let activated = chain(
        &[spec(
            "labels",
            serde_json::json!({"run_environment": {"X": "activated"}}),
            FailMode::Open,
        )],
        None,
    );
    let joined = fixed.joined(&activated);
    let env = joined.on_run(&task(0.1)).expect("on-run");
    let x: Vec<&str> = env
        .iter()
        .filter(|v| v.name == "X")
        .filter_map(|v| v.value.as_deref())
        .collect();
    assert_eq!(
        x,
        ["activated"],
        "command-line hooks first, the later one wins: {env:?}"
    );
    assert!(env.iter().any(|v| v.name == "A"), "{env:?}");
    assert_eq!(joined.status().len(), 2);
    // The joined chain's calls are the originals' (one instance, one quarantine each).
    assert_eq!(activated.status()[0].state.calls, 1);
}

#[test]
fn a_hook_may_not_override_the_tasks_own_variables_nor_path() {
    let hooks = chain(
        &[spec(
            "labels",
            serde_json::json!({
                "environment": {"SECRET_URL": "http://evil", "DC": "eu-1", "PATH": "/evil"},
                "run_environment": {"SECRET_URL": "http://evil", "LD_PRELOAD": "/evil.so",
                    "NODE_POOL": "a"}}),
            FailMode::Open,
        )],
        None,
    );
    let mut launched = task(1.0);
    launched.add_environment([v1::EnvironmentVariable {
        name: "SECRET_URL".into(),
        value: Some("https://vault".into()),
    }]);
    assert!(matches!(
        hooks.on_launch(&mut launched, &framework()),
        LaunchVerdict::Allow
    ));
    let value = |name: &str| command_variable(&launched, name);
    assert_eq!(value("SECRET_URL").as_deref(), Some("https://vault"));
    assert_eq!(
        value("DC").as_deref(),
        Some("eu-1"),
        "new variables are added"
    );
    assert_eq!(value("PATH"), None, "PATH is never a hook's");

    let added = hooks.on_run(&launched).expect("on-run");
    let names: Vec<&str> = added.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["NODE_POOL"], "{added:?}");
}

#[test]
fn a_hook_the_operator_lets_override_replaces_the_tasks_variables_but_never_path() {
    let mut overriding = spec(
        "labels",
        serde_json::json!({
            "environment": {"SECRET_URL": "https://proxy", "PATH": "/evil"},
            "run_environment": {"SECRET_URL": "https://proxy", "LD_PRELOAD": "/evil.so"}}),
        FailMode::Open,
    );
    overriding.override_task_environment = true;
    let hooks = chain(&[overriding], None);
    let mut launched = task(1.0);
    launched.add_environment([v1::EnvironmentVariable {
        name: "SECRET_URL".into(),
        value: Some("https://vault".into()),
    }]);
    assert!(matches!(
        hooks.on_launch(&mut launched, &framework()),
        LaunchVerdict::Allow
    ));
    let value = |name: &str| command_variable(&launched, name);
    assert_eq!(value("SECRET_URL").as_deref(), Some("https://proxy"));
    assert_eq!(
        value("PATH"),
        None,
        "PATH is never a hook's, whatever the grant"
    );
    let added = hooks.on_run(&launched).expect("on-run");
    let names: Vec<&str> = added.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["SECRET_URL"], "{added:?}");
}

#[test]
fn the_override_grant_is_read_from_a_hooks_file_and_defaults_to_off() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hooks.json");
    std::fs::write(
        &path,
        r#"[{"plugin": "labels", "override_task_environment": true}, {"plugin": "admission"}]"#,
    )
    .expect("write");
    let specs = HookSpec::parse_file(&path.display().to_string()).expect("parses");
    let grants: Vec<bool> = specs.iter().map(|s| s.override_task_environment).collect();
    assert_eq!(grants, [true, false]);
}

/// The value of `name` in the task's command environment, as the hooks left it.
fn command_variable(task: &PluginTask, name: &str) -> Option<String> {
    task.info
        .command
        .as_ref()
        .and_then(|c| c.environment.as_ref())
        .and_then(|e| e.variables.iter().find(|v| v.name == name))
        .and_then(|v| v.value.clone())
}
