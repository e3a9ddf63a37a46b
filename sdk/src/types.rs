//! The WIT types shared by every plugin kind (`corral:plugin/types`), plus small constructors
//! that make tests and plugins read naturally.

pub use crate::bindings::allocator::corral::plugin::types::*;

impl Resource {
    /// An unreserved, non-revocable scalar resource such as `cpus: 2`.
    pub fn scalar(name: impl Into<String>, value: f64) -> Self {
        Resource {
            name: name.into(),
            value: ResourceValue::Scalar(value),
            reservation: None,
            revocable: false,
        }
    }

    /// An unreserved ranges resource such as `ports: [31000-32000]` (inclusive bounds).
    pub fn ranges(name: impl Into<String>, ranges: &[(u64, u64)]) -> Self {
        Resource {
            name: name.into(),
            value: ResourceValue::Ranges(
                ranges
                    .iter()
                    .map(|&(begin, end)| ValueRange { begin, end })
                    .collect(),
            ),
            reservation: None,
            revocable: false,
        }
    }

    /// An unreserved set resource such as `disks: {ssd1, ssd2}`.
    pub fn set<S: Into<String>>(
        name: impl Into<String>,
        items: impl IntoIterator<Item = S>,
    ) -> Self {
        Resource {
            name: name.into(),
            value: ResourceValue::Set(items.into_iter().map(Into::into).collect()),
            reservation: None,
            revocable: false,
        }
    }

    /// The same resource, reserved for `role`.
    pub fn reserved(mut self, role: impl Into<String>) -> Self {
        self.reservation = Some(role.into());
        self
    }

    /// The same resource, marked revocable.
    pub fn revocable(mut self) -> Self {
        self.revocable = true;
        self
    }

    /// The quantity when this is a scalar resource.
    pub fn as_scalar(&self) -> Option<f64> {
        match self.value {
            ResourceValue::Scalar(value) => Some(value),
            _ => None,
        }
    }
}

impl TaskState {
    /// The Mesos name of the state, such as `TASK_RUNNING`.
    pub fn mesos_name(self) -> &'static str {
        match self {
            TaskState::Staging => "TASK_STAGING",
            TaskState::Starting => "TASK_STARTING",
            TaskState::Running => "TASK_RUNNING",
            TaskState::Killing => "TASK_KILLING",
            TaskState::Finished => "TASK_FINISHED",
            TaskState::Failed => "TASK_FAILED",
            TaskState::Killed => "TASK_KILLED",
            TaskState::Error => "TASK_ERROR",
            TaskState::Lost => "TASK_LOST",
            TaskState::Dropped => "TASK_DROPPED",
            TaskState::Unreachable => "TASK_UNREACHABLE",
            TaskState::Gone => "TASK_GONE",
            TaskState::GoneByOperator => "TASK_GONE_BY_OPERATOR",
            TaskState::Unknown => "TASK_UNKNOWN",
        }
    }
}
