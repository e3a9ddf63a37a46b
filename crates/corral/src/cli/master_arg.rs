//! The `--master` flag shared by every command that talks to a master: `HOST:PORT`, from the
//! flag, else `$CORRAL_MASTER`, else 127.0.0.1:5050. Global: it may follow any subcommand
//! (`corral plugin list --master H:P`).

use corral_client::client_error::ClientError;
use corral_client::master_address::{DEFAULT_MASTER, MasterAddress};

#[derive(Debug, Clone, clap::Args)]
pub struct MasterArg {
    /// The master, as HOST:PORT; several comma-separated for an HA cluster (the leader is
    /// found and followed), or the masters' etcd as etcd://H:P[,H:P...][/PREFIX] (their
    /// --state; the leader is read from their election).
    #[arg(long, global = true, env = "CORRAL_MASTER", default_value = DEFAULT_MASTER,
          value_name = "HOST:PORT[,...]")]
    pub master: String,
}

impl MasterArg {
    /// The master to call: the leader when `--master` lists several or names etcd.
    pub async fn resolve(&self) -> Result<MasterAddress, ClientError> {
        MasterAddress::pick(&self.master).await
    }
}
