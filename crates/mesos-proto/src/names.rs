//! The full names of the messages each v1 surface speaks.

pub const SCHEDULER_CALL: &str = "mesos.v1.scheduler.Call";
pub const SCHEDULER_EVENT: &str = "mesos.v1.scheduler.Event";
pub const MASTER_CALL: &str = "mesos.v1.master.Call";
pub const MASTER_RESPONSE: &str = "mesos.v1.master.Response";
pub const MASTER_EVENT: &str = "mesos.v1.master.Event";
pub const AGENT_CALL: &str = "mesos.v1.agent.Call";
pub const AGENT_RESPONSE: &str = "mesos.v1.agent.Response";
pub const EXECUTOR_CALL: &str = "mesos.v1.executor.Call";
pub const EXECUTOR_EVENT: &str = "mesos.v1.executor.Event";
