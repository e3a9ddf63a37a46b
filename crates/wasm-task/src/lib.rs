//! Wasm tasks (issue 6): a task whose command names a `.wasm` WASI program runs as
//! `corral wasm-run` (the agent binary in a runner mode) under the task's usual supervisor and
//! cgroups. This module is the runner's side: it runs a WASI program, either a wasip2 command
//! component or a wasip1 core module, with
//!
//! - the task's arguments (argv[0] included) and the runner's environment (the task's
//!   variables and `MESOS_*`, as a native command gets them);
//! - stdin empty, stdout and stderr inherited (the sandbox's `stdout`/`stderr` files);
//! - one preopened directory, the sandbox, at `/` (and the working directory is `/`), so
//!   `/data.txt` and `data.txt` are both the sandbox's `data.txt` and nothing outside it can
//!   be named;
//! - no network (TCP, UDP and name lookups refused);
//! - linear memory capped at the task's `mem`: a `memory.grow` past it traps with a message
//!   naming the cap.
//!
//! Exit codes: the program's own (`proc_exit` for wasip1; a wasip2 component's `exit` can
//! only say 0 or 1, `exit-with-code` gives the code), [`TRAP_EXIT`] when it traps (as a
//! native abort, and as the wasmtime CLI does), [`LOAD_EXIT`] when it cannot be loaded.
//!
//! Compiled code is not cached: a cache directory shared by tasks that run as the agent's
//! user could be written by one task and its native code loaded by the next.

/// The agent's side: turning a `.wasm` command into a `corral wasm-run` command.
pub mod launch;
mod limits;

use std::path::{Path, PathBuf};

use wasmtime::component::{Component, ResourceTable};
use wasmtime::{Config, Engine, Linker, Module, Store};
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::bindings::sync::Command;
use wasmtime_wasi::{FsPerms, I32Exit, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use limits::MemoryCap;

/// The hidden subcommand's name.
pub const SUBCOMMAND: &str = "wasm-run";
/// The exit code of a program that trapped (128 + SIGABRT, as a native abort).
pub const TRAP_EXIT: i32 = 134;
/// The exit code when the program cannot be read, compiled or instantiated.
pub const LOAD_EXIT: i32 = 126;

/// What to run and how.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The `.wasm` file.
    pub program: PathBuf,
    /// The program's argv, argv[0] included.
    pub argv: Vec<String>,
    pub env: Vec<(String, String)>,
    /// The directory the program sees as `/` (the task's sandbox).
    pub dir: PathBuf,
    /// The cap on the program's linear memory, in bytes; `None` for no cap.
    pub max_memory_bytes: Option<u64>,
}

/// Why a program could not run to an exit code.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path} is not a WebAssembly module or component")]
    NotWasm { path: String },
    #[error("cannot load {path}: {reason}")]
    Load { path: String, reason: String },
    #[error("the program trapped: {0}")]
    Trap(String),
    /// A trap at a `memory.grow` past the cap: `limit` says so, naming the cap.
    #[error("{limit}\nthe program trapped: {trap}")]
    MemoryLimit { limit: String, trap: String },
}

impl RunError {
    /// The runner's exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Trap(_) | RunError::MemoryLimit { .. } => TRAP_EXIT,
            _ => LOAD_EXIT,
        }
    }
}

