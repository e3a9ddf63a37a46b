//! The `CommandInfo` every task of `corral execute` runs: `--command` under a shell, or with
//! `--no-shell` split on whitespace into the program and its argv (argv[0] = the program, as
//! Mesos does); `--uri` adds URIs the agent fetches into the sandbox first.

use corral_api::v1::{CommandInfo, CommandUri};

pub fn command_info(command: &str, no_shell: bool, uris: &[String]) -> CommandInfo {
    let uris = uris
        .iter()
        .map(|uri| CommandUri {
            value: uri.clone(),
            ..Default::default()
        })
        .collect();
    if no_shell {
        let words: Vec<String> = command.split_whitespace().map(str::to_string).collect();
        CommandInfo {
            uris,
            shell: Some(false),
            value: words.first().cloned(),
            arguments: words,
            ..Default::default()
        }
    } else {
        CommandInfo {
            uris,
            shell: Some(true),
            value: Some(command.to_string()),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_shell_splits_the_command_into_program_and_argv_and_keeps_the_uris() {
        let uris = ["http://host/t.wasm".to_string()];
        let info = command_info("t.wasm a  b", true, &uris);
        assert_eq!(info.shell, Some(false));
        assert_eq!(info.value.as_deref(), Some("t.wasm"));
        assert_eq!(info.arguments, ["t.wasm", "a", "b"]);
        assert_eq!(info.uris[0].value, "http://host/t.wasm");
        let shell = command_info("echo a  b", false, &[]);
        assert_eq!(shell.shell, Some(true));
        assert_eq!(shell.value.as_deref(), Some("echo a  b"));
        assert!(shell.arguments.is_empty() && shell.uris.is_empty());
    }
}
