//! The embedded components (shipped plugins and test fixtures) are real components of the right kind, and they work through
//! the component ABI (the SDK's export glue), not just natively.

use corral_builtin_plugins::{
    BUILTIN_ALLOCATORS, BUILTIN_AUTHORIZERS, BUILTIN_EXECUTORS, BUILTIN_HOOKS, BUILTIN_ISOLATORS,
    builtin,
};
use corral_test_fixtures::{FIXTURES, fixture};
use wasmtime::component::Component;
use wasmtime::{Config, Engine};

const ALLOCATOR: &str = "corral:plugin/allocator@0.1.1";
const EXECUTOR: &str = "corral:plugin/executor@0.1.1";
const ISOLATOR: &str = "corral:plugin/isolator@0.1.1";
const HOOK: &str = "corral:plugin/hook@0.1.1";
const AUTHORIZER: &str = "corral:plugin/authorizer@0.1.1";

/// (name, bytes, the interface it must export).
fn all() -> Vec<(&'static str, &'static [u8], &'static str)> {
    let mut all = Vec::new();
    for name in BUILTIN_ALLOCATORS {
        all.push((*name, builtin(name).expect("listed allocator"), ALLOCATOR));
    }
    for name in BUILTIN_EXECUTORS {
        all.push((*name, builtin(name).expect("listed executor"), EXECUTOR));
    }
    for name in BUILTIN_ISOLATORS {
        all.push((*name, builtin(name).expect("listed isolator"), ISOLATOR));
    }
    for name in BUILTIN_HOOKS {
        all.push((*name, builtin(name).expect("listed hook"), HOOK));
    }
    for name in BUILTIN_AUTHORIZERS {
        all.push((*name, builtin(name).expect("listed authorizer"), AUTHORIZER));
    }
    for name in FIXTURES {
        let kind = if name.ends_with("-executor") {
            EXECUTOR
        } else if name.ends_with("-isolator") {
            ISOLATOR
        } else if name.ends_with("-hook") {
            HOOK
        } else if name.ends_with("-authorizer") {
            AUTHORIZER
        } else {
            ALLOCATOR
        };
        all.push((*name, fixture(name).expect("listed fixture"), kind));
    }
    all
}

#[test]
fn builtin_components_are_wasm_components() {
    for (name, bytes, _) in all() {
        assert_eq!(&bytes[..4], b"\0asm", "{name}: no wasm magic");
        // A core module has version 1 and layer 0; a component has layer 1.
        assert_eq!(
            &bytes[6..8],
            &[1, 0],
            "{name}: not a component (layer byte)"
        );
    }
}

#[test]
fn builtin_components_export_their_kind_and_import_only_what_worlds_grant() {
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).expect("default engine");
    for (name, bytes, interface) in all() {
        let component = Component::new(&engine, bytes)
            .unwrap_or_else(|e| panic!("{name} does not compile: {e:?}"));
        let ty = component.component_type();
        let exports: Vec<&str> = ty.exports(&engine).map(|(n, _)| n).collect();
        assert_eq!(exports, [interface], "{name} exports");
        for (import, _) in ty.imports(&engine) {
            // `types` is imported for its type definitions; WASI comes from Rust's std and
            // is served by the host's empty WASI context.
            // Only isolators may import `capabilities`.
            let capabilities =
                interface == ISOLATOR && import == "corral:plugin/capabilities@0.1.1";
            assert!(
                ["corral:plugin/host@0.1.1", "corral:plugin/types@0.1.1"].contains(&import)
                    || import.starts_with("wasi:")
                    || capabilities,
                "{name} imports {import}, which its world does not grant"
            );
        }
    }
}

#[test]
fn unknown_names_are_not_builtin() {
    assert!(
        builtin("loop-allocator").is_none(),
        "fixtures are not built-ins"
    );
    assert!(builtin("fifo").is_none());
    assert!(fixture("drf").is_none());
}

