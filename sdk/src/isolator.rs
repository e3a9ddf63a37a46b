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
/// grant returns an error naming the missing grant.
///
/// Natively (unit tests) there is no host: the calls read a fake tree set with
/// [`fake_root`](capabilities::fake_root) (so `/dev/nvidia0` is `<root>/dev/nvidia0`), without
/// grant checks, or fail when none is set. See `plugins/gpu` for a test that builds such a tree.
pub mod capabilities {
    /// Device nodes matching a glob such as `/dev/nvidia[0-9]*`, sorted.
    pub fn devices(pattern: &str) -> Result<Vec<String>, String> {
        #[cfg(target_arch = "wasm32")]
        return crate::bindings::isolator::corral::plugin::capabilities::devices(pattern);
        #[cfg(not(target_arch = "wasm32"))]
        native::devices(pattern)
    }

    /// The contents of a file under a granted readable path.
    pub fn read_file(path: &str) -> Result<Vec<u8>, String> {
        #[cfg(target_arch = "wasm32")]
        return crate::bindings::isolator::corral::plugin::capabilities::read_file(path);
        #[cfg(not(target_arch = "wasm32"))]
        native::read_file(path)
    }

    /// The entries of a directory under a granted readable path (names only, sorted).
    pub fn list_dir(path: &str) -> Result<Vec<String>, String> {
        #[cfg(target_arch = "wasm32")]
        return crate::bindings::isolator::corral::plugin::capabilities::list_dir(path);
        #[cfg(not(target_arch = "wasm32"))]
        native::list_dir(path)
    }

    /// Native tests only: makes the capability calls of this thread read below `root`
    /// (`None` undoes it). Has no effect in a component, where the host answers.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn fake_root(root: Option<std::path::PathBuf>) {
        native::ROOT.with_borrow_mut(|r| *r = root);
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod native {
        use std::cell::RefCell;
        use std::path::PathBuf;

        thread_local! {
            pub(super) static ROOT: RefCell<Option<PathBuf>> = const { RefCell::new(None) };
        }

        fn under_root(path: &str) -> Result<PathBuf, String> {
            let root = ROOT.with_borrow(|r| r.clone()).ok_or_else(|| {
                format!("{path}: no host outside wasm32 (set capabilities::fake_root in tests)")
            })?;
            Ok(root.join(path.trim_start_matches('/')))
        }

        pub(super) fn devices(pattern: &str) -> Result<Vec<String>, String> {
            let (dir, name) = pattern
                .rsplit_once('/')
                .ok_or_else(|| format!("{pattern}: not an absolute path"))?;
            let entries = match std::fs::read_dir(under_root(dir)?) {
                Ok(entries) => entries,
                Err(_) => return Ok(Vec::new()),
            };
            let mut found: Vec<String> = entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|entry| crate::isolator::glob_matches(name, entry))
                .map(|entry| format!("{dir}/{entry}"))
                .collect();
            found.sort();
            Ok(found)
        }

        pub(super) fn read_file(path: &str) -> Result<Vec<u8>, String> {
            std::fs::read(under_root(path)?).map_err(|e| format!("read-file {path}: {e}"))
        }

        pub(super) fn list_dir(path: &str) -> Result<Vec<String>, String> {
            let entries = std::fs::read_dir(under_root(path)?)
                .map_err(|e| format!("list-dir {path}: {e}"))?;
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect();
            names.sort();
            Ok(names)
        }
    }
}

/// Whether `name` matches the shell glob `pattern` (`*`, `?` and `[a-z0-9]` classes), as
/// device globs in manifests are written. Used by the native capability fake.
pub fn glob_matches(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    matches_from(&p, &n)
}

fn matches_from(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => (0..=n.len()).any(|skip| matches_from(&p[1..], &n[skip..])),
        Some('?') => !n.is_empty() && matches_from(&p[1..], &n[1..]),
        Some('[') => {
            let Some(close) = p.iter().skip(1).position(|c| *c == ']').map(|i| i + 1) else {
                return n.first() == Some(&'[') && matches_from(&p[1..], &n[1..]);
            };
            let Some(c) = n.first() else { return false };
            let class = &p[1..close];
            let mut hit = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == '-' {
                    hit |= class[i] <= *c && *c <= class[i + 2];
                    i += 3;
                } else {
                    hit |= class[i] == *c;
                    i += 1;
                }
            }
            hit && matches_from(&p[close + 1..], &n[1..])
        }
        Some(literal) => n.first() == Some(literal) && matches_from(&p[1..], &n[1..]),
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
