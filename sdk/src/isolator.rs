//! Isolator plugins: hardware and other isolation added to containers (a GPU module is the
//! model). See `wit/isolator.wit`. The plugin decides and the host acts: [`Isolator::prepare`]
//! returns a [`LaunchPlan`] that the host applies only as far as the plugin's manifest grants.
//!
//! Implement [`Isolator`] on a `Default` type and export it with
//! [`export_isolator!`](crate::export_isolator). Every method has a no-op default.

pub use crate::bindings::isolator::exports::corral::plugin::isolator::{
    CgroupSetting, DeviceRule, LaunchPlan, Metric, Mount, RecoveredContainer,
};
pub use crate::types::{EnvVar, Resource, TaskInfo};

/// A container isolator.
pub trait Isolator {
    /// Called once with the operator's configuration (JSON, may be empty).
    fn init(&mut self, config: String) -> Result<(), String> {
        let _ = config;
        Ok(())
    }

    /// Resources this isolator contributes to the agent (for example `gpus`).
    fn discover(&mut self) -> Result<Vec<Resource>, String> {
        Ok(Vec::new())
    }

    /// After an agent restart: the containers still running.
    fn recover(&mut self, containers: Vec<RecoveredContainer>) -> Result<(), String> {
        let _ = containers;
        Ok(())
    }

    /// Before a task's process starts: what the container needs.
    fn prepare(&mut self, container_id: String, task: TaskInfo) -> Result<LaunchPlan, String> {
        let _ = (container_id, task);
        Ok(LaunchPlan {
            environment: Vec::new(),
            devices: Vec::new(),
            mounts: Vec::new(),
            cgroup: Vec::new(),
        })
    }

    /// A container's resources changed; returns cgroup settings to apply.
    fn update(
        &mut self,
        container_id: String,
        resources: Vec<Resource>,
    ) -> Result<Vec<CgroupSetting>, String> {
        let _ = (container_id, resources);
        Ok(Vec::new())
    }

    /// Plugin-specific usage of a container.
    fn usage(&mut self, container_id: String) -> Result<Vec<Metric>, String> {
        let _ = container_id;
        Ok(Vec::new())
    }

    /// The container is gone; release what it held.
    fn cleanup(&mut self, container_id: String) -> Result<(), String> {
        let _ = container_id;
        Ok(())
    }
}

/// Host functions an isolator may call as far as its manifest grants; a call outside the
/// grant returns an error naming the missing grant. Natively (unit tests) they return an
/// error, since there is no host to ask.
pub mod capabilities {
    /// Device nodes matching a glob such as `/dev/nvidia[0-9]*`.
    pub fn devices(pattern: &str) -> Result<Vec<String>, String> {
        #[cfg(target_arch = "wasm32")]
        return crate::bindings::isolator::corral::plugin::capabilities::devices(pattern);
        #[cfg(not(target_arch = "wasm32"))]
        Err(format!("devices({pattern}): no host outside wasm32"))
    }

    /// The contents of a file under a granted readable path.
    pub fn read_file(path: &str) -> Result<Vec<u8>, String> {
        #[cfg(target_arch = "wasm32")]
        return crate::bindings::isolator::corral::plugin::capabilities::read_file(path);
        #[cfg(not(target_arch = "wasm32"))]
        Err(format!("read-file({path}): no host outside wasm32"))
    }

    /// The entries of a directory under a granted readable path.
    pub fn list_dir(path: &str) -> Result<Vec<String>, String> {
        #[cfg(target_arch = "wasm32")]
        return crate::bindings::isolator::corral::plugin::capabilities::list_dir(path);
        #[cfg(not(target_arch = "wasm32"))]
        Err(format!("list-dir({path}): no host outside wasm32"))
    }
}

/// Exports a type implementing [`Isolator`] and `Default` as the component's isolator.
///
/// On `wasm32` the generated WIT exports forward to a single instance of the type. Natively it
/// only checks the bounds.
#[macro_export]
macro_rules! export_isolator {
    ($plugin:ty) => {
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            use $crate::isolator::{
                CgroupSetting, Isolator, LaunchPlan, Metric, RecoveredContainer, Resource, TaskInfo,
            };

            ::std::thread_local! {
                static INSTANCE: ::std::cell::RefCell<$plugin> =
                    ::std::cell::RefCell::new(<$plugin as ::std::default::Default>::default());
            }

            fn with<R>(call: impl FnOnce(&mut $plugin) -> R) -> R {
                INSTANCE.with_borrow_mut(call)
            }

            struct CorralIsolatorExport;

            impl $crate::bindings::isolator::exports::corral::plugin::isolator::Guest
                for CorralIsolatorExport
            {
                fn init(config: String) -> Result<(), String> {
                    with(|p| p.init(config))
                }
                fn discover() -> Result<Vec<Resource>, String> {
                    with(|p| p.discover())
                }
                fn recover(containers: Vec<RecoveredContainer>) -> Result<(), String> {
                    with(|p| p.recover(containers))
                }
                fn prepare(container_id: String, task: TaskInfo) -> Result<LaunchPlan, String> {
                    with(|p| p.prepare(container_id, task))
                }
                fn update(
                    container_id: String,
                    resources: Vec<Resource>,
                ) -> Result<Vec<CgroupSetting>, String> {
                    with(|p| p.update(container_id, resources))
                }
                fn usage(container_id: String) -> Result<Vec<Metric>, String> {
                    with(|p| p.usage(container_id))
                }
                fn cleanup(container_id: String) -> Result<(), String> {
                    with(|p| p.cleanup(container_id))
                }
            }

            $crate::bindings::isolator::export!(
                CorralIsolatorExport with_types_in $crate::bindings::isolator
            );
        };

        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            fn assert_exportable<T: $crate::isolator::Isolator + ::std::default::Default>() {}
            let _ = assert_exportable::<$plugin>;
        };
    };
}
