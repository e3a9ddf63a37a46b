//! The stable runner: replays a target's corpus and regressions, then mutates its corpus for
//! a fixed number of executions. A panic is caught, and the input that caused it is written
//! under the temp dir and named in the failure.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use super::Target;
use super::mutate::mutate;
use super::rng::Rng;

/// What one target's run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Files of `corpus/` and `regressions/` replayed.
    pub replayed: usize,
    /// Mutated inputs run.
    pub executions: usize,
}

/// A panic: the target, the input (a file of the corpus or regressions, or a mutant saved
/// under the temp dir), and the panic's message.
#[derive(Debug)]
pub struct Failure {
    pub target: &'static str,
    pub input: Vec<u8>,
    pub file: Option<InputFile>,
    pub message: String,
}

#[derive(Debug)]
pub enum InputFile {
    /// A file of `corpus/` or `regressions/`.
    Replayed(PathBuf),
    /// A mutant, saved to be kept.
    Saved(PathBuf),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "fuzz {}: panicked: {}; input ",
            self.target, self.message
        )?;
        match &self.file {
            Some(InputFile::Replayed(path)) => write!(f, "{}", path.display()),
            Some(InputFile::Saved(path)) => write!(
                f,
                "saved at {} (keep it: copy it to crates/fuzz/regressions/{}/)",
                path.display(),
                self.target
            ),
            None => write!(f, "{:?}", String::from_utf8_lossy(&self.input)),
        }
    }
}

/// The directories of a target's inputs under `root` (crates/fuzz): its corpus and the
/// crashes found, kept forever.
pub fn input_dirs(root: &Path, target: &str) -> [PathBuf; 2] {
    [
        root.join("corpus").join(target),
        root.join("regressions").join(target),
    ]
}

/// The files of `dir`, sorted by name; none if it does not exist.
pub fn read_inputs(dir: &Path) -> std::io::Result<Vec<(PathBuf, Vec<u8>)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.is_file() {
            let bytes = std::fs::read(&path)?;
            files.push((path, bytes));
        }
    }
    files.sort();
    Ok(files)
}

/// Runs `target` on `input`; `Err` carries the panic's message.
pub fn run_once(target: Target, input: &[u8]) -> Result<(), String> {
    catch_unwind(AssertUnwindSafe(|| (target.run)(input))).map_err(|payload| {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic without a message".into())
    })
}

/// Replays every input of `root`'s directories for `target`, then runs `executions`
/// mutants of them, seeded by `seed` (and the target's name, so that each target's inputs
/// do not depend on the order targets run in).
pub fn fuzz(target: Target, root: &Path, seed: u64, executions: usize) -> Result<Stats, Failure> {
    let mut corpus = Vec::new();
    for dir in input_dirs(root, target.name) {
        let inputs = read_inputs(&dir).map_err(|e| Failure {
            target: target.name,
            input: Vec::new(),
            file: None,
            message: format!("cannot read {}: {e}", dir.display()),
        })?;
        for (path, bytes) in inputs {
            run_once(target, &bytes).map_err(|message| Failure {
                target: target.name,
                input: bytes.clone(),
                file: Some(InputFile::Replayed(path.clone())),
                message,
            })?;
            corpus.push(bytes);
        }
    }
    let replayed = corpus.len();
    if corpus.is_empty() {
        corpus.push(Vec::new());
    }
    let mut rng = Rng::new(seed ^ name_hash(target.name));
    for _ in 0..executions {
        let base = rng.below(corpus.len());
        let input = mutate(&mut rng, &corpus[base], &corpus);
        if let Err(message) = run_once(target, &input) {
            let file = save(target.name, &input).map(InputFile::Saved);
            return Err(Failure {
                target: target.name,
                input,
                file,
                message,
            });
        }
    }
    Ok(Stats {
        replayed,
        executions,
    })
}

/// FNV-1a: stable across Rust versions, so a seed reproduces with any toolchain.
fn name_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Writes a crashing input to `$TMPDIR/corral-fuzz/<target>-<hash>`.
fn save(target: &str, input: &[u8]) -> Option<PathBuf> {
    let dir = std::env::temp_dir().join("corral-fuzz");
    std::fs::create_dir_all(&dir).ok()?;
    let mut hasher = DefaultHasher::new();
    input.hash(&mut hasher);
    let path = dir.join(format!("{target}-{:016x}", hasher.finish()));
    std::fs::write(&path, input).ok()?;
    Some(path)
}
