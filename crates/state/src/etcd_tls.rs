//! TLS to etcd, as etcdctl's `--cacert`, `--cert` and `--key`: the CA that signed the
//! members' certificates (the only one trusted for them) and, for an etcd started with
//! `--client-cert-auth`, a client certificate and its key. The PEM files are read once, at
//! start, and checked then, so a bad file is an error naming it rather than a failed
//! handshake later.

use std::path::{Path, PathBuf};

use etcd_client::{Certificate, Identity, TlsOptions};
use rustls::RootCertStore;
use rustls::crypto::ring::sign::any_supported_type;
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// The files named by `--etcd-ca`, `--etcd-cert` and `--etcd-key`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EtcdTlsFiles {
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

/// The CA to trust for etcd's members and the identity to present, PEM, checked when read.
#[derive(Clone, PartialEq, Eq)]
pub struct EtcdTls {
    ca: Vec<u8>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for EtcdTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdTls")
            .field("identity", &self.identity.is_some())
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EtcdTlsError {
    #[error("--etcd-cert needs --etcd-key (the certificate's private key)")]
    CertWithoutKey,
    #[error("--etcd-key needs --etcd-cert (the certificate it goes with)")]
    KeyWithoutCert,
    /// etcd clusters run on a private CA; trusting the system's roots for them would take
    /// any publicly certified host for a member.
    #[error(
        "--etcd-cert needs --etcd-ca: TLS to etcd trusts only the CA named (the one that \
         signed the etcd members' certificates), never the system's roots"
    )]
    CertWithoutCa,
    #[error("cannot read {what} {}: {reason}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("{what} {} is not usable for TLS to etcd: {reason}", path.display())]
    Bad {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
}

const CA: &str = "the etcd CA (--etcd-ca)";
const CERT: &str = "the etcd client certificate (--etcd-cert)";
const KEY: &str = "the etcd client key (--etcd-key)";

impl EtcdTlsFiles {
    /// Whether any of the flags is given.
    pub fn any(&self) -> bool {
        self.ca.is_some() || self.cert.is_some() || self.key.is_some()
    }

    /// Refuses a certificate without its key (or the reverse) and one without a CA.
    pub fn check(&self) -> Result<(), EtcdTlsError> {
        match (&self.ca, &self.cert, &self.key) {
            (_, Some(_), None) => Err(EtcdTlsError::CertWithoutKey),
            (_, None, Some(_)) => Err(EtcdTlsError::KeyWithoutCert),
            (None, Some(_), Some(_)) => Err(EtcdTlsError::CertWithoutCa),
            _ => Ok(()),
        }
    }

    /// Reads (with tokio::fs: the callers are async) and checks the files; `None` when no
    /// flag is given.
    pub async fn load(&self) -> Result<Option<EtcdTls>, EtcdTlsError> {
        self.check()?;
        let Some(ca_path) = &self.ca else {
            return Ok(None);
        };
        let ca = read(CA, ca_path).await?;
        let mut roots = RootCertStore::empty();
        for cert in certificates(CA, ca_path, &ca)? {
            roots.add(cert).map_err(|e| bad(CA, ca_path, e))?;
        }
        let identity = match (&self.cert, &self.key) {
            (Some(cert_path), Some(key_path)) => {
                let cert = read(CERT, cert_path).await?;
                let key = read(KEY, key_path).await?;
                let chain = certificates(CERT, cert_path, &cert)?;
                let private = PrivateKeyDer::from_pem_slice(&key)
                    .map_err(|e| bad(KEY, key_path, format!("no private key (PEM) in it: {e}")))?;
                // A key that is not the certificate's is refused now, not at each handshake.
                let signing = any_supported_type(&private).map_err(|e| bad(KEY, key_path, e))?;
                CertifiedKey::new(chain, signing)
                    .keys_match()
                    .map_err(|e| bad(KEY, key_path, e))?;
                Some((cert, key))
            }
            _ => None,
        };
        Ok(Some(EtcdTls { ca, identity }))
    }
}

async fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, EtcdTlsError> {
    tokio::fs::read(path).await.map_err(|e| EtcdTlsError::Read {
        what,
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn bad(what: &'static str, path: &Path, reason: impl std::fmt::Display) -> EtcdTlsError {
    EtcdTlsError::Bad {
        what,
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// The certificates in a PEM file; none is an error.
fn certificates(
    what: &'static str,
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, EtcdTlsError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(what, path, e))?;
    if certs.is_empty() {
        return Err(bad(what, path, "no certificate (PEM) in it"));
    }
    Ok(certs)
}

impl EtcdTls {
    /// etcd-client's options: trust only the CA, present the identity if there is one.
    pub(crate) fn options(&self) -> TlsOptions {
        let options = TlsOptions::new().ca_certificate(Certificate::from_pem(&self.ca));
        match &self.identity {
            Some((cert, key)) => options.identity(Identity::from_pem(cert, key)),
            None => options,
        }
    }
}

#[cfg(test)]
#[path = "etcd_tls_tests.rs"]
mod tests;
