//! Health and readiness checks. Mesos-side checks (`COMMAND`, `MESOS_HTTP`, `MESOS_TCP`) go
//! into the task's `TaskInfo` (`mesos`) and the agent's executor reports `healthy` with the
//! task's updates; Marathon-side checks (`HTTP`, `HTTPS`, `TCP`) and readiness checks run in
//! the services process against the task's host and port (`runner`, `probe`). What a result
//! means (grace period, consecutive failures, kills) is decided without I/O (`state`,
//! `readiness`).

pub mod mesos;
pub mod probe;
pub mod readiness;
pub mod runner;
pub mod state;
