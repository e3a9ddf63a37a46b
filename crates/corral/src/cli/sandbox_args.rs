//! What `corral agent` and `corral dev` say about a task's sandbox: its disk quota (Mesos'
//! `disk/du` isolator flags) and the cap on its stdout and stderr (Mesos'
//! `LogrotateContainerLogger`).

use std::time::Duration;

use super::duration_flag;
use corral_agent::disk_watch::DiskQuotaConfig;
use corral_agent::log_rotation::{DEFAULT_MAX_FILES, DEFAULT_MAX_SIZE, LogRotation};

#[derive(Debug, Clone, clap::Args)]
pub struct SandboxArgs {
    /// How often the sandbox of each task with a `disk` resource is measured (Mesos'
    /// --container_disk_watch_interval).
    #[arg(long, default_value = "15secs", value_name = "DURATION", value_parser = duration_flag::positive)]
    pub container_disk_watch_interval: Duration,
    /// Kill a task whose sandbox grows past its `disk` (TASK_FAILED,
    /// REASON_CONTAINER_LIMITATION_DISK). Default: off under `corral agent` (as Mesos), on
    /// under `corral dev`.
    #[arg(long, value_name = "true|false", num_args = 0..=1, default_missing_value = "true")]
    pub enforce_container_disk_quota: Option<bool>,
    /// The most bytes of a task's stdout (and of its stderr) file; past it the file is
    /// rotated to stdout.1 (Mesos' max_stdout_size).
    #[arg(long, default_value_t = DEFAULT_MAX_SIZE, value_name = "BYTES")]
    pub container_logger_max_size: u64,
    /// Rotated stdout and stderr files kept per task (stdout.1 .. stdout.N; logrotate's
    /// `rotate N`).
    #[arg(long, default_value_t = DEFAULT_MAX_FILES, value_name = "N")]
    pub container_logger_max_files: u32,
}

impl Default for SandboxArgs {
    fn default() -> SandboxArgs {
        SandboxArgs {
            container_disk_watch_interval: corral_agent::disk_watch::DEFAULT_WATCH_INTERVAL,
            enforce_container_disk_quota: None,
            container_logger_max_size: DEFAULT_MAX_SIZE,
            container_logger_max_files: DEFAULT_MAX_FILES,
        }
    }
}

impl SandboxArgs {
    /// The disk quota, enforced by default when `enforce_by_default` (the command's choice).
    pub fn disk_quota(&self, enforce_by_default: bool) -> DiskQuotaConfig {
        DiskQuotaConfig {
            watch_interval: self.container_disk_watch_interval,
            enforce: self
                .enforce_container_disk_quota
                .unwrap_or(enforce_by_default),
        }
    }

    pub fn container_logger(&self) -> LogRotation {
        LogRotation {
            max_size: self.container_logger_max_size,
            max_files: self.container_logger_max_files,
        }
    }

    /// Refuses a log cap below a page or too many files kept.
    pub fn check(&self) -> anyhow::Result<()> {
        self.container_logger().check().map_err(anyhow::Error::msg)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Flags {
        #[command(flatten)]
        sandbox: SandboxArgs,
    }

    fn parse(args: &[&str]) -> SandboxArgs {
        let mut argv = vec!["test"];
        argv.extend_from_slice(args);
        Flags::try_parse_from(argv).expect("parses").sandbox
    }

    #[test]
    fn defaults_are_mesos_and_enforcement_is_the_command_s_choice() {
        let args = parse(&[]);
        assert_eq!(args.disk_quota(false), DiskQuotaConfig::default());
        assert!(args.disk_quota(true).enforce);
        assert_eq!(args.container_logger(), LogRotation::default());
        assert!(
            parse(&["--enforce-container-disk-quota"])
                .disk_quota(false)
                .enforce
        );
        let off = parse(&["--enforce-container-disk-quota=false"]);
        assert!(!off.disk_quota(true).enforce);
        let fast = parse(&["--container-disk-watch-interval", "100ms"]);
        assert_eq!(
            fast.disk_quota(false).watch_interval,
            Duration::from_millis(100)
        );
    }

    #[test]
    fn a_log_cap_below_a_page_is_refused() {
        let args = parse(&["--container-logger-max-size", "100"]);
        let error = args.check().expect_err("refused").to_string();
        assert!(error.contains("--container-logger-max-size"), "{error}");
    }
}
