//! A server's certificate, key and optional client CA, read from PEM files into a rustls
//! server config. Each error names the file and what is wrong with it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::RootCertStore;
use rustls::server::WebPkiClientVerifier;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// Where a server's TLS material lies (`--tls-cert`, `--tls-key`, `--tls-client-ca`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate chain, PEM, its own certificate first.
    pub cert: PathBuf,
    /// The certificate's private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// With it, every client must present a certificate this CA signed (mutual TLS); the
    /// others are refused at the handshake.
    pub client_ca: Option<PathBuf>,
}

/// A server's TLS configuration, ready to serve handshakes; cheap to clone.
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<rustls::ServerConfig>,
    mutual: bool,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("mutual", &self.mutual())
            .finish()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {what} {}: {reason}", path.display())]
    Read {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("{what} {} holds no PEM certificate{reason}", path.display())]
    NoCertificate {
        what: &'static str,
        path: PathBuf,
        reason: String,
    },
    #[error("the TLS key {} holds no PEM private key: {reason}", path.display())]
    NoKey { path: PathBuf, reason: String },
    #[error("the client CA {} cannot verify clients: {reason}", path.display())]
    ClientCa { path: PathBuf, reason: String },
    #[error("cannot build the TLS configuration: {0}")]
    Config(String),
    #[error("the TLS key {} does not go with the certificate {}: {reason}", key.display(), cert.display())]
    KeyMismatch {
        cert: PathBuf,
        key: PathBuf,
        reason: String,
    },
}

impl TlsFiles {
    /// Reads the files and builds the server's configuration.
    pub async fn load(&self) -> Result<ServerTls, TlsError> {
        let cert_pem = read("the TLS certificate", &self.cert).await?;
        let key_pem = read("the TLS key", &self.key).await?;
        let ca_pem = match &self.client_ca {
            Some(path) => Some((path, read("the client CA", path).await?)),
            None => None,
        };
        let certs = certificates("the TLS certificate", &self.cert, &cert_pem)?;
        let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::NoKey {
            path: self.key.clone(),
            reason: e.to_string(),
        })?;
        let builder = rustls::ServerConfig::builder_with_provider(super::provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?;
        let builder = match ca_pem {
            None => builder.with_no_client_auth(),
            Some((path, pem)) => builder.with_client_cert_verifier(client_verifier(path, &pem)?),
        };
        let mut config =
            builder
                .with_single_cert(certs, key)
                .map_err(|e| TlsError::KeyMismatch {
                    cert: self.cert.clone(),
                    key: self.key.clone(),
                    reason: e.to_string(),
                })?;
        // axum serves HTTP/1.1 and HTTP/2 on every connection; offer both.
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(ServerTls {
            config: Arc::new(config),
            mutual: self.client_ca.is_some(),
        })
    }
}

impl ServerTls {
    pub fn config(&self) -> Arc<rustls::ServerConfig> {
        self.config.clone()
    }

    /// Whether clients must present a certificate.
    pub fn mutual(&self) -> bool {
        self.mutual
    }
}

async fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    tokio::fs::read(path).await.map_err(|e| TlsError::Read {
        what,
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Every certificate in `pem`, in order; at least one.
fn certificates(
    what: &'static str,
    path: &Path,
    pem: &[u8],
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let no_certificate = |reason: String| TlsError::NoCertificate {
        what,
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| no_certificate(format!(": {e}")))?;
    if certs.is_empty() {
        return Err(no_certificate(String::new()));
    }
    Ok(certs)
}

fn client_verifier(
    path: &Path,
    pem: &[u8],
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsError> {
    let bad = |reason: String| TlsError::ClientCa {
        path: path.to_path_buf(),
        reason,
    };
    let mut roots = RootCertStore::empty();
    for cert in certificates("the client CA", path, pem)? {
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), super::provider())
        .build()
        .map_err(|e| bad(e.to_string()))
}
