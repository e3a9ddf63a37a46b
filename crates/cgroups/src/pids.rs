//! The pids controller: a cap on the processes and threads of a container. Its files are
//! the same on v1 and v2: `pids.max` and `pids.current`.

use std::path::Path;

use super::controller::Controller;
use super::{IsolationError, Limits, Version, number_file, write_file};

/// The pids limit when the agent is not told one.
pub const DEFAULT_LIMIT: u64 = 1024;

/// The pids controller; its usage is how many processes and threads the cgroup has.
pub struct Pids;

impl Controller for Pids {
    type Usage = u64;

    fn apply(_: Version, dir: &Path, limits: &Limits) -> Result<(), IsolationError> {
        write_file(&dir.join("pids.max"), &limits.pids.to_string())
    }

    fn usage(_: Version, dir: &Path) -> Result<u64, IsolationError> {
        current(dir)
    }
}

/// How many processes and threads the cgroup `dir` has now.
pub fn current(dir: &Path) -> Result<u64, IsolationError> {
    number_file(&dir.join("pids.current"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_cgroup::{self, read};

    fn pids(pids: u64) -> Limits {
        Limits {
            cpus: Some(1.0),
            mem_mb: Some(64.0),
            pids,
        }
    }

    #[test]
    fn the_limit_goes_to_pids_max_on_both_versions() {
        for version in [Version::V1, Version::V2] {
            let dir = tempfile::tempdir().expect("temp dir");
            fake_cgroup::make(dir.path(), &[("pids.max", "max\n")]);
            Pids::apply(version, dir.path(), &pids(50)).expect("applied");
            assert_eq!(read(dir.path(), "pids.max"), "50");
            let files: Vec<_> = std::fs::read_dir(dir.path()).expect("listed").collect();
            assert_eq!(
                files.len(),
                1,
                "only pids.max: cpu and memory are not its part"
            );
        }
    }

    #[test]
    fn a_missing_pids_max_is_an_error_naming_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = Pids::apply(Version::V2, dir.path(), &pids(50)).expect_err("no pids.max");
        assert!(err.to_string().starts_with("cannot write"), "{err}");
        assert!(err.to_string().contains("pids.max"), "{err}");
        assert!(!dir.path().join("pids.max").exists());
    }

    #[test]
    fn usage_is_pids_current() {
        let dir = tempfile::tempdir().expect("temp dir");
        fake_cgroup::make(dir.path(), &[("pids.current", "3\n")]);
        assert_eq!(Pids::usage(Version::V1, dir.path()).expect("read"), 3);
        assert_eq!(current(dir.path()).expect("read"), 3);
    }

    #[test]
    fn unreadable_usage_is_an_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = current(dir.path()).expect_err("no pids.current");
        assert!(err.to_string().contains("pids.current"), "{err}");
        fake_cgroup::make(dir.path(), &[("pids.current", "three\n")]);
        match current(dir.path()) {
            Err(IsolationError::Parse { path, text }) => {
                assert!(path.ends_with("pids.current"));
                assert_eq!(text, "three\n");
            }
            other => panic!("expected a parse error, got {other:?}"),
        }
    }
}
