//! The runner on real programs: the example wasip2 component (examples/wasi-task, built by
//! corral-test-fixtures) and wasip1 core modules written in text.

use std::path::Path;

use super::*;

const EXAMPLE: &[u8] = corral_test_fixtures::WASI_TASK_EXAMPLE;

fn options(dir: &Path, program: &Path, argv: &[&str], max_mb: Option<u64>) -> RunOptions {
    RunOptions {
        program: program.to_path_buf(),
        argv: argv.iter().map(|a| a.to_string()).collect(),
        env: vec![("GREETING".into(), "hi".into())],
        dir: dir.to_path_buf(),
        max_memory_bytes: max_mb.map(|mb| mb << 20),
    }
}

/// A sandbox holding the example as `task.wasm`.
fn sandbox_with_example() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = dir.path().join("task.wasm");
    std::fs::write(&program, EXAMPLE).expect("writes");
    (dir, program)
}

/// A wasip1 command module whose `_start` runs `body`.
fn p1_module(dir: &Path, body: &str) -> PathBuf {
    let text = format!(
        r#"(module
            (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
            (memory (export "memory") 1)
            (func (export "_start") {body}))"#
    );
    let bytes = wat::parse_str(text).expect("valid wat");
    let path = dir.join("p1.wasm");
    std::fs::write(&path, bytes).expect("writes");
    path
}

#[test]
fn a_component_gets_its_arguments_and_writes_only_inside_its_directory() {
    let (dir, program) = sandbox_with_example();
    let argv = [
        "task", "--write", "/out.txt", "one two", "--write", "rel.txt", "x",
    ];
    let code = run(&options(dir.path(), &program, &argv, Some(64))).expect("runs");
    assert_eq!(code, 0);
    let out = std::fs::read_to_string(dir.path().join("out.txt")).expect("written");
    assert_eq!(out, "one two");
    assert!(dir.path().join("rel.txt").exists());
}

#[test]
fn a_component_cannot_read_outside_its_directory() {
    let (dir, program) = sandbox_with_example();
    std::fs::write(dir.path().join("inside.txt"), "a b").expect("writes");
    // The program writes ok.txt only after its read succeeded.
    let argv = ["task", "--read", "/inside.txt", "--write", "ok.txt", "yes"];
    let code = run(&options(dir.path(), &program, &argv, None)).expect("runs");
    assert_eq!(code, 0);
    assert!(dir.path().join("ok.txt").exists());
    std::fs::remove_file(dir.path().join("ok.txt")).expect("removes");
    for path in ["/etc/passwd", "../../../../../../etc/passwd"] {
        let argv = ["task", "--read", path, "--write", "ok.txt", "yes"];
        let code = run(&options(dir.path(), &program, &argv, None)).expect("runs");
        assert_eq!(code, 1, "{path}");
        assert!(!dir.path().join("ok.txt").exists(), "{path} was readable");
    }
}

#[test]
fn a_component_that_fails_exits_1() {
    let (dir, program) = sandbox_with_example();
    // wasi:cli/exit of a Rust wasip2 program can only say ok or err.
    let code = run(&options(
        dir.path(),
        &program,
        &["task", "--exit", "3"],
        None,
    ))
    .expect("runs");
    assert_eq!(code, 1);
}

#[test]
fn memory_past_the_cap_traps_with_a_message_naming_the_cap() {
    let (dir, program) = sandbox_with_example();
    let argv = ["task", "--alloc-mb", "64"];
    let err = run(&options(dir.path(), &program, &argv, Some(16))).expect_err("traps");
    assert_eq!(err.exit_code(), TRAP_EXIT);
    assert!(matches!(err, RunError::MemoryLimit { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("memory limit of 16 MB"), "{message}");
    // Under the cap the same program runs.
    let argv = ["task", "--alloc-mb", "4"];
    assert_eq!(
        run(&options(dir.path(), &program, &argv, Some(64))).expect("runs"),
        0
    );
}

#[test]
fn a_wasip1_module_exits_with_its_own_code() {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = p1_module(dir.path(), "(call $exit (i32.const 3))");
    let code = run(&options(dir.path(), &program, &["p1"], None)).expect("runs");
    assert_eq!(code, 3);
    let program = p1_module(dir.path(), "");
    assert_eq!(
        run(&options(dir.path(), &program, &["p1"], None)).expect("runs"),
        0
    );
}

#[test]
fn a_trap_is_an_error_with_the_trap_and_exit_code_134() {
    let dir = tempfile::tempdir().expect("tempdir");
    let program = p1_module(dir.path(), "unreachable");
    let err = run(&options(dir.path(), &program, &["p1"], None)).expect_err("traps");
    assert_eq!(err.exit_code(), 134);
    assert!(err.to_string().contains("unreachable"), "{err}");
}

#[test]
fn files_that_are_not_programs_are_refused_with_a_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = dir.path().join("text.wasm");
    std::fs::write(&text, "not wasm").expect("writes");
    let err = run(&options(dir.path(), &text, &["x"], None)).expect_err("refused");
    assert!(matches!(err, RunError::NotWasm { .. }), "{err}");
    assert_eq!(err.exit_code(), LOAD_EXIT);

    let truncated = dir.path().join("truncated.wasm");
    std::fs::write(&truncated, &EXAMPLE[..EXAMPLE.len() / 2]).expect("writes");
    let err = run(&options(dir.path(), &truncated, &["x"], None)).expect_err("refused");
    assert!(matches!(err, RunError::Load { .. }), "{err}");

    let library = dir.path().join("library.wasm");
    std::fs::write(&library, wat::parse_str("(module)").expect("wat")).expect("writes");
    let err = run(&options(dir.path(), &library, &["x"], None)).expect_err("refused");
    assert!(err.to_string().contains("_start"), "{err}");

    let missing = dir.path().join("missing.wasm");
    let err = run(&options(dir.path(), &missing, &["x"], None)).expect_err("refused");
    assert!(matches!(err, RunError::Read { .. }), "{err}");
}
