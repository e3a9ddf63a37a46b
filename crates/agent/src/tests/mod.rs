//! Agent tests against a fake master (the two internal endpoints) and a fake executor
//! instance that behaves like the command executor; processes are real.

mod cgroups;
mod cgroups_real;
mod fake_executor;
mod fake_master;
mod gone;
mod health_checks;
mod http_api;
mod http_executor;
mod http_executor_auth;
mod http_executor_recovery;
mod isolator_usage;
mod launch_storm;
mod plugin_sync;
mod recovery;
mod registration;
mod sandbox_files;
mod support;
mod task_failures;
mod task_lifecycle;
mod updates;
mod usage;
