//! What a client trusts and presents over TLS (`--tls-ca`, `--tls-client-cert`,
//! `--tls-client-key`): read once, checked, and applied to every client built for a master;
//! and the builder every Corral client starts from ([`client_builder`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use corral_http::tls::{ClientIdentity, client_config, system_client_config, system_roots};
use rustls::RootCertStore;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A CA to trust (only it, for the cluster's servers) and a certificate to present (mutual
/// TLS), as PEM, checked when read.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ClientTls {
    ca: Option<Vec<u8>>,
    identity: Option<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("ca", &self.ca.is_some())
            .field("identity", &self.identity.is_some())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ClientTlsError {
    #[error("cannot read {what} {}: {reason}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("{what} {} is not usable: {reason}", path.display())]
    Bad {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("--tls-client-cert and --tls-client-key go together: {0} is missing")]
    HalfIdentity(&'static str),
}

impl ClientTls {
    /// Reads the CA and the client certificate and key (both or neither); `None` when none
    /// is given. Blocking: call it at start.
    pub fn read(
        ca: Option<&Path>,
        cert: Option<&Path>,
        key: Option<&Path>,
    ) -> Result<Option<ClientTls>, ClientTlsError> {
        let ca = match ca {
            Some(path) => {
                let pem = read("the TLS CA", path)?;
                roots(&pem).map_err(|reason| bad("the TLS CA", path, reason))?;
                Some(pem)
            }
            None => None,
        };
        let identity = match (cert, key) {
            (None, None) => None,
            (Some(_), None) => return Err(ClientTlsError::HalfIdentity("--tls-client-key")),
            (None, Some(_)) => return Err(ClientTlsError::HalfIdentity("--tls-client-cert")),
            (Some(cert), Some(key)) => {
                let cert_pem = read("the TLS client certificate", cert)?;
                let key_pem = read("the TLS client key", key)?;
                let pair = (cert_pem, key_pem);
                let identity = identity(&pair).map_err(|(which, reason)| match which {
                    Which::Cert => bad("the TLS client certificate", cert, reason),
                    Which::Key => bad("the TLS client key", key, reason),
                })?;
                // A key that is not the certificate's is refused now, not at each handshake.
                client_config(Arc::new(RootCertStore::empty()), Some(identity))
                    .map_err(|e| bad("the TLS client key", key, e.to_string()))?;
                Some(pair)
            }
        };
        if ca.is_none() && identity.is_none() {
            return Ok(None);
        }
        Ok(Some(ClientTls { ca, identity }))
    }

    /// Whether a CA is given (without one, the system's roots are trusted).
    pub fn has_ca(&self) -> bool {
        self.ca.is_some()
    }

    /// The same trust, presenting no certificate.
    pub fn without_identity(&self) -> ClientTls {
        ClientTls {
            ca: self.ca.clone(),
            identity: None,
        }
    }

    /// The rustls config: only the CA if one is given (else the system's roots), and the
    /// identity if any. Both were checked when read.
    fn config(&self) -> Option<rustls::ClientConfig> {
        let roots = match &self.ca {
            Some(pem) => Arc::new(roots(pem).ok()?),
            None => system_roots(),
        };
        let identity = self.identity.as_ref().and_then(|pair| identity(pair).ok());
        client_config(roots, identity).ok()
    }
}

/// `builder` with `tls` applied (the system's roots without it).
pub fn with_tls(
    builder: reqwest::ClientBuilder,
    tls: Option<&ClientTls>,
) -> reqwest::ClientBuilder {
    match tls
        .and_then(ClientTls::config)
        .or_else(system_client_config)
    {
        Some(config) => builder.tls_backend_preconfigured(config),
        None => builder,
    }
}

/// The builder every Corral client starts from: https trusting the system's roots, read
/// once per process (see `corral_http::tls::system_client_config`).
pub fn client_builder() -> reqwest::ClientBuilder {
    corral_http::tls::install_crypto_provider();
    with_tls(reqwest::Client::builder(), None)
}

enum Which {
    Cert,
    Key,
}

fn roots(pem: &[u8]) -> Result<RootCertStore, String> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("it holds no PEM certificate".into());
    }
    let mut roots = RootCertStore::empty();
    for cert in certs {
        roots.add(cert).map_err(|e| e.to_string())?;
    }
    Ok(roots)
}

fn identity((cert, key): &(Vec<u8>, Vec<u8>)) -> Result<ClientIdentity, (Which, String)> {
    let certs = CertificateDer::pem_slice_iter(cert)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| (Which::Cert, e.to_string()))?;
    if certs.is_empty() {
        return Err((Which::Cert, "it holds no PEM certificate".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key)
        .map_err(|e| (Which::Key, format!("it holds no PEM private key: {e}")))?;
    Ok(ClientIdentity { certs, key })
}

/// A client from [`client_builder`], with reqwest's defaults.
pub fn client() -> reqwest::Client {
    client_builder().build().unwrap_or_default()
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, ClientTlsError> {
    std::fs::read(path).map_err(|e| ClientTlsError::Read {
        what,
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

fn bad(what: &'static str, path: &Path, reason: String) -> ClientTlsError {
    ClientTlsError::Bad {
        what,
        path: path.to_path_buf(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use corral_test_fixtures::pki::TestCa;

    #[test]
    fn what_a_client_presents_is_checked_when_read() {
        let dir = tempfile::tempdir().expect("temp dir");
        let ca = TestCa::new("Corral test CA");
        let ca_file = ca.write(dir.path(), "ca");
        let ours = ca.client("cli").write(dir.path(), "cli");
        let other = ca.client("other").write(dir.path(), "other");

        let tls = ClientTls::read(Some(&ca_file), Some(&ours.cert), Some(&ours.key))
            .expect("a CA and a matching pair");
        assert!(tls.is_some_and(|t| t.config().is_some()));
        assert!(
            ClientTls::read(None, None, None)
                .expect("nothing")
                .is_none()
        );

        let error = |result: Result<Option<ClientTls>, ClientTlsError>| {
            result.expect_err("must be refused").to_string()
        };
        let half = error(ClientTls::read(None, Some(&ours.cert), None));
        assert!(half.contains("--tls-client-key is missing"), "{half}");
        let mismatch = error(ClientTls::read(None, Some(&ours.cert), Some(&other.key)));
        assert!(
            mismatch.contains("the TLS client key") && mismatch.contains("other.key"),
            "{mismatch}"
        );
        let not_a_ca = error(ClientTls::read(Some(&ours.key), None, None));
        assert!(
            not_a_ca.contains("the TLS CA") && not_a_ca.contains("no PEM certificate"),
            "{not_a_ca}"
        );
        let missing = error(ClientTls::read(
            Some(&dir.path().join("nowhere.pem")),
            None,
            None,
        ));
        assert!(missing.contains("cannot read the TLS CA"), "{missing}");
    }
}
