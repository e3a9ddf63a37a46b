//! The `--master` flag shared by every command that talks to a master: `HOST:PORT`, from the
//! flag, else `$CORRAL_MASTER`, else 127.0.0.1:5050. Global: it may follow any subcommand
//! (`corral plugin list --master H:P`).

use std::path::PathBuf;

use corral_client::master_address::{DEFAULT_MASTER, MasterAddress};
use corral_http::auth::Credential;

#[derive(Debug, Clone, clap::Args)]
pub struct MasterArg {
    /// The master, as HOST:PORT; several comma-separated for an HA cluster (the leader is
    /// found and followed), or the masters' etcd as etcd://H:P[,H:P...][/PREFIX] (their
    /// --state; the leader is read from their election).
    #[arg(long, global = true, env = "CORRAL_MASTER", default_value = DEFAULT_MASTER,
          value_name = "HOST:PORT[,...]")]
    pub master: String,
    /// The principal and secret to present to the master (and to the services API), in
    /// Mesos' format: {"principal": "...", "secret": "..."} or `principal secret`.
    #[arg(long, global = true, env = "CORRAL_CREDENTIAL", value_name = "FILE")]
    pub credential: Option<PathBuf>,
}

impl MasterArg {
    /// The master to call: the leader when `--master` lists several or names etcd; it is
    /// presented the `--credential`.
    pub async fn resolve(&self) -> anyhow::Result<MasterAddress> {
        let credential = self.credential()?;
        let master = MasterAddress::pick(&self.master).await?;
        Ok(master.with_credential(credential))
    }

    /// The `--credential`, read.
    pub fn credential(&self) -> anyhow::Result<Option<Credential>> {
        super::auth_args::read_credential(self.credential.as_ref())
    }
}
