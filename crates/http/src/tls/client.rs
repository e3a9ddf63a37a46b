//! Clients' TLS configs, handed to reqwest whole (`tls_backend_preconfigured`): reqwest's own
//! would read and parse the system's CA bundle again for every client it builds, and fail to
//! build any client, plain http included, on a host without one.

use std::sync::{Arc, OnceLock};

use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate chain and its key, presented to servers that ask (mutual TLS).
pub struct ClientIdentity {
    pub certs: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

/// The system's CA certificates, read once per process; none on a host without a CA bundle,
/// where plain http still works and https to public servers answers "unknown issuer".
pub fn system_roots() -> Arc<RootCertStore> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    ROOTS
        .get_or_init(|| {
            let mut roots = RootCertStore::empty();
            let native = rustls_native_certs::load_native_certs();
            let (added, ignored) = roots.add_parsable_certificates(native.certs);
            if roots.is_empty() {
                tracing::debug!(errors = ?native.errors, "no system CA certificates");
            } else {
                tracing::debug!(added, ignored, "system CA certificates loaded");
            }
            Arc::new(roots)
        })
        .clone()
}

/// Trusting the system's roots. `None` only if ring supported none of rustls' protocol
/// versions.
pub fn system_client_config() -> Option<rustls::ClientConfig> {
    static CONFIG: OnceLock<Option<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| client_config(system_roots(), None).ok())
        .clone()
}

/// Trusting `roots` (and only them), presenting `identity` if given.
pub fn client_config(
    roots: Arc<RootCertStore>,
    identity: Option<ClientIdentity>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let builder = rustls::ClientConfig::builder_with_provider(super::provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    match identity {
        Some(identity) => builder.with_client_auth_cert(identity.certs, identity.key),
        None => Ok(builder.with_no_client_auth()),
    }
}
