//! `--etcd-ca`, `--etcd-cert`, `--etcd-key`: TLS to etcd (etcdctl's `--cacert`, `--cert`,
//! `--key`) wherever a command talks to etcd: a registry in `--state etcd://...` (master,
//! services) and `--master etcd://...` (agent, services, dns, the CLI).

use std::path::PathBuf;

use anyhow::Context;
use corral_state::{EtcdTls, EtcdTlsFiles, StateSpec};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct EtcdTlsArgs {
    /// TLS to etcd: trust only this CA (PEM) for its members. etcd:// endpoints are then
    /// https, as with etcd+tls://.
    #[arg(long, global = true, env = "CORRAL_ETCD_CA", value_name = "FILE")]
    pub etcd_ca: Option<PathBuf>,
    /// The certificate (PEM) to present to an etcd started with --client-cert-auth; goes
    /// with --etcd-key and needs --etcd-ca.
    #[arg(long, global = true, env = "CORRAL_ETCD_CERT", value_name = "FILE")]
    pub etcd_cert: Option<PathBuf>,
    /// The private key (PEM) of --etcd-cert.
    #[arg(long, global = true, env = "CORRAL_ETCD_KEY", value_name = "FILE")]
    pub etcd_key: Option<PathBuf>,
}

impl EtcdTlsArgs {
    fn files(&self) -> EtcdTlsFiles {
        EtcdTlsFiles {
            ca: self.etcd_ca.clone(),
            cert: self.etcd_cert.clone(),
            key: self.etcd_key.clone(),
        }
    }

    /// The files, read and checked; `None` without the flags. Refused when no etcd is
    /// named (`uses_etcd`: a `--state` or `--master` that is `etcd://`), as every flag
    /// that would do nothing.
    pub async fn load(&self, uses_etcd: bool) -> anyhow::Result<Option<EtcdTls>> {
        let files = self.files();
        if !files.any() {
            return Ok(None);
        }
        anyhow::ensure!(
            uses_etcd,
            "--etcd-ca, --etcd-cert and --etcd-key apply to an etcd:// --state or --master only"
        );
        files.load().await.context("cannot set up TLS to etcd")
    }

    /// A `--state` (or `etcd://` `--master`) value, with these files when it names etcd.
    pub async fn state_spec(&self, text: &str) -> anyhow::Result<StateSpec> {
        let tls = self.load(corral_state::names_etcd(text)).await?;
        Ok(StateSpec::parse_with_tls(text, tls)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(ca: bool, cert: bool, key: bool) -> EtcdTlsArgs {
        EtcdTlsArgs {
            etcd_ca: ca.then(|| "ca.pem".into()),
            etcd_cert: cert.then(|| "c.crt".into()),
            etcd_key: key.then(|| "c.key".into()),
        }
    }

    #[tokio::test]
    async fn the_flags_are_refused_where_no_etcd_is_named_or_incomplete() {
        assert!(
            args(false, false, false)
                .load(false)
                .await
                .expect("none")
                .is_none()
        );
        let error = args(true, false, false)
            .state_spec("memory")
            .await
            .expect_err("no etcd named");
        assert!(
            error
                .to_string()
                .contains("etcd:// --state or --master only"),
            "{error}"
        );
        let error = args(true, true, false)
            .state_spec("etcd://127.0.0.1:2379")
            .await
            .expect_err("a certificate without its key");
        assert!(
            format!("{error:#}").contains("--etcd-cert needs --etcd-key"),
            "{error:#}"
        );
        let error = args(false, false, false)
            .state_spec("etcd+tls://127.0.0.1:2379")
            .await
            .expect_err("etcd+tls:// without a CA");
        assert!(format!("{error:#}").contains("needs --etcd-ca"), "{error}");
    }
}
