//! `corral plugin install | list | activate | deactivate | remove | swap`: the plugin lifecycle
//! over the master's `POST /api/corral/v1/plugins`; and `new`, which scaffolds a plugin crate
//! (plugin_new.rs).

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use base64::Engine as _;
use serde_json::{Value, json};

use super::master_arg::MasterArg;
use super::table::Table;
use corral_client::client_error::ClientError;
use corral_client::master_address::MasterAddress;
use corral_plugin_host::manifest::Manifest;
use corral_plugin_host::store::capability_summary;

const PATH: &str = "/api/corral/v1/plugins";
/// A swap waits for the new policy's first cycles (seconds with a slow policy).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, clap::Args)]
pub struct PluginArgs {
    #[command(flatten)]
    pub master: MasterArg,
    #[command(subcommand)]
    pub command: PluginCommand,
}

#[derive(Debug, clap::Subcommand)]
pub enum PluginCommand {
    /// Create a plugin crate that builds into a component with one command.
    New(super::plugin_new::NewArgs),
    /// Install a plugin component (stored by sha256 on the master).
    Install(InstallArgs),
    /// List built-in and installed plugins, where they are active, and their call stats.
    List {
        /// Print the master's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Activate an installed plugin on every agent (an allocator is swapped in instead).
    Activate {
        plugin: String,
        /// The config the plugin's `init` gets (e.g. a hook's JSON).
        #[arg(long, default_value = "")]
        config: String,
    },
    /// Deactivate an installed plugin.
    Deactivate { plugin: String },
    /// Remove an installed plugin (refused while it is active).
    Remove { plugin: String },
    /// Swap a policy live: `swap allocator drf|NAME|SHA256|FILE.wasm`.
    Swap(SwapArgs),
    #[command(flatten)]
    Keys(super::plugin_keys::PluginKeysCommand),
}

#[derive(Debug, clap::Args)]
pub struct InstallArgs {
    pub file: PathBuf,
    /// The manifest (TOML); default: FILE with .toml beside it, else the wasm's own.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// Accept the capabilities the manifest asks for without asking.
    #[arg(long)]
    pub accept_capabilities: bool,
}

#[derive(Debug, clap::Args)]
pub struct SwapArgs {
    /// What to swap: only `allocator` for now.
    #[arg(value_parser = ["allocator"])]
    pub kind: String,
    /// A built-in name, an installed plugin's name or sha256 (prefix), or a .wasm file.
    pub target: String,
    /// Configuration handed to the policy's init (JSON).
    #[arg(long, default_value = "")]
    pub config: String,
    /// Cycles the new policy must pass before the swap is final.
    #[arg(long)]
    pub probation_cycles: Option<u32>,
    /// With a .wasm file: its manifest, as for install.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    #[arg(long)]
    pub accept_capabilities: bool,
}

struct Client {
    http: reqwest::Client,
    master: MasterAddress,
}

impl Client {
    async fn new(master: &MasterArg) -> anyhow::Result<Self> {
        let master = master.resolve().await?;
        let http = master
            .client_builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(CALL_TIMEOUT)
            .build()
            .context("cannot make an HTTP client")?;
        Ok(Client { http, master })
    }

    async fn call(&self, body: Value) -> Result<Value, ClientError> {
        let addr = self.master.to_string();
        let what = body["type"].as_str().unwrap_or("call").to_string();
        let response = self
            .http
            .post(self.master.url(PATH))
            .json(&body)
            .send()
            .await
            .map_err(|e| ClientError::from_request(&addr, &what, &e))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| ClientError::from_request(&addr, &what, &e))?;
        if !status.is_success() {
            return Err(ClientError::refused(&addr, &what, status.as_u16(), &bytes));
        }
        serde_json::from_slice(&bytes).map_err(|e| ClientError::Protocol {
            addr,
            reason: format!("{what} answer is not JSON: {e}"),
        })
    }
}