/// Runs the program to its end and returns its exit code.
pub fn run(options: &RunOptions) -> Result<i32, RunError> {
    let path = options.program.display().to_string();
    let bytes = std::fs::read(&options.program).map_err(|e| RunError::Read {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let load = |reason: String| RunError::Load {
        path: path.clone(),
        reason,
    };
    let mut config = Config::new();
    config.wasm_component_model(true);
    let engine = Engine::new(&config).map_err(|e| load(format!("{e:#}")))?;
    let wasi = wasi_context(options).map_err(|e| load(format!("{e:#}")))?;
    let cap = MemoryCap::new(options.max_memory_bytes);
    if wasmparser::Parser::is_component(&bytes) {
        let component = Component::new(&engine, &bytes).map_err(|e| load(format!("{e:#}")))?;
        run_component(&engine, &component, wasi, cap, &path)
    } else if wasmparser::Parser::is_core_wasm(&bytes) {
        let module = Module::new(&engine, &bytes).map_err(|e| load(format!("{e:#}")))?;
        run_module(&engine, &module, wasi, cap, &path)
    } else {
        Err(RunError::NotWasm { path })
    }
}

fn wasi_context(options: &RunOptions) -> wasmtime::Result<WasiCtxBuilder> {
    let mut builder = WasiCtxBuilder::new();
    builder
        .args(&options.argv)
        .envs(&options.env)
        .inherit_stdout()
        .inherit_stderr()
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .preopened_dir(&options.dir, "/", FsPerms::ReadWrite)?;
    Ok(builder)
}

/// A wasip2 component's store data.
struct ComponentState {
    ctx: WasiCtx,
    table: ResourceTable,
    cap: MemoryCap,
}

impl WasiView for ComponentState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.ctx,
            table: &mut self.table,
        }
    }
}

fn run_component(
    engine: &Engine,
    component: &Component,
    mut wasi: WasiCtxBuilder,
    cap: MemoryCap,
    path: &str,
) -> Result<i32, RunError> {
    let load = |reason: String| RunError::Load {
        path: path.to_string(),
        reason,
    };
    let mut linker = wasmtime::component::Linker::<ComponentState>::new(engine);
    // Includes `exit-with-code` (stable since WASI 0.2.12).
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(|e| load(format!("{e:#}")))?;
    let state = ComponentState {
        ctx: wasi.build(),
        table: ResourceTable::new(),
        cap,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.cap);
    let command =
        Command::instantiate(&mut store, component, &linker).map_err(|e| load(format!("{e:#}")))?;
    let ran = command.wasi_cli_run().call_run(&mut store);
    let cap = &store.data().cap;
    match ran {
        Ok(Ok(())) => Ok(0),
        Ok(Err(())) => Ok(1),
        Err(e) => exit_or_trap(e, cap),
    }
}

/// A wasip1 module's store data.
struct ModuleState {
    ctx: WasiP1Ctx,
    cap: MemoryCap,
}

fn run_module(
    engine: &Engine,
    module: &Module,
    mut wasi: WasiCtxBuilder,
    cap: MemoryCap,
    path: &str,
) -> Result<i32, RunError> {
    let load = |reason: String| RunError::Load {
        path: path.to_string(),
        reason,
    };
    let mut linker = Linker::<ModuleState>::new(engine);
    wasmtime_wasi::p1::add_to_linker_sync(&mut linker, |s| &mut s.ctx)
        .map_err(|e| load(format!("{e:#}")))?;
    let state = ModuleState {
        ctx: wasi.build_p1(),
        cap,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.cap);
    let instance = linker
        .instantiate(&mut store, module)
        .map_err(|e| load(format!("{e:#}")))?;
    let start = instance
        .get_typed_func::<(), ()>(&mut store, "_start")
        .map_err(|e| load(format!("not a WASI command (no `_start`): {e:#}")))?;
    let ran = start.call(&mut store, ());
    match ran {
        Ok(()) => Ok(0),
        Err(e) => exit_or_trap(e, &store.data().cap),
    }
}

/// An `exit` is the program's code; anything else is a trap, said with the memory cap when
/// that is why.
fn exit_or_trap(error: wasmtime::Error, cap: &MemoryCap) -> Result<i32, RunError> {
    if let Some(exit) = error.downcast_ref::<I32Exit>() {
        return Ok(exit.0);
    }
    let trap = format!("{error:?}");
    match cap.refused() {
        Some(limit) => Err(RunError::MemoryLimit {
            limit: limit.to_string(),
            trap,
        }),
        None => Err(RunError::Trap(trap)),
    }
}

/// The file the task names, resolved against its sandbox when relative.
pub fn program_path(value: &str, sandbox: &Path) -> PathBuf {
    let path = Path::new(value);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        sandbox.join(path)
    }
}

#[cfg(test)]
mod tests;
