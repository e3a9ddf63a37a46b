//! Allocator plugins: the policy that decides which framework is offered which agent's
//! resources. See `wit/allocator.wit` for who calls what and when.
//!
//! Implement [`Allocator`] on a type that is `Default` and export it with
//! [`export_allocator!`](crate::export_allocator). The host validates every grant, so a buggy
//! policy cannot over-allocate an agent; it only loses its grants (and a log line says why).

pub use crate::bindings::allocator::exports::corral::plugin::allocator::{
    Allocation, Grant, Quota,
};
pub use crate::types::{AgentInfo, FrameworkInfo, Resource};

/// An allocation policy. The component instance holds one value of the implementing type.
///
/// The host sends incremental events (agents and frameworks come and go, resources come
/// back) and asks [`Allocator::allocate`] for grants once per allocation cycle. Methods with
/// a default are those a simple policy may ignore.
pub trait Allocator {
    /// Called once after instantiation with the operator's configuration (JSON, may be
    /// empty). An error refuses the plugin.
    fn init(&mut self, config: String) -> Result<(), String> {
        let _ = config;
        Ok(())
    }

    /// An agent joined (or re-joined); `allocated` is what frameworks already hold on it.
    fn add_agent(&mut self, agent: AgentInfo, allocated: Vec<Allocation>);

    /// An agent's total resources or attributes changed.
    fn update_agent(&mut self, agent: AgentInfo) {
        let _ = agent;
    }

    /// An agent left; everything on it is gone.
    fn remove_agent(&mut self, agent_id: String);

    /// A framework subscribed; inactive frameworks must receive no grants.
    fn add_framework(&mut self, framework: FrameworkInfo, active: bool);

    /// A framework's roles or capabilities changed.
    fn update_framework(&mut self, framework: FrameworkInfo) {
        let _ = framework;
    }

    /// A framework is gone, with everything it held.
    fn remove_framework(&mut self, framework_id: String);

    /// A framework reconnected.
    fn activate_framework(&mut self, framework_id: String) {
        let _ = framework_id;
    }

    /// A framework disconnected; grant it nothing until it is activated again.
    fn deactivate_framework(&mut self, framework_id: String) {
        let _ = framework_id;
    }

    /// Stop granting to a framework for these roles (all of its roles when empty).
    fn suppress(&mut self, framework_id: String, roles: Vec<String>) {
        let _ = (framework_id, roles);
    }

    /// Grant again for these roles (all when empty) and drop the framework's filters.
    fn revive(&mut self, framework_id: String, roles: Vec<String>) {
        let _ = (framework_id, roles);
    }

    /// Resources come back to the pool. With `refuse_until` (ms since the epoch) the
    /// framework asked not to be offered them on this agent again before that time.
    fn recover(
        &mut self,
        agent_id: String,
        framework_id: String,
        resources: Vec<Resource>,
        refuse_until: Option<u64>,
    );

    /// Allocated resources changed shape (a reservation was made or released on them).
    fn update_allocation(
        &mut self,
        agent_id: String,
        framework_id: String,
        before: Vec<Resource>,
        after: Vec<Resource>,
    ) {
        let _ = (agent_id, framework_id, before, after);
    }

    /// Set a role's weight (default 1.0).
    fn set_weight(&mut self, role: String, weight: f64) {
        let _ = (role, weight);
    }

    /// Set or clear (empty lists) a role's quota.
    fn set_quota(&mut self, quota: Quota) {
        let _ = quota;
    }

    /// One allocation cycle at `now` (ms since the epoch). Granted resources count as
    /// allocated until the host returns them through [`Allocator::recover`].
    fn allocate(&mut self, now: u64) -> Vec<Grant>;

    /// The policy's view as JSON, for operators and the web UI.
    fn inspect(&mut self) -> String {
        "{}".to_string()
    }
}

/// Exports a type implementing [`Allocator`] and `Default` as the component's allocator.
///
/// On `wasm32` this implements the generated WIT exports by forwarding every call to a single
/// instance of the type. On native targets it only checks the bounds, so the plugin crate
/// builds and unit-tests natively.
#[macro_export]
macro_rules! export_allocator {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use $crate::allocator::{
                AgentInfo, Allocation, Allocator, FrameworkInfo, Grant, Quota, Resource,
            };

            ::std::thread_local! {
                static INSTANCE: ::std::cell::RefCell<$plugin> =
                    ::std::cell::RefCell::new(<$plugin as ::std::default::Default>::default());
            }

            fn with<R>(call: impl FnOnce(&mut $plugin) -> R) -> R {
                INSTANCE.with_borrow_mut(call)
            }

            struct CorralAllocatorExport;

            impl $crate::bindings::allocator::exports::corral::plugin::allocator::Guest
                for CorralAllocatorExport
            {
                fn init(config: String) -> Result<(), String> {
                    with(|p| p.init(config))
                }
                fn add_agent(agent: AgentInfo, allocated: Vec<Allocation>) {
                    with(|p| p.add_agent(agent, allocated))
                }
                fn update_agent(agent: AgentInfo) {
                    with(|p| p.update_agent(agent))
                }
                fn remove_agent(agent_id: String) {
                    with(|p| p.remove_agent(agent_id))
                }
                fn add_framework(framework: FrameworkInfo, active: bool) {
                    with(|p| p.add_framework(framework, active))
                }
                fn update_framework(framework: FrameworkInfo) {
                    with(|p| p.update_framework(framework))
                }
                fn remove_framework(framework_id: String) {
                    with(|p| p.remove_framework(framework_id))
                }
                fn activate_framework(framework_id: String) {
                    with(|p| p.activate_framework(framework_id))
                }
                fn deactivate_framework(framework_id: String) {
                    with(|p| p.deactivate_framework(framework_id))
                }
                fn suppress(framework_id: String, roles: Vec<String>) {
                    with(|p| p.suppress(framework_id, roles))
                }
                fn revive(framework_id: String, roles: Vec<String>) {
                    with(|p| p.revive(framework_id, roles))
                }
                fn recover(
                    agent_id: String,
                    framework_id: String,
                    resources: Vec<Resource>,
                    refuse_until: Option<u64>,
                ) {
                    with(|p| p.recover(agent_id, framework_id, resources, refuse_until))
                }
                fn update_allocation(
                    agent_id: String,
                    framework_id: String,
                    before: Vec<Resource>,
                    after: Vec<Resource>,
                ) {
                    with(|p| p.update_allocation(agent_id, framework_id, before, after))
                }
                fn set_weight(role: String, weight: f64) {
                    with(|p| p.set_weight(role, weight))
                }
                fn set_quota(quota: Quota) {
                    with(|p| p.set_quota(quota))
                }
                fn allocate(now: u64) -> Vec<Grant> {
                    with(|p| p.allocate(now))
                }
                fn inspect() -> String {
                    with(|p| p.inspect())
                }
            }

            $crate::bindings::allocator::export!(
                CorralAllocatorExport with_types_in $crate::bindings::allocator
            );
        };

        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            fn assert_exportable<T: $crate::allocator::Allocator + ::std::default::Default>() {}
            let _ = assert_exportable::<$plugin>;
        };
    };
}
