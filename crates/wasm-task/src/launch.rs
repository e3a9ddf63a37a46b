//! The agent's side of wasm tasks. The trigger: a command with `shell: false` whose `value`
//! ends in `.wasm` (a path relative to the sandbox, e.g. a fetched URI, or absolute). It runs
//! as `corral wasm-run [--max-memory-mb MEM] -- PROGRAM ARGV...` in place of the program,
//! through the usual supervisor and cgroups, so limits, kills and recovery are unchanged.
//! argv is the command's `arguments` (argv[0] first, as Mesos does), or just the value.

use std::io::Read;
use std::path::Path;

use super::{SUBCOMMAND, program_path};
use corral_api::v1::CommandInfo;

/// Whether the agent runs this command as a wasm task.
pub fn is_wasm_command(command: &CommandInfo) -> bool {
    !command.is_shell() && value(command).ends_with(".wasm")
}

/// The command's program; empty when it has none.
fn value(command: &CommandInfo) -> &str {
    command.value.as_deref().unwrap_or_default()
}

/// The `corral wasm-run` command that runs `command`'s program with `corral` (the agent's
/// binary), its linear memory capped at `mem_mb`; the runner writes why to `limit_file` if
/// the program hits the cap (see [`memory_limit_hit`]). Refuses, with a message for the task's
/// status, a program that is missing or is not WebAssembly.
pub fn runner_command(
    command: &CommandInfo,
    corral: &Path,
    sandbox: &Path,
    mem_mb: Option<f64>,
    limit_file: Option<&Path>,
) -> Result<CommandInfo, String> {
    let program = program_path(value(command), sandbox);
    check_header(&program, value(command))?;
    let mut arguments = vec!["corral".to_string(), SUBCOMMAND.to_string()];
    if let Some(mem) = mem_mb {
        arguments.push("--max-memory-mb".to_string());
        arguments.push(format!("{mem}"));
    }
    if let Some(file) = limit_file {
        arguments.push("--limit-file".to_string());
        arguments.push(file.display().to_string());
    }
    arguments.push("--".to_string());
    arguments.push(program.display().to_string());
    if command.arguments.is_empty() {
        arguments.push(value(command).to_string());
    } else {
        arguments.extend(command.arguments.iter().cloned());
    }
    Ok(CommandInfo {
        uris: Vec::new(),
        environment: command.environment.clone(),
        shell: Some(false),
        value: Some(corral.display().to_string()),
        arguments,
        user: command.user.clone(),
    })
}

/// Why the runner stopped the program at its memory cap, if it did (read by the agent when
/// the process exits, to fail the task with the memory reason and this message).
pub fn memory_limit_hit(limit_file: &Path) -> Option<String> {
    let text = std::fs::read_to_string(limit_file).ok()?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// Every module and component starts with `\0asm`; anything else is refused before a
/// runner starts, with a message that says so.
fn check_header(program: &Path, value: &str) -> Result<(), String> {
    let mut file = std::fs::File::open(program)
        .map_err(|e| format!("wasm program '{value}' ({}): {e}", program.display()))?;
    let mut magic = [0u8; 4];
    let read = file.read_exact(&mut magic);
    if read.is_err() || &magic != b"\0asm" {
        return Err(format!(
            "wasm program '{value}' is not a WebAssembly module or component (no \\0asm header)"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn command(value: &str, arguments: &[&str]) -> CommandInfo {
        CommandInfo {
            shell: Some(false),
            value: Some(value.to_string()),
            arguments: arguments.iter().map(|a| a.to_string()).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn only_non_shell_commands_naming_a_wasm_file_are_wasm_tasks() {
        assert!(is_wasm_command(&command("prog.wasm", &[])));
        assert!(!command("prog.wasm", &[]).is_shell());
        let mut shell = command("prog.wasm", &[]);
        shell.shell = Some(true);
        assert!(!is_wasm_command(&shell));
        assert!(!is_wasm_command(&command("/bin/echo", &["echo", "x.wasm"])));
    }

    #[test]
    fn the_runner_command_carries_the_program_argv_and_memory_cap() {
        let sandbox = tempfile::tempdir().expect("tempdir");
        std::fs::write(sandbox.path().join("prog.wasm"), b"\0asm\x01\0\0\0").expect("writes");
        let cmd = command("prog.wasm", &["prog", "-n", "3"]);
        let runner = runner_command(
            &cmd,
            Path::new("/usr/bin/corral"),
            sandbox.path(),
            Some(64.0),
            Some(Path::new("/work/exit-1.limit")),
        )
        .expect("a runner command");
        assert_eq!(runner.value.as_deref(), Some("/usr/bin/corral"));
        let program = sandbox.path().join("prog.wasm").display().to_string();
        let expected = [
            "corral",
            "wasm-run",
            "--max-memory-mb",
            "64",
            "--limit-file",
            "/work/exit-1.limit",
            "--",
            &program,
            "prog",
            "-n",
            "3",
        ];
        assert_eq!(runner.arguments, expected);
    }

    #[test]
    fn a_missing_or_non_wasm_program_is_refused_with_its_name() {
        let sandbox = tempfile::tempdir().expect("tempdir");
        std::fs::write(sandbox.path().join("fake.wasm"), b"#!/bin/sh\necho hi").expect("writes");
        let corral = Path::new("/usr/bin/corral");
        let err = runner_command(
            &command("fake.wasm", &[]),
            corral,
            sandbox.path(),
            None,
            None,
        )
        .expect_err("not wasm");
        assert!(err.contains("'fake.wasm' is not a WebAssembly"), "{err}");
        let err = runner_command(
            &command("gone.wasm", &[]),
            corral,
            sandbox.path(),
            None,
            None,
        )
        .expect_err("missing");
        assert!(
            err.contains("'gone.wasm'") && err.contains("No such file"),
            "{err}"
        );
    }
}
