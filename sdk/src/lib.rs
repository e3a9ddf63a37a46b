//! Write Corral plugins in plain Rust.
//!
//! Corral loads every policy (allocator, executor, isolator, hook, authorizer) as a
//! WebAssembly component built against the WIT package `corral:plugin@0.1.1` (see `wit/` in
//! the repository). This crate hides the component plumbing: implement one trait on a type that
//! is `Default`, call one export macro, and build with
//! `cargo build --release --target wasm32-wasip2`. The component instance holds one value of
//! your type and forwards every call to it.
//!
//! | kind | trait | export macro |
//! |------|-------|--------------|
//! | allocator | [`allocator::Allocator`] | [`export_allocator!`] |
//! | executor | [`executor::Executor`] | [`export_executor!`] |
//! | isolator | [`isolator::Isolator`] | [`export_isolator!`] |
//! | hook | [`hook::Hook`] | [`export_hook!`] |
//! | authorizer | [`authorizer::Authorizer`] | [`export_authorizer!`] |
//!
//! On native targets the export macros expand to a bounds check only, so the same crate
//! compiles natively and its logic is unit-tested with `cargo test`. [`log`] and [`now`] use
//! the host on wasm32 and stderr / the system clock natively.
//!
//! # A minimal allocator
//!
//! This allocator offers every agent with free resources to the first active framework.
//! [`resources::Resources`] does the bookkeeping.
//!
//! ```
//! use std::collections::BTreeMap;
//!
//! use corral_sdk::allocator::{Allocation, Allocator, Grant};
//! use corral_sdk::resources::Resources;
//! use corral_sdk::types::{AgentInfo, FrameworkInfo, Resource};
//!
//! #[derive(Default)]
//! struct Greedy {
//!     /// Free resources per agent.
//!     free: BTreeMap<String, Resources>,
//!     /// Active frameworks and their first role.
//!     frameworks: BTreeMap<String, String>,
//! }
//!
//! impl Allocator for Greedy {
//!     fn add_agent(&mut self, agent: AgentInfo, allocated: Vec<Allocation>) {
//!         let mut free = Resources::from_list(&agent.resources);
//!         for held in &allocated {
//!             free.subtract_all(&held.resources);
//!         }
//!         self.free.insert(agent.id, free);
//!     }
//!     fn remove_agent(&mut self, agent_id: String) {
//!         self.free.remove(&agent_id);
//!     }
//!     fn add_framework(&mut self, framework: FrameworkInfo, active: bool) {
//!         let role = framework.roles.first().cloned().unwrap_or_else(|| "*".into());
//!         if active {
//!             self.frameworks.insert(framework.id, role);
//!         }
//!     }
//!     fn remove_framework(&mut self, framework_id: String) {
//!         self.frameworks.remove(&framework_id);
//!     }
//!     fn recover(&mut self, agent_id: String, _: String, resources: Vec<Resource>, _: Option<u64>) {
//!         if let Some(free) = self.free.get_mut(&agent_id) {
//!             free.add_all(&resources);
//!         }
//!     }
//!     fn allocate(&mut self, _now: u64) -> Vec<Grant> {
//!         let Some((framework_id, role)) = self.frameworks.iter().next() else {
//!             return Vec::new();
//!         };
//!         let mut grants = Vec::new();
//!         for (agent_id, free) in &mut self.free {
//!             if !free.is_empty() {
//!                 let resources = std::mem::take(free).to_vec();
//!                 grants.push(Grant {
//!                     agent_id: agent_id.clone(),
//!                     framework_id: framework_id.clone(),
//!                     role: role.clone(),
//!                     resources,
//!                 });
//!             }
//!         }
//!         grants
//!     }
//! }
//!
//! corral_sdk::export_allocator!(Greedy);
//!
//! // The same logic runs natively, which is how plugins are unit-tested:
//! let mut policy = Greedy::default();
//! policy.add_agent(
//!     AgentInfo {
//!         id: "a1".into(),
//!         hostname: "host1".into(),
//!         resources: vec![Resource::scalar("cpus", 2.0)],
//!         attributes: vec![],
//!     },
//!     vec![],
//! );
//! policy.add_framework(
//!     FrameworkInfo {
//!         id: "f1".into(),
//!         name: "demo".into(),
//!         roles: vec!["*".into()],
//!         capabilities: vec![],
//!         principal: None,
//!     },
//!     true,
//! );
//! let grants = policy.allocate(corral_sdk::now());
//! assert_eq!(grants.len(), 1);
//! assert_eq!(grants[0].resources, vec![Resource::scalar("cpus", 2.0)]);
//! assert!(policy.allocate(corral_sdk::now()).is_empty(), "nothing is granted twice");
//! ```

#![warn(missing_docs)]

// The generated bindings name this crate by its absolute path (so that the export macros work
// from plugin crates); this makes that path resolve inside the crate too.
extern crate self as corral_sdk;

pub mod allocator;
pub mod authorizer;
pub mod bindings;
pub mod executor;
pub mod hook;
pub mod isolator;
pub mod log;
pub mod resources;
pub mod types;

/// What the generated code and the export macros need; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use wit_bindgen;
}

/// Milliseconds since the Unix epoch: the host's clock on wasm32 (a simulated clock in the
/// host's tests), the system clock natively.
pub fn now() -> u64 {
    #[cfg(target_arch = "wasm32")]
    return bindings::allocator::corral::plugin::host::now();
    #[cfg(not(target_arch = "wasm32"))]
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}
