//! Writes the agent's checkpoints (its id, containers, status updates, executors) on a thread
//! of its own, never on an async worker: each write is fsynced, which can take a disk's
//! whole latency. Jobs run one at a time in the order they were given, so the last write of
//! a file (or its removal) is what stays, as if each had been done at once where it was
//! asked for. Giving a job never blocks; whoever must know it is on disk awaits it (or
//! [`CheckpointWriter::flush`]).

use std::path::PathBuf;
use std::sync::mpsc;

use tokio::sync::oneshot;

use super::checkpoint::{self, CheckpointError};

enum Op {
    /// Write the bytes atomically (temporary file, fsync, rename).
    Write(Vec<u8>),
    /// Remove the file; one already gone is fine.
    Remove,
    /// Remove the directory and everything in it; one already gone is fine.
    RemoveDir,
    /// Nothing: done once every job given before it is.
    Flush,
}

struct Job {
    path: PathBuf,
    op: Op,
    /// Whose checkpoint it is, for the log when it fails.
    what: String,
    done: Option<oneshot::Sender<Result<(), CheckpointError>>>,
}

/// A handle on the writer thread; clones share it. The thread ends once every handle is gone.
#[derive(Clone)]
pub struct CheckpointWriter {
    jobs: mpsc::Sender<Job>,
}

/// A job given to the writer; await it to know it is done. Dropping it leaves the job queued.
pub struct Pending(oneshot::Receiver<Result<(), CheckpointError>>);

impl Pending {
    /// Resolves once the job is done (a failure is logged by the writer too).
    pub async fn done(self) -> Result<(), CheckpointError> {
        self.0.await.unwrap_or_else(|_| {
            Err(CheckpointError {
                path: String::new(),
                reason: "the checkpoint writer is gone".into(),
            })
        })
    }
}

impl CheckpointWriter {
    /// Starts the writer thread.
    pub fn start() -> std::io::Result<CheckpointWriter> {
        let (jobs, queue) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("corral-checkpoints".into())
            .spawn(move || {
                for job in queue {
                    run(job);
                }
            })?;
        Ok(CheckpointWriter { jobs })
    }

    /// Writes `bytes` to `path` atomically; `what` names the checkpoint in the log.
    pub fn write(&self, path: PathBuf, bytes: Vec<u8>, what: impl Into<String>) -> Pending {
        self.give(path, Op::Write(bytes), what.into())
    }

    /// Removes the file at `path`.
    pub fn remove(&self, path: PathBuf, what: impl Into<String>) -> Pending {
        self.give(path, Op::Remove, what.into())
    }

    /// Removes the directory at `path` with everything in it.
    pub fn remove_dir(&self, path: PathBuf, what: impl Into<String>) -> Pending {
        self.give(path, Op::RemoveDir, what.into())
    }

    /// Resolves once every job given before is done.
    pub async fn flush(&self) {
        let _ = self
            .give(PathBuf::new(), Op::Flush, String::new())
            .done()
            .await;
    }

    fn give(&self, path: PathBuf, op: Op, what: String) -> Pending {
        let (done, pending) = oneshot::channel();
        let job = Job {
            path,
            op,
            what,
            done: Some(done),
        };
        if let Err(mpsc::SendError(job)) = self.jobs.send(job) {
            // Only when the thread died: do it here rather than lose it.
            run(job);
        }
        Pending(pending)
    }
}

fn run(job: Job) {
    let result = match job.op {
        Op::Write(bytes) => checkpoint::write_atomic(&job.path, &bytes),
        Op::Remove => checkpoint::remove(&job.path),
        Op::RemoveDir => match std::fs::remove_dir_all(&job.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CheckpointError {
                path: job.path.display().to_string(),
                reason: e.to_string(),
            }),
            _ => Ok(()),
        },
        Op::Flush => Ok(()),
    };
    if let Err(e) = &result {
        tracing::error!("cannot checkpoint {}: {e}", job.what);
    }
    if let Some(done) = job.done {
        let _ = done.send(result);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn jobs_run_in_order_and_the_last_one_stays() {
        let dir = tempfile::tempdir().expect("temp dir");
        let writer = CheckpointWriter::start().expect("writer thread");
        let file = dir.path().join("a").join("state.json");
        for n in 0..20 {
            let _ = writer.write(file.clone(), format!("{n}").into_bytes(), "test");
        }
        writer.flush().await;
        assert_eq!(std::fs::read_to_string(&file).expect("written"), "19");
        writer
            .remove_dir(dir.path().join("a"), "test")
            .done()
            .await
            .expect("removed");
        assert!(!file.exists());
        let again = writer.write(file.clone(), b"back".to_vec(), "test");
        again.done().await.expect("written again");
        assert_eq!(std::fs::read_to_string(&file).expect("written"), "back");
    }

    #[tokio::test]
    async fn a_failure_is_returned_to_whoever_awaits_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "not a directory").expect("write");
        let writer = CheckpointWriter::start().expect("writer thread");
        let failed = writer
            .write(blocker.join("under-a-file"), b"x".to_vec(), "test")
            .done()
            .await;
        assert!(failed.is_err());
    }
}
