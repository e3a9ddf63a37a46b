//! Where an HTTP executor runs: `<work_dir>/sandboxes/<framework>/executors/<executor id>`,
//! shared by its tasks.

use std::path::{Path, PathBuf};

use crate::checkpoint::path_component;
use corral_api::v1::{ExecutorId, FrameworkId};

pub fn executor_sandbox(
    work_dir: &Path,
    framework_id: &FrameworkId,
    executor: &ExecutorId,
) -> PathBuf {
    work_dir
        .join("sandboxes")
        .join(path_component(&framework_id.value))
        .join("executors")
        .join(path_component(&executor.value))
}
