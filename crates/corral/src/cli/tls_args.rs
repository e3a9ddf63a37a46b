//! The flags that make a server (master, agent, services, DNS) serve HTTPS: its certificate
//! and key, and optionally a CA whose certificates clients must present (mutual TLS).

use std::path::PathBuf;

use anyhow::{Context, bail};
use corral_http::{ServerTls, TlsFiles};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// Serve HTTPS with this certificate chain (PEM, the server's certificate first); goes
    /// with --tls-key.
    #[arg(long, value_name = "FILE")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, value_name = "FILE")]
    pub tls_key: Option<PathBuf>,
    /// Require every client to present a certificate signed by this CA (PEM): mutual TLS.
    #[arg(long, value_name = "FILE")]
    pub tls_client_ca: Option<PathBuf>,
}

impl TlsArgs {
    /// The files, when TLS is asked for; cert and key alone are refused, as is a client CA
    /// without them.
    pub fn files(&self) -> anyhow::Result<Option<TlsFiles>> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some(TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
                client_ca: self.tls_client_ca.clone(),
            })),
            (Some(_), None) => bail!("--tls-cert needs --tls-key (the certificate's private key)"),
            (None, Some(_)) => bail!("--tls-key needs --tls-cert (the certificate it goes with)"),
            (None, None) if self.tls_client_ca.is_some() => {
                bail!("--tls-client-ca needs --tls-cert and --tls-key (mutual TLS is TLS)")
            }
            (None, None) => Ok(None),
        }
    }

    /// The server's TLS configuration, read and checked, or `None` for plain HTTP.
    pub async fn load(&self) -> anyhow::Result<Option<ServerTls>> {
        match self.files()? {
            Some(files) => Ok(Some(files.load().await.context("cannot serve TLS")?)),
            None => Ok(None),
        }
    }

    /// "https" when TLS is asked for, for the lines that say where a server listens.
    pub fn scheme(&self) -> &'static str {
        if self.tls_cert.is_some() {
            "https"
        } else {
            "http"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(cert: bool, key: bool, ca: bool) -> TlsArgs {
        TlsArgs {
            tls_cert: cert.then(|| "c.pem".into()),
            tls_key: key.then(|| "k.pem".into()),
            tls_client_ca: ca.then(|| "ca.pem".into()),
        }
    }

    #[test]
    fn cert_and_key_go_together() {
        assert!(args(false, false, false).files().expect("plain").is_none());
        assert!(args(true, true, true).files().expect("mutual").is_some());
        for (half, says) in [
            (args(true, false, false), "--tls-cert needs --tls-key"),
            (args(false, true, false), "--tls-key needs --tls-cert"),
            (args(false, false, true), "--tls-client-ca needs"),
        ] {
            let error = half.files().expect_err("refused").to_string();
            assert!(error.contains(says), "{error}");
        }
    }
}
