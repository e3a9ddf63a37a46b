//! `corral app`: apps on the services component through its Marathon API (`--marathon`,
//! `CORRAL_MARATHON`, default http://127.0.0.1:8080). `deploy` (a JSON file or flags),
//! `scale`, `restart`, `rollback` and `remove` follow the deployment they cause (step i/n,
//! running/healthy/desired: a bar redrawn on a terminal, a line per change elsewhere), and
//! exit 0 when it succeeds, 1 with the reason when it fails or is rolled back. `list`, `show`
//! and `tasks` print tables. `--json` prints the API's JSON instead (for a change: the app
//! once the deployment is over).

mod api;
mod follow;
mod print;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::{Value, json};

use api::Marathon;
use follow::{Outcome, follow};

#[derive(Debug, Clone, clap::Args)]
pub struct AppArgs {
    /// The services API.
    #[arg(
        long,
        global = true,
        env = "CORRAL_MARATHON",
        default_value = "http://127.0.0.1:8080"
    )]
    pub marathon: String,
    /// Print the API's JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    /// The principal and secret to present to the API (HTTP Basic), in Mesos' format.
    #[arg(long, global = true, env = "CORRAL_CREDENTIAL", value_name = "FILE")]
    pub credential: Option<PathBuf>,
    #[command(subcommand)]
    pub command: AppCommand,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum AppCommand {
    /// Create or update an app from FILE.json (Marathon's app definition) or from flags,
    /// and follow its deployment.
    Deploy(DeployArgs),
    /// List the apps.
    List,
    /// Show one app.
    Show { id: String },
    /// Set an app's instances and follow the deployment.
    Scale {
        id: String,
        instances: u32,
        /// Replace a deployment in progress.
        #[arg(long)]
        force: bool,
    },
    /// Restart an app's tasks (a rolling restart) and follow the deployment.
    Restart {
        id: String,
        #[arg(long)]
        force: bool,
    },
    /// Put an app back to a version (the one before the current by default).
    Rollback {
        id: String,
        #[arg(long)]
        version: Option<String>,
        #[arg(long)]
        force: bool,
    },
    /// Remove an app (its tasks are killed) and follow the deployment.
    Remove { id: String },
    /// List an app's tasks.
    Tasks { id: String },
}

#[derive(Debug, Clone, clap::Args)]
pub struct DeployArgs {
    /// A JSON app definition; flags given too override its fields.
    pub file: Option<PathBuf>,
    #[arg(long)]
    pub id: Option<String>,
    #[arg(long)]
    pub cmd: Option<String>,
    #[arg(long)]
    pub instances: Option<u32>,
    #[arg(long)]
    pub cpus: Option<f64>,
    #[arg(long)]
    pub mem: Option<f64>,
    /// Replace a deployment in progress.
    #[arg(long)]
    pub force: bool,
}

