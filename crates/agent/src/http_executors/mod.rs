//! Mesos HTTP executors: a task with an `executor` (ExecutorInfo with a command) runs under
//! that executor process, started once per (framework, executor id) in its own container and
//! sandbox, which speaks `POST /api/v1/executor` back to the agent (see `api.rs`).
//!
//! Each such task still has a runner in the agent's task table (so kills, status updates and
//! framework shutdown go the usual way); the runner only hands the task to its executor and
//! waits until the task is terminal (see `follow.rs`). A restarted agent
//! (`--recover=reconnect`) adopts the executors still running with their non-terminal tasks
//! and waits for them to subscribe again (see `recover.rs`).
//!
//! Files depend downward only: `timeouts`, `sandbox`, `sizing`, `executor`, `checkpoint`
//! and `context` hold data and import nothing above them; `launch` starts an executor,
//! `registry` keeps them (and uses `launch`), `follow`, `recover` and `api` drive the
//! registry.

pub mod api;
pub mod checkpoint;
pub mod context;
pub mod executor;
pub mod follow;
mod launch;
pub mod recover;
pub mod registry;
pub mod sandbox;
mod sizing;
pub mod timeouts;
