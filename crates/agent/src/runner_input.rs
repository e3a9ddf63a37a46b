//! What reaches a task's runner: a kill from the agent, its processes' exits, its timers,
//! its health checks' results and the limits its container went past. Every kind of runner
//! (a command task's, an HTTP executor task's, a recovered task's) reads these from its
//! inbox.

use corral_plugin_host::executor::Event;

#[derive(Debug)]
pub enum RunnerInput {
    /// Kill the task; the grace period between SIGTERM and SIGKILL in milliseconds.
    Kill(u64),
    Event(Event),
    /// A timer fired; `generation` tells a stale firing from a timer set again since.
    TimerFired {
        id: u32,
        generation: u64,
    },
    /// The container went past a limit the agent watches (its `disk`): the task fails with
    /// this message and reason, as Mesos ends a container on a `ContainerLimitation`.
    Limitation {
        message: String,
        reason: &'static str,
    },
}
