//! The `--master` flag shared by every command that talks to a master: `HOST:PORT`, from the
//! flag, else `$CORRAL_MASTER`, else 127.0.0.1:5050. Global: it may follow any subcommand
//! (`corral plugin list --master H:P`).

use std::path::PathBuf;

use corral_client::master_address::{DEFAULT_MASTER, MasterAddress};
use corral_client::{ClientTls, EtcdTls};
use corral_http::auth::Credential;

#[derive(Debug, Clone, clap::Args)]
pub struct MasterArg {
    /// The master, as HOST:PORT (https://HOST:PORT for a master serving TLS); several
    /// comma-separated for an HA cluster (the leader is found and followed), or the masters'
    /// etcd as etcd://H:P[,H:P...][/PREFIX] (their --state; the leader is read from their
    /// election; etcd+tls:// or --etcd-ca for an etcd serving TLS).
    #[arg(long, global = true, env = "CORRAL_MASTER", default_value = DEFAULT_MASTER,
          value_name = "HOST:PORT[,...]")]
    pub master: String,
    /// The principal and secret to present to the master (and to the services API), in
    /// Mesos' format: {"principal": "...", "secret": "..."} or `principal secret`.
    #[arg(long, global = true, env = "CORRAL_CREDENTIAL", value_name = "FILE")]
    pub credential: Option<PathBuf>,
    /// Trust only this CA (PEM) for an https:// master (and the services API); without it,
    /// the system's roots.
    #[arg(long, global = true, env = "CORRAL_TLS_CA", value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// The certificate (PEM) to present to a master that requires one (mutual TLS); goes
    /// with --tls-client-key.
    #[arg(
        long,
        global = true,
        env = "CORRAL_TLS_CLIENT_CERT",
        value_name = "FILE"
    )]
    pub tls_client_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-client-cert.
    #[arg(
        long,
        global = true,
        env = "CORRAL_TLS_CLIENT_KEY",
        value_name = "FILE"
    )]
    pub tls_client_key: Option<PathBuf>,
    #[command(flatten)]
    pub etcd: super::etcd_tls_args::EtcdTlsArgs,
}

impl MasterArg {
    /// The master to call: the leader when `--master` lists several or names etcd; it is
    /// presented the `--credential` and the TLS settings.
    pub async fn resolve(&self) -> anyhow::Result<MasterAddress> {
        let credential = self.credential()?;
        let etcd_tls = self.etcd_tls().await?;
        let master =
            MasterAddress::pick_with_tls(&self.master, self.tls()?, etcd_tls.as_ref()).await?;
        Ok(master.with_credential(credential))
    }

    /// `--etcd-ca`, `--etcd-cert` and `--etcd-key` for `--master etcd://`, read and checked
    /// (refused with any other `--master`).
    pub async fn etcd_tls(&self) -> anyhow::Result<Option<EtcdTls>> {
        self.etcd.load(corral_state::names_etcd(&self.master)).await
    }

    /// `--tls-ca`, `--tls-client-cert` and `--tls-client-key`, read and checked.
    pub fn tls(&self) -> anyhow::Result<Option<ClientTls>> {
        Ok(ClientTls::read(
            self.tls_ca.as_deref(),
            self.tls_client_cert.as_deref(),
            self.tls_client_key.as_deref(),
        )?)
    }

    /// The `--credential`, read.
    pub fn credential(&self) -> anyhow::Result<Option<Credential>> {
        super::auth_args::read_credential(self.credential.as_ref())
    }
}