/// A minimal host for running the components directly: an empty WASI context and a `host`
/// import that records log lines.
mod harness {
    use wasmtime::component::{Component, HasSelf, Linker, ResourceTable};
    use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder};
    use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

    use corral_wit::{allocator, executor, host_api, types};

    pub struct TestHost {
        wasi: WasiCtx,
        table: ResourceTable,
        limits: StoreLimits,
        pub logs: Vec<String>,
    }

    impl WasiView for TestHost {
        fn ctx(&mut self) -> WasiCtxView<'_> {
            WasiCtxView {
                ctx: &mut self.wasi,
                table: &mut self.table,
            }
        }
    }

    impl host_api::Host for TestHost {
        fn log(&mut self, _level: host_api::LogLevel, message: String) {
            self.logs.push(message);
        }
        fn now(&mut self) -> u64 {
            0
        }
    }

    impl types::Host for TestHost {}

    pub fn engine() -> Engine {
        let mut config = Config::new();
        config.wasm_component_model(true).epoch_interruption(true);
        Engine::new(&config).expect("engine")
    }

    /// A store whose guest memory may not grow past `memory_bytes`.
    pub fn store(engine: &Engine, memory_bytes: usize) -> Store<TestHost> {
        let host = TestHost {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new().memory_size(memory_bytes).build(),
            logs: Vec::new(),
        };
        let mut store = Store::new(engine, host);
        store.limiter(|host| &mut host.limits);
        store.set_epoch_deadline(u64::MAX / 2);
        store
    }

    fn linker(engine: &Engine) -> Linker<TestHost> {
        let mut linker = Linker::new(engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("wasi");
        host_api::add_to_linker::<_, HasSelf<TestHost>>(&mut linker, |h| h).expect("host");
        types::add_to_linker::<_, HasSelf<TestHost>>(&mut linker, |h| h).expect("types");
        linker
    }

    pub fn allocator(
        engine: &Engine,
        store: &mut Store<TestHost>,
        bytes: &[u8],
    ) -> allocator::AllocatorPlugin {
        let component = Component::new(engine, bytes).expect("compiles");
        allocator::AllocatorPlugin::instantiate(store, &component, &linker(engine))
            .expect("instantiates")
    }

    pub fn executor(
        engine: &Engine,
        store: &mut Store<TestHost>,
        bytes: &[u8],
    ) -> executor::ExecutorPlugin {
        let component = Component::new(engine, bytes).expect("compiles");
        executor::ExecutorPlugin::instantiate(store, &component, &linker(engine))
            .expect("instantiates")
    }
}

mod through_the_abi {
    use std::time::Duration;

    use super::harness;
    use crate::{builtin, fixture};
    use corral_wit::executor::exports::corral::plugin::executor::{Action, Event, ProcessExit};
    use corral_wit::types::{
        AgentInfo, CommandInfo, FrameworkInfo, Resource, ResourceValue, TaskInfo, TaskState,
    };

    const GIB: usize = 1 << 30;

    fn cpus(value: f64) -> Resource {
        Resource {
            name: "cpus".into(),
            value: ResourceValue::Scalar(value),
            reservation: None,
            revocable: false,
        }
    }

    fn agent() -> AgentInfo {
        AgentInfo {
            id: "a1".into(),
            hostname: "host1".into(),
            resources: vec![cpus(2.0)],
            attributes: vec![],
        }
    }

    fn framework() -> FrameworkInfo {
        FrameworkInfo {
            id: "f1".into(),
            name: "test".into(),
            roles: vec!["*".into()],
            capabilities: vec![],
            principal: None,
        }
    }

    fn task(command: Option<CommandInfo>) -> TaskInfo {
        TaskInfo {
            task_id: "t1".into(),
            name: "t1".into(),
            framework_id: "f1".into(),
            agent_id: "a1".into(),
            container_id: "c1".into(),
            resources: vec![cpus(0.1)],
            command,
            labels: vec![],
            kill_grace_period_ms: None,
            health_check: None,
            sandbox: "/tmp".into(),
        }
    }

    #[test]
    fn drf_grants_an_agent_once_and_logs_through_the_host() {
        let engine = harness::engine();
        let mut store = harness::store(&engine, GIB);
        let plugin = harness::allocator(&engine, &mut store, builtin("drf").expect("drf"));
        let drf = plugin.corral_plugin_allocator();
        drf.call_init(&mut store, "")
            .expect("call")
            .expect("default config");
        drf.call_add_agent(&mut store, &agent(), &[]).expect("call");
        drf.call_add_framework(&mut store, &framework(), true)
            .expect("call");
        let grants = drf.call_allocate(&mut store, 1_000).expect("call");
        assert_eq!(grants.len(), 1);
        assert_eq!(
            (grants[0].agent_id.as_str(), grants[0].framework_id.as_str()),
            ("a1", "f1")
        );
        assert_eq!(grants[0].resources, vec![cpus(2.0)]);
        assert!(
            drf.call_allocate(&mut store, 1_001)
                .expect("call")
                .is_empty()
        );

        let refused = drf.call_init(&mut store, "{").expect("call");
        assert!(
            refused.is_err(),
            "bad configuration is an error, not a trap"
        );
        drf.call_set_weight(&mut store, "*", -1.0).expect("call");
        assert!(
            store
                .data()
                .logs
                .iter()
                .any(|l| l.contains("ignoring weight")),
            "logs: {:?}",
            store.data().logs
        );
        let view = drf.call_inspect(&mut store).expect("call");
        assert!(view.contains("\"policy\":\"drf\""), "{view}");
    }

