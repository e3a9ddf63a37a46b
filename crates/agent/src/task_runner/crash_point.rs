//! A crash on purpose, for tests of recovery (debug builds only): when the agent's work dir
//! holds `crash-after-start`, the agent removes it and aborts right after starting a task's
//! command, before checkpointing its supervisor, as a `kill -9` at that moment would. The
//! file makes it happen once.

use std::path::Path;

/// The file that asks for the crash.
pub const FILE: &str = "crash-after-start";

pub async fn after_start(work_dir: &Path) {
    if tokio::fs::remove_file(work_dir.join(FILE)).await.is_ok() {
        eprintln!("{FILE}: aborting between the command's start and its checkpoint");
        std::process::abort();
    }
}
