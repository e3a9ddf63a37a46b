//! An example wasm task: counts the words of its arguments and of the files it is asked to
//! read, and shows what the sandbox allows. Options, handled in order:
//!
//! - `--read PATH`: prints PATH's line and word counts (PATH is inside the task's sandbox,
//!   which the program sees at `/`); a file it cannot open exits 2 with the error (1 when
//!   built for wasm32-wasip2, whose `exit` can only say ok or err).
//! - `--write PATH TEXT`: writes TEXT to PATH in the sandbox.
//! - `--alloc-mb N`: allocates and touches N MB (past the task's `mem` it traps).
//! - `--sleep-secs N`: sleeps N seconds (a task to kill).
//! - `--exit N`: exits with status N at once (wasm32-wasip2: 1 for any N other than 0).
//!
//! Any other argument is a word to count. `GREETING`, if set in the environment, is printed.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut words = 0usize;
    if let Ok(greeting) = std::env::var("GREETING") {
        println!("GREETING={greeting}");
    }
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--read" => {
                let path = args.next().unwrap_or_default();
                match std::fs::read_to_string(&path) {
                    Ok(text) => println!(
                        "{path}: {} lines, {} words",
                        text.lines().count(),
                        text.split_whitespace().count()
                    ),
                    Err(e) => {
                        eprintln!("cannot read {path}: {e}");
                        return ExitCode::from(2);
                    }
                }
            }
            "--write" => {
                let path = args.next().unwrap_or_default();
                let text = args.next().unwrap_or_default();
                if let Err(e) = std::fs::write(&path, text) {
                    eprintln!("cannot write {path}: {e}");
                    return ExitCode::from(2);
                }
                println!("wrote {path}");
            }
            "--alloc-mb" => {
                let mb: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                let block = vec![1u8; mb << 20];
                println!("allocated {} MB", block.len() >> 20);
            }
            "--sleep-secs" => {
                let secs: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(0);
                std::thread::sleep(std::time::Duration::from_secs(secs));
            }
            "--exit" => {
                let code: u8 = args.next().and_then(|n| n.parse().ok()).unwrap_or(1);
                println!("{words} words; exiting with {code}");
                return ExitCode::from(code);
            }
            _ => words += 1,
        }
    }
    println!("{words} words");
    ExitCode::SUCCESS
}