    #[test]
    fn command_runs_its_state_machine() {
        let engine = harness::engine();
        let mut store = harness::store(&engine, GIB);
        let plugin = harness::executor(&engine, &mut store, builtin("command").expect("command"));
        let command = plugin.corral_plugin_executor();
        let shell = CommandInfo {
            shell: true,
            value: "exit 3".into(),
            arguments: vec![],
            environment: vec![],
            user: None,
        };
        let actions = command
            .call_launch(&mut store, &task(Some(shell)))
            .expect("call")
            .expect("launches");
        assert_eq!(actions.len(), 3, "spawn, starting, running: {actions:?}");
        let exit = Event::Exited(ProcessExit {
            id: 1,
            code: Some(3),
            signal: None,
        });
        let actions = command
            .call_on_event(&mut store, &exit)
            .expect("call")
            .expect("handled");
        let Action::SendStatus(status) = &actions[0] else {
            panic!("expected a status first: {actions:?}");
        };
        assert_eq!(status.state, TaskState::Failed);
        assert_eq!(
            status.message.as_deref(),
            Some("Command exited with status 3")
        );
        assert_eq!(actions[1], Action::Done);

        let mut store = harness::store(&engine, GIB);
        let plugin = harness::executor(&engine, &mut store, builtin("command").expect("command"));
        let error = plugin
            .corral_plugin_executor()
            .call_launch(&mut store, &task(None))
            .expect("call")
            .expect_err("no command");
        assert_eq!(error, "task t1 has no command");
    }

    #[test]
    fn trap_fixtures_trap_in_their_call_only() {
        let engine = harness::engine();
        let mut store = harness::store(&engine, GIB);
        let plugin = harness::allocator(
            &engine,
            &mut store,
            fixture("trap-allocator").expect("fixture"),
        );
        let trap = plugin.corral_plugin_allocator();
        trap.call_add_agent(&mut store, &agent(), &[])
            .expect("other calls behave");
        assert!(trap.call_allocate(&mut store, 0).is_err(), "allocate traps");

        let mut store = harness::store(&engine, GIB);
        let plugin = harness::executor(
            &engine,
            &mut store,
            fixture("trap-executor").expect("fixture"),
        );
        assert!(
            plugin
                .corral_plugin_executor()
                .call_launch(&mut store, &task(None))
                .is_err(),
            "launch traps"
        );
    }

    #[test]
    fn loop_allocator_runs_until_interrupted() {
        let engine = harness::engine();
        let mut store = harness::store(&engine, GIB);
        let plugin = harness::allocator(
            &engine,
            &mut store,
            fixture("loop-allocator").expect("fixture"),
        );
        store.set_epoch_deadline(1);
        let ticker = engine.clone();
        let tick = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            ticker.increment_epoch();
        });
        let result = plugin
            .corral_plugin_allocator()
            .call_allocate(&mut store, 0);
        tick.join().expect("ticker thread");
        assert!(result.is_err(), "only the epoch deadline ends the loop");
    }

    #[test]
    fn membomb_allocator_hits_the_memory_cap() {
        let engine = harness::engine();
        let mut store = harness::store(&engine, 64 << 20);
        let plugin = harness::allocator(
            &engine,
            &mut store,
            fixture("membomb-allocator").expect("fixture"),
        );
        let result = plugin
            .corral_plugin_allocator()
            .call_allocate(&mut store, 0);
        assert!(result.is_err(), "allocation fails at the cap and traps");
    }

    #[test]
    fn huge_allocator_answers_100_mb_to_inspect() {
        let engine = harness::engine();
        let mut store = harness::store(&engine, GIB);
        let plugin = harness::allocator(
            &engine,
            &mut store,
            fixture("huge-allocator").expect("fixture"),
        );
        let view = plugin
            .corral_plugin_allocator()
            .call_inspect(&mut store)
            .expect("call succeeds without a memory cap");
        assert_eq!(view.len(), 100 * 1024 * 1024);
    }
}