pub async fn run(args: PluginArgs) -> anyhow::Result<ExitCode> {
    let command = match args.command {
        PluginCommand::New(new) => return super::plugin_new::run(new),
        PluginCommand::Keys(keys) => return super::plugin_keys::run_command(keys),
        other => other,
    };
    let client = Client::new(&args.master).await?;
    match command {
        // Answered above, without a master.
        PluginCommand::New(_) | PluginCommand::Keys(_) => {}
        PluginCommand::Install(install) => {
            let plugin = install_file(
                &client,
                &install.file,
                install.manifest.as_deref(),
                install.accept_capabilities,
            )
            .await?;
            println!(
                "installed {} {} ({}) sha256 {}",
                plugin["name"].as_str().unwrap_or("?"),
                plugin["version"].as_str().unwrap_or("?"),
                plugin["kind"].as_str().unwrap_or("?"),
                plugin["sha256"].as_str().unwrap_or("?"),
            );
        }
        PluginCommand::List { json } => {
            let answer = client.call(json!({"type": "LIST"})).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&answer)?);
            } else {
                print!("{}", list_table(&answer["list"]));
            }
        }
        PluginCommand::Activate { plugin, config } => {
            let answer = client
                .call(json!({"type": "ACTIVATE", "activate": {"plugin": plugin, "config": config}}))
                .await?;
            println!("activated {plugin}: {}", summary(&answer));
        }
        PluginCommand::Deactivate { plugin } => {
            client
                .call(json!({"type": "DEACTIVATE", "deactivate": {"plugin": plugin}}))
                .await?;
            println!("deactivated {plugin}");
        }
        PluginCommand::Remove { plugin } => {
            client
                .call(json!({"type": "REMOVE", "remove": {"plugin": plugin}}))
                .await?;
            println!("removed {plugin}");
        }
        PluginCommand::Swap(swap) => {
            let target = if looks_like_file(&swap.target) {
                let plugin = install_file(
                    &client,
                    Path::new(&swap.target),
                    swap.manifest.as_deref(),
                    swap.accept_capabilities,
                )
                .await?;
                plugin["sha256"].as_str().unwrap_or_default().to_string()
            } else {
                swap.target.clone()
            };
            let mut call = json!({"plugin": target, "config": swap.config});
            if let Some(n) = swap.probation_cycles {
                call["probation_cycles"] = json!(n);
            }
            let answer = client
                .call(json!({"type": "SWAP_ALLOCATOR", "swap_allocator": call}))
                .await?;
            let done = &answer["swap_allocator"];
            println!(
                "allocator {} is {} (switched in {:.1} ms)",
                done["active"]["plugin"].as_str().unwrap_or("?"),
                done["outcome"].as_str().unwrap_or("?"),
                done["switch_ms"].as_f64().unwrap_or(0.0),
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn looks_like_file(target: &str) -> bool {
    target.ends_with(".wasm") || target.contains('/') || Path::new(target).is_file()
}

fn summary(answer: &Value) -> String {
    if let Some(swap) = answer.get("swap_allocator") {
        return format!(
            "allocator {}",
            swap["outcome"].as_str().unwrap_or("switched")
        );
    }
    "active for agents".to_string()
}

/// Reads a plugin and its manifest, shows what it asks for, asks (or requires the flag),
/// and installs it; answers the stored plugin's JSON.
async fn install_file(
    client: &Client,
    file: &Path,
    manifest: Option<&Path>,
    accept: bool,
) -> anyhow::Result<Value> {
    let wasm = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let beside = file.with_extension("toml");
    let manifest_path = manifest
        .map(Path::to_path_buf)
        .or_else(|| beside.is_file().then_some(beside));
    let manifest_text = match &manifest_path {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the manifest {}", path.display()))?,
        ),
        None => None,
    };
    let parsed = match &manifest_text {
        Some(text) => Some(Manifest::parse(text).context("the manifest is refused")?),
        None => Manifest::from_custom_section(&wasm).context("the embedded manifest is refused")?,
    };
    if parsed.is_none() {
        bail!(
            "{} has no manifest: none is embedded (custom section `corral-manifest`) and there \
             is no {} beside it. Write one (name, kind, version, wit; \
             examples/plugin/manifest.toml shows them) and pass --manifest PATH",
            file.display(),
            file.with_extension("toml").display()
        );
    }
    let asked = parsed.as_ref().map(capability_summary).unwrap_or_default();
    let mut accepted = accept;
    if !asked.is_empty() && !accept {
        let name = parsed.as_ref().map_or("the plugin", |m| m.name.as_str());
        eprintln!("{name} asks for these capabilities:");
        for line in &asked {
            eprintln!("  {line}");
        }
        if !std::io::stdin().is_terminal() {
            bail!("not installed: accept the capabilities with --accept-capabilities");
        }
        eprint!("Grant them and install? [y/N] ");
        std::io::stderr().flush().ok();
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        if !matches!(line.trim(), "y" | "Y" | "yes") {
            bail!("not installed: the capabilities were not accepted");
        }
        accepted = true;
    }
    let mut install = json!({
        "wasm": base64::engine::general_purpose::STANDARD.encode(&wasm),
        "accept_capabilities": accepted,
    });
    if let Some(text) = manifest_text {
        install["manifest"] = json!(text);
    }
    let sig_path = corral_plugin_host::signature::signature_path(file);
    if let Ok(sig) = std::fs::read_to_string(&sig_path) {
        install["signature"] = json!(sig);
    }
    let answer = client
        .call(json!({"type": "INSTALL", "install": install}))
        .await?;
    Ok(answer["install"]["plugin"].clone())
}

fn list_table(list: &Value) -> String {
    let mut table = Table::new([
        "NAME", "VERSION", "KIND", "SHA256", "ACTIVE", "CALLS", "ERRORS", "P99",
    ]);
    let mut refusals = Vec::new();
    for p in list["plugins"].as_array().into_iter().flatten() {
        let sha = p["sha256"].as_str().unwrap_or("");
        let active: Vec<&str> = p["active"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let name = p["name"].as_str().unwrap_or("?");
        let agents = &p["agents"];
        let active: Vec<String> = active
            .into_iter()
            .map(
                |a| match (a, agents["loaded"].as_u64(), agents["of"].as_u64()) {
                    ("agents", Some(loaded), Some(of)) => format!("agents {loaded}/{of}"),
                    (other, _, _) => other.to_string(),
                },
            )
            .collect();
        for refusal in agents["refused"].as_array().into_iter().flatten() {
            refusals.push(format!(
                "{name} {}: refused by agent {}: {}",
                sha.chars().take(12).collect::<String>(),
                refusal["agent_id"].as_str().unwrap_or("?"),
                refusal["reason"].as_str().unwrap_or("?")
            ));
        }
        table.row([
            if p["builtin"] == true {
                format!("{name} (built-in)")
            } else {
                name.to_string()
            },
            p["version"].as_str().unwrap_or("").to_string(),
            p["kind"].as_str().unwrap_or("").to_string(),
            sha.chars().take(12).collect(),
            if active.is_empty() {
                "-".to_string()
            } else {
                active.join(",")
            },
            p["stats"]["calls"].as_u64().unwrap_or(0).to_string(),
            p["stats"]["errors"].as_u64().unwrap_or(0).to_string(),
            p["stats"]["p99_us"]
                .as_u64()
                .map_or("-".to_string(), format_us),
        ]);
    }
    let mut out = table.render("");
    for refusal in refusals {
        out.push_str(&refusal);
        out.push('\n');
    }
    let allocator = &list["allocator"];
    out.push_str(&format!(
        "allocator: {}",
        allocator["active"]["plugin"].as_str().unwrap_or("?")
    ));
    if let Some(swap) = allocator.get("last_swap") {
        out.push_str(&format!(
            "; last swap to {}: {}",
            swap["target"]["plugin"].as_str().unwrap_or("?"),
            swap["outcome"].as_str().unwrap_or("?")
        ));
        if let Some(reason) = swap["reason"].as_str() {
            out.push_str(&format!(" ({reason})"));
        }
    }
    out.push('\n');
    out
}

/// "<= 250us", "<= 2.5ms": the p99 is a bucket's upper bound.
fn format_us(us: u64) -> String {
    if us < 1000 {
        format!("<={us}us")
    } else {
        format!("<={}ms", us as f64 / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_shows_short_hashes_stats_and_the_last_swap() {
        let list = json!({
            "plugins": [
                {"name": "drf", "builtin": true, "version": "0.1.0", "kind": "allocator",
                 "sha256": "0123456789abcdef0123", "active": ["allocator"],
                 "stats": {"calls": 12, "errors": 1, "p99_us": 2500}},
                {"name": "mine", "builtin": false, "version": "2.0.0", "kind": "executor",
                 "sha256": "fedcba9876543210", "active": [],
                 "stats": {"calls": 0, "errors": 0, "p99_us": null}},
                {"name": "tags", "builtin": false, "version": "1.0.0", "kind": "hook",
                 "sha256": "aaaabbbbccccdddd", "active": ["agents"],
                 "agents": {"loaded": 2, "of": 3, "refused": [
                     {"agent_id": "a-3", "reason": "hash mismatch"}]},
                 "stats": {"calls": 4, "errors": 0, "p99_us": 80}},
            ],
            "allocator": {"active": {"plugin": "drf"},
                          "last_swap": {"target": {"plugin": "abc"}, "outcome": "rolled_back",
                                        "reason": "allocate trapped"}},
        });
        let text = list_table(&list);
        assert!(text.contains("drf (built-in)"), "{text}");
        assert!(text.contains("0123456789ab "), "{text}");
        assert!(!text.contains("0123456789abc"), "{text}");
        assert!(text.contains("<=2.5ms"), "{text}");
        assert!(text.contains("rolled_back (allocate trapped)"), "{text}");
        let mine = text.lines().find(|l| l.starts_with("mine")).expect("row");
        assert!(mine.contains(" - "), "{mine}");
        let tags = text.lines().find(|l| l.starts_with("tags")).expect("row");
        assert!(tags.contains("agents 2/3"), "{tags}");
        assert!(
            text.contains("tags aaaabbbbcccc: refused by agent a-3: hash mismatch"),
            "{text}"
        );
    }
}
