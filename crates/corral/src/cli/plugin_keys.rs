//! `corral plugin keygen` and `corral plugin sign` (publisher keys and plugin signatures), and
//! the `--trusted-keys` / `--require-signed` flags of master, agent and dev. The format is in
//! plugins/signature.rs.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};

use corral_plugin_host::PluginEngine;
use corral_plugin_host::signature::{
    TrustPolicy, TrustedKeys, key_files, key_id, read_secret_key, sign, signature_path,
};

#[derive(Debug, Clone, clap::Subcommand)]
pub enum PluginKeysCommand {
    /// Make a publisher key pair: KEY (secret, mode 0600) and KEY.pub.
    Keygen {
        #[arg(long, value_name = "KEY")]
        out: PathBuf,
        /// Text after the key in KEY.pub, e.g. who publishes with it.
        #[arg(long, default_value = "")]
        comment: String,
    },
    /// Sign a plugin (and its manifest): writes FILE.wasm.sig.
    Sign {
        #[arg(value_name = "FILE.wasm")]
        file: PathBuf,
        #[arg(long, value_name = "KEY")]
        key: PathBuf,
        /// The manifest TOML shipped beside the plugin (the host looks for FILE.toml).
        #[arg(long, value_name = "M")]
        manifest: Option<PathBuf>,
    },
}

/// For a `corral plugin` enum that flattens [`PluginKeysCommand`] into its own subcommands.
pub fn run_command(command: PluginKeysCommand) -> anyhow::Result<ExitCode> {
    match command {
        PluginKeysCommand::Keygen { out, comment } => keygen(&out, &comment),
        PluginKeysCommand::Sign {
            file,
            key,
            manifest,
        } => sign_file(&file, &key, manifest.as_deref()),
    }
}

fn keygen(out: &Path, comment: &str) -> anyhow::Result<ExitCode> {
    let public_path = PathBuf::from(format!("{}.pub", out.display()));
    if out.exists() || public_path.exists() {
        bail!(
            "{} or its .pub already exists; not overwriting a key",
            out.display()
        );
    }
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .context("cannot read random bytes from /dev/urandom")?;
    let (secret, public) = key_files(seed, comment);
    write_private(out, &secret)?;
    std::fs::write(&public_path, public)
        .with_context(|| format!("cannot write {}", public_path.display()))?;
    let key = read_secret_key(out)?;
    println!(
        "wrote {} and {} (key {})",
        out.display(),
        public_path.display(),
        key_id(&key.verifying_key())
    );
    Ok(ExitCode::SUCCESS)
}

fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(text.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

fn sign_file(file: &Path, key: &Path, manifest: Option<&Path>) -> anyhow::Result<ExitCode> {
    let wasm = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let manifest = manifest
        .map(|m| std::fs::read(m).with_context(|| format!("cannot read {}", m.display())))
        .transpose()?;
    let key = read_secret_key(key)?;
    let sig = sign(&wasm, manifest.as_deref(), &key);
    let out = signature_path(file);
    std::fs::write(&out, sig).with_context(|| format!("cannot write {}", out.display()))?;
    println!(
        "wrote {} (key {})",
        out.display(),
        key_id(&key.verifying_key())
    );
    Ok(ExitCode::SUCCESS)
}

/// Who may publish plugin files this process loads.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PluginTrustArgs {
    /// Trusted publisher keys: a KEY.pub file, or a directory of *.pub files.
    #[arg(long, value_name = "DIR|FILE")]
    pub trusted_keys: Option<PathBuf>,
    /// Refuse plugin files without a valid signature (FILE.wasm.sig) by a trusted key.
    /// Built-in plugins are part of the binary and always allowed.
    #[arg(long)]
    pub require_signed: bool,
}

impl PluginTrustArgs {
    /// Installs the policy on `engine`, before any plugin is loaded.
    pub fn apply(&self, engine: &PluginEngine) -> anyhow::Result<()> {
        let trusted = match &self.trusted_keys {
            Some(path) => TrustedKeys::load(path)?,
            None if self.require_signed => {
                bail!("--require-signed needs --trusted-keys DIR|FILE")
            }
            None => return Ok(()),
        };
        engine.set_trust_policy(TrustPolicy {
            trusted,
            require_signed: self.require_signed,
        });
        Ok(())
    }
}
