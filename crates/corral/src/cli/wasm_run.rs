//! `corral wasm-run` (hidden): runs a task's WASI program; the agent starts it in place of a
//! `.wasm` command (see `wasm_task`). Like `supervise`, it runs without the async runtime
//! and without logging; errors go to stderr, which is the task's `stderr` file.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use corral_wasm_task::{LOAD_EXIT, RunOptions};

#[derive(Debug, Clone, clap::Args)]
pub struct WasmRunArgs {
    /// Cap on the program's linear memory (the task's mem); none when absent.
    #[arg(long, value_name = "MB")]
    pub max_memory_mb: Option<f64>,
    /// Where to write why the program was stopped at its memory cap (the agent reads it).
    #[arg(long)]
    pub limit_file: Option<PathBuf>,
    /// The directory the program sees as `/`; the working directory by default.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// The .wasm file, then the program's argv (argv[0] first).
    #[arg(last = true, required = true)]
    pub command: Vec<OsString>,
}

pub fn run(args: &WasmRunArgs) -> ExitCode {
    let code = match options(args) {
        Ok(options) => match corral_wasm_task::run(&options) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("corral wasm-run: {e}");
                if let (corral_wasm_task::RunError::MemoryLimit { limit, .. }, Some(file)) =
                    (&e, &args.limit_file)
                    && let Err(write) = std::fs::write(file, limit)
                {
                    eprintln!("corral wasm-run: cannot write {}: {write}", file.display());
                }
                e.exit_code()
            }
        },
        Err(message) => {
            eprintln!("corral wasm-run: {message}");
            LOAD_EXIT
        }
    };
    ExitCode::from(u8::try_from(code & 0xff).unwrap_or(1))
}

fn options(args: &WasmRunArgs) -> Result<RunOptions, String> {
    let Some((program, argv)) = args.command.split_first() else {
        return Err("no program given".to_string());
    };
    let text = |s: &OsString| {
        s.clone()
            .into_string()
            .map_err(|s| format!("argument {s:?} is not UTF-8 (WASI needs UTF-8)"))
    };
    let mut argv = argv.iter().map(text).collect::<Result<Vec<_>, _>>()?;
    if argv.is_empty() {
        argv.push(text(program)?);
    }
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => std::env::current_dir().map_err(|e| format!("no working directory: {e}"))?,
    };
    let max_memory_bytes = match args.max_memory_mb {
        Some(mb) if mb.is_finite() && mb > 0.0 => Some((mb * (1 << 20) as f64) as u64),
        Some(mb) => return Err(format!("--max-memory-mb must be positive, not {mb}")),
        None => None,
    };
    // Variables that are not UTF-8 cannot be given to a WASI program; they are left out.
    let env = std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .collect();
    Ok(RunOptions {
        program: PathBuf::from(program),
        argv,
        env,
        dir,
        max_memory_bytes,
    })
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use crate::cli::{Cli, Command};

    #[test]
    fn the_agent_s_command_line_parses_with_hyphens_in_the_program_s_arguments() {
        let cli = Cli::try_parse_from([
            "corral",
            "wasm-run",
            "--max-memory-mb",
            "64",
            "--",
            "/sandbox/prog.wasm",
            "prog",
            "-n",
            "--help",
        ])
        .expect("parses");
        let Command::WasmRun(args) = cli.command else {
            panic!("not wasm-run");
        };
        let options = super::options(&args).expect("options");
        assert_eq!(options.max_memory_bytes, Some(64 << 20));
        assert_eq!(options.program, std::path::Path::new("/sandbox/prog.wasm"));
        assert_eq!(options.argv, ["prog", "-n", "--help"]);
    }

    #[test]
    fn a_bad_memory_cap_is_refused() {
        let cli =
            Cli::try_parse_from(["corral", "wasm-run", "--max-memory-mb", "0", "--", "p.wasm"])
                .expect("parses");
        let Command::WasmRun(args) = cli.command else {
            panic!("not wasm-run");
        };
        let err = super::options(&args).expect_err("refused");
        assert!(err.contains("--max-memory-mb"), "{err}");
    }
}
