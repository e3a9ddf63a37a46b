//! The fuzz run of every CI run (`cargo test` runs it; no libtest harness, so that its
//! figures print): each target replays its corpus and regressions, then runs a fixed number
//! of mutants. `CORRAL_FUZZ_SEED` fixes the seed (each run prints its own),
//! `CORRAL_FUZZ_BUDGET` the executions per target; arguments name the targets to run.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use corral_fuzz::runner::{Failure, Stats, fuzz};
use corral_fuzz::{TARGETS, Target};

/// Executions per target when `CORRAL_FUZZ_BUDGET` is not set: the whole run stays well
/// under a minute on two cores.
const DEFAULT_BUDGET: usize = 2000;

fn main() -> ExitCode {
    let names: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let targets: Vec<Target> = TARGETS
        .iter()
        .copied()
        .filter(|t| names.is_empty() || names.iter().any(|n| n == t.name))
        .collect();
    let seed = match env_number("CORRAL_FUZZ_SEED") {
        Ok(Some(seed)) => seed,
        Ok(None) => fresh_seed(),
        Err(message) => return usage(&message),
    };
    let budget = match env_number("CORRAL_FUZZ_BUDGET") {
        Ok(budget) => budget.map_or(DEFAULT_BUDGET, |b| b as usize),
        Err(message) => return usage(&message),
    };
    println!(
        "fuzz: seed {seed} (CORRAL_FUZZ_SEED={seed} reproduces), {budget} executions per \
         target (CORRAL_FUZZ_BUDGET), {} targets",
        targets.len()
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let results = run_all(&targets, root, seed, budget);
    let mut failed = false;
    for (target, result) in targets.iter().zip(results) {
        match result {
            Some(Ok(stats)) => println!(
                "fuzz {}: {} corpus inputs replayed, {} executions, 0 panics",
                target.name, stats.replayed, stats.executions
            ),
            Some(Err(failure)) => {
                failed = true;
                println!("{failure}");
            }
            None => {
                failed = true;
                println!("fuzz {}: did not run", target.name);
            }
        }
    }
    if failed {
        println!("fuzz: FAILED (seed {seed})");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

type Outcome = Option<Result<Stats, Failure>>;

/// Runs the targets on as many threads as there are cores (at most 4).
fn run_all(targets: &[Target], root: &Path, seed: u64, budget: usize) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Outcome>> = Mutex::new((0..targets.len()).map(|_| None).collect());
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get().min(4));
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(target) = targets.get(i) else {
                        return;
                    };
                    let outcome = fuzz(*target, root, seed, budget);
                    let mut results = results.lock().unwrap_or_else(|e| e.into_inner());
                    results[i] = Some(outcome);
                }
            });
        }
    });
    results.into_inner().unwrap_or_else(|e| e.into_inner())
}

fn env_number(name: &str) -> Result<Option<u64>, String> {
    match std::env::var(name) {
        Ok(text) => text
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| format!("{name} must be a number, got '{text}'")),
        Err(_) => Ok(None),
    }
}

fn fresh_seed() -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ u64::from(std::process::id()).rotate_left(32)
}

fn usage(message: &str) -> ExitCode {
    println!("fuzz: {message}");
    ExitCode::FAILURE
}