pub async fn run(args: AppArgs) -> anyhow::Result<ExitCode> {
    let credential = super::auth_args::read_credential(args.credential.as_ref())?;
    let api = Marathon::new(&args.marathon, credential.as_ref())?;
    let json = args.json;
    match args.command {
        AppCommand::Deploy(deploy) => {
            let definition = definition(&deploy).await?;
            let id = definition["id"]
                .as_str()
                .context("the app needs an id (in the file or --id)")?
                .to_string();
            // The whole definition replaces the app's (Marathon's PUT is partial otherwise).
            let query = if deploy.force {
                "?partialUpdate=false&force=true"
            } else {
                "?partialUpdate=false"
            };
            let changed = api
                .send("PUT", &app_path(&id, query), Some(&definition))
                .await?;
            finish(&api, &id, &changed, json, false).await
        }
        AppCommand::List => {
            let apps = api.get("/v2/apps?embed=apps.counts").await?;
            print::or_json(json, &apps, || print::apps(&apps))
        }
        AppCommand::Show { id } => {
            let app = api.get(&app_path(&id, "?embed=app.counts")).await?;
            print::or_json(json, &app, || print::app(&app["app"]))
        }
        AppCommand::Tasks { id } => {
            let tasks = api.get(&app_path(&id, "/tasks")).await?;
            print::or_json(json, &tasks, || print::tasks(&tasks))
        }
        AppCommand::Scale {
            id,
            instances,
            force: f,
        } => {
            let body = json!({"instances": instances});
            let changed = api
                .send("PUT", &app_path(&id, &force(f)), Some(&body))
                .await?;
            finish(&api, &id, &changed, json, false).await
        }
        AppCommand::Restart { id, force: f } => {
            let path = app_path(&id, &format!("/restart{}", force(f)));
            let changed = api.send("POST", &path, None).await?;
            finish(&api, &id, &changed, json, false).await
        }
        AppCommand::Rollback {
            id,
            version,
            force: f,
        } => {
            let version = match version {
                Some(version) => version,
                None => previous_version(&api, &id).await?,
            };
            let body = json!({"version": version});
            let changed = api
                .send("PUT", &app_path(&id, &force(f)), Some(&body))
                .await?;
            finish(&api, &id, &changed, json, false).await
        }
        AppCommand::Remove { id } => {
            let changed = api.send("DELETE", &app_path(&id, ""), None).await?;
            finish(&api, &id, &changed, json, true).await
        }
    }
}

fn app_path(id: &str, rest: &str) -> String {
    format!("/v2/apps/{}{rest}", id.trim_matches('/'))
}

fn force(force: bool) -> String {
    if force {
        "?force=true".into()
    } else {
        String::new()
    }
}

/// The app definition of `deploy`: the file's, with the flags' fields over it.
async fn definition(args: &DeployArgs) -> anyhow::Result<Value> {
    let mut definition = match &args.file {
        Some(path) => {
            let text = tokio::fs::read_to_string(path)
                .await
                .with_context(|| format!("cannot read {}", path.display()))?;
            serde_json::from_str(&text)
                .with_context(|| format!("{} is not a JSON app definition", path.display()))?
        }
        None => json!({}),
    };
    let Some(fields) = definition.as_object_mut() else {
        bail!("the app definition must be a JSON object");
    };
    let flags = [
        ("id", args.id.as_ref().map(|v| json!(v))),
        ("cmd", args.cmd.as_ref().map(|v| json!(v))),
        ("instances", args.instances.map(|v| json!(v))),
        ("cpus", args.cpus.map(|v| json!(v))),
        ("mem", args.mem.map(|v| json!(v))),
    ];
    for (name, value) in flags {
        if let Some(value) = value {
            fields.insert(name.into(), value);
        }
    }
    Ok(definition)
}

/// The version before the app's current one.
async fn previous_version(api: &Marathon, id: &str) -> anyhow::Result<String> {
    let versions = api.get(&app_path(id, "/versions")).await?;
    // Newest first.
    versions["versions"]
        .as_array()
        .and_then(|v| v.get(1))
        .and_then(Value::as_str)
        .map(String::from)
        .with_context(|| format!("{id} has no version before its current one"))
}

/// Follows the deployment `changed` names, then says how it ended.
async fn finish(
    api: &Marathon,
    id: &str,
    changed: &Value,
    json: bool,
    removing: bool,
) -> anyhow::Result<ExitCode> {
    let deployment = changed["deploymentId"]
        .as_str()
        .context("the answer names no deployment")?;
    let version = changed["version"].as_str().unwrap_or_default();
    let outcome = follow(api, id, deployment, version, removing, !json).await?;
    match outcome {
        Outcome::Succeeded(app) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&app)?);
            } else {
                println!("{}", print::done_line(id, &app));
            }
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Failed(reason) => {
            if json {
                println!("{}", json!({"message": reason}));
            } else {
                eprintln!("corral app: {reason}");
            }
            Ok(ExitCode::FAILURE)
        }
    }
}
