//! Where server flags come from besides the command line, as Mesos reads `MESOS_<FLAG>`:
//! every flag of `master`, `agent`, `dev`, `services` and `dns` also from `CORRAL_<FLAG>`
//! (`--work-dir` from `CORRAL_WORK_DIR`), and from a TOML file given with `--config FILE`
//! or `CORRAL_CONFIG`
//! (`work_dir = "/var/lib/corral/agent"`; `-` and `_` alike). Precedence: flags, then the
//! environment, then the file, then the built-in defaults: clap already puts flags over
//! `env` over defaults, so the file's values are installed as the defaults.
//! Also records the flags a server runs with, for the operator API's GET_FLAGS.

use std::ffi::OsString;
use std::path::Path;

use anyhow::{Context, bail};
use clap::{Arg, ArgMatches, Command};

/// The commands that run a server: these read the environment and `--config`.
pub const SERVER_COMMANDS: [&str; 5] = ["master", "agent", "dev", "services", "dns"];

/// Global flags that take a value: skipped while looking for the subcommand's name.
const GLOBAL_VALUE_FLAGS: [&str; 3] = ["--log-level", "--log-format", "--master"];

/// `command` with `CORRAL_<FLAG>` on every server flag and the `--config` file's values as
/// defaults of the command `argv` runs.
pub fn prepare(mut command: Command, argv: &[OsString]) -> anyhow::Result<Command> {
    for name in SERVER_COMMANDS {
        command = command.mut_subcommand(name, |sub| with_env(sub).arg(config_arg()));
    }
    // Only a server command has --config (`plugin activate --config` is the plugin's).
    let subcommand = subcommand_name(argv).unwrap_or_default();
    if !SERVER_COMMANDS.contains(&subcommand.as_str()) {
        return Ok(command);
    }
    let Some(path) = config_path(argv) else {
        return Ok(command);
    };
    let defaults = read_config(Path::new(&path), &command, &subcommand)?;
    Ok(command.mut_subcommand(subcommand, move |mut sub| {
        for (id, values) in defaults {
            sub = sub.mut_arg(id, |arg| match values.as_slice() {
                [one] => arg.default_value(leak(one)),
                many => arg.default_values(many.iter().map(|v| leak(v))),
            });
        }
        sub
    }))
}

/// `--config FILE` of the server commands (read before parsing, by [`prepare`]).
fn config_arg() -> Arg {
    Arg::new("config")
        .long("config")
        .value_name("FILE")
        .env("CORRAL_CONFIG")
        .help(
            "Read flags from this TOML file (`work_dir = \"/var/lib/corral/agent\"`); \
             flags win over CORRAL_<FLAG> variables, which win over the file",
        )
}

/// Every option of a server command gets `CORRAL_<ID>` unless it has an env var already.
fn with_env(command: Command) -> Command {
    command.mut_args(|arg| {
        let id = arg.get_id().as_str();
        if arg.is_positional() || arg.get_env().is_some() || matches!(id, "help" | "version") {
            return arg;
        }
        let name = format!("CORRAL_{}", id.to_ascii_uppercase());
        arg.env(leak(&name))
    })
}

/// Flag values live as long as the process; clap's builder wants `'static` text.
fn leak(text: &str) -> &'static str {
    Box::leak(text.to_string().into_boxed_str())
}

/// The config file: `--config FILE`, else `$CORRAL_CONFIG`.
fn config_path(argv: &[OsString]) -> Option<String> {
    let mut args = argv.iter().skip(1).filter_map(|a| a.to_str());
    while let Some(arg) = args.next() {
        if arg == "--config" {
            return args.next().map(String::from);
        }
        if let Some(value) = arg.strip_prefix("--config=") {
            return Some(value.to_string());
        }
    }
    std::env::var("CORRAL_CONFIG")
        .ok()
        .filter(|v| !v.is_empty())
}

/// The first word that is not a global flag or its value.
pub fn subcommand_name(argv: &[OsString]) -> Option<String> {
    let mut args = argv.iter().skip(1).filter_map(|a| a.to_str());
    while let Some(arg) = args.next() {
        if GLOBAL_VALUE_FLAGS.contains(&arg) {
            args.next();
        } else if !arg.starts_with('-') {
            return Some(arg.to_string());
        }
    }
    None
}

/// The file's keys as (argument id, values), each key checked against the command's flags.
fn read_config(
    path: &Path,
    command: &Command,
    subcommand: &str,
) -> anyhow::Result<Vec<(String, Vec<String>)>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the --config file {}", path.display()))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("{} is not valid TOML", path.display()))?;
    let sub = command
        .find_subcommand(subcommand)
        .with_context(|| format!("no command '{subcommand}'"))?;
    let known: Vec<&str> = sub
        .get_arguments()
        .filter(|a| !a.is_positional())
        .map(|a| a.get_id().as_str())
        .filter(|id| !matches!(*id, "help" | "version" | "config"))
        .collect();
    let mut out = Vec::new();
    for (key, value) in table {
        let id = key.replace('-', "_");
        if !known.contains(&id.as_str()) {
            bail!(
                "{}: '{key}' is not a flag of `corral {subcommand}` (its flags: {})",
                path.display(),
                known.join(", ")
            );
        }
        let values = match value {
            toml::Value::Array(items) => items.iter().map(scalar_text).collect(),
            other => vec![scalar_text(&other)],
        };
        out.push((id, values));
    }
    Ok(out)
}

fn scalar_text(value: &toml::Value) -> String {
    match value {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The flags the server runs with, as (name, value), secrets left out, for GET_FLAGS.
pub fn recorded(matches: &ArgMatches) -> Vec<(String, String)> {
    let mut out = Vec::new();
    collect(matches, &mut out);
    if let Some((_, sub)) = matches.subcommand() {
        collect(sub, &mut out);
    }
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

fn collect(matches: &ArgMatches, out: &mut Vec<(String, String)>) {
    for id in matches.ids() {
        let name = id.as_str();
        // Derive's groups are named after their structs (`MasterArgs`): not flags.
        let is_group = name.starts_with(|c: char| c.is_ascii_uppercase());
        if is_group || corral_http::process_info::is_secret(name) {
            continue;
        }
        let Ok(Some(values)) = matches.try_get_raw(name) else {
            continue;
        };
        let value: Vec<String> = values.map(|v| v.to_string_lossy().into_owned()).collect();
        out.push((name.to_string(), value.join(",")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_subcommand_is_found_past_global_flags() {
        let a = argv(&[
            "corral",
            "--log-level",
            "debug",
            "agent",
            "--config",
            "x.toml",
            "--port",
            "1",
        ]);
        assert_eq!(subcommand_name(&a).as_deref(), Some("agent"));
        assert_eq!(config_path(&a).as_deref(), Some("x.toml"));
        let b = argv(&["corral", "master", "--config=/etc/corral/master.toml"]);
        assert_eq!(config_path(&b).as_deref(), Some("/etc/corral/master.toml"));
    }
}
