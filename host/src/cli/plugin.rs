//! `corral plugin ...`: plugin author and operator commands. `new` scaffolds a plugin crate
//! (plugin_new.rs); installing and listing plugins are separate subcommands.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct PluginArgs {
    #[command(subcommand)]
    pub command: PluginCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum PluginCommand {
    /// Create a plugin crate that builds into a component with one command.
    New(super::plugin_new::NewArgs),
}

pub async fn run(args: PluginArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        PluginCommand::New(args) => super::plugin_new::run(args),
    }
}
