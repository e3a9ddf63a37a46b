//! What each controller file (`cpu`, `memory`, `pids`) does, in the manner of youki's
//! libcgroups: write its part of a container's limits into a cgroup directory it is given,
//! and read its usage back from one. The directory is an argument, never found here, so a
//! test hands a temporary directory holding the files the kernel would make.

use std::path::Path;

use super::{IsolationError, Limits, Version};

pub trait Controller {
    /// What [`Controller::usage`] reads back.
    type Usage;

    /// Writes this controller's part of `limits` into the cgroup `dir`, in the files of
    /// `version`; a limit that is `None` leaves its files as they are.
    fn apply(version: Version, dir: &Path, limits: &Limits) -> Result<(), IsolationError>;

    /// The cgroup's usage so far, read from `dir` (on v1, the hierarchy that counts it:
    /// cpuacct for cpu time).
    fn usage(version: Version, dir: &Path) -> Result<Self::Usage, IsolationError>;
}
