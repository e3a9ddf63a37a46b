//! TLS for every Corral server and client (rustls with ring's cryptography: no OpenSSL, no
//! aws-lc): the certificate, key and optional client CA read from PEM files ([`TlsFiles`] ->
//! [`ServerTls`]), a listener that wraps any other one and hands `axum::serve` only
//! connections whose handshake has finished ([`TlsListener`]), and the clients' configs
//! ([`client_config`]).

mod client;
mod files;
mod listener;
mod peer_identity;
#[cfg(test)]
mod tests;

pub use client::{ClientIdentity, client_config, system_client_config, system_roots};
pub use files::{ServerTls, TlsError, TlsFiles};
pub use listener::{HANDSHAKE_TIMEOUT, TlsListener};
pub use peer_identity::certificate_principal;

/// Makes ring the process's rustls provider, for reqwest (built without a provider of its
/// own) and every config built without naming one. Call it before building any HTTP client;
/// calling it again does nothing.
pub fn install_crypto_provider() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // Err: another provider is installed already, which serves as well.
        let _ = ring_provider().install_default();
    });
}

/// ring's provider, named explicitly where a config is built here.
pub(crate) fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(ring_provider())
}

/// rustls marks ring's provider deprecated because it lacks post-quantum key exchange (only
/// aws-lc has it); aws-lc is a C library built with cmake, which Corral's pure-Rust build
/// avoids. TLS 1.3 with X25519 is what ring offers.
#[allow(deprecated)]
fn ring_provider() -> rustls::crypto::CryptoProvider {
    rustls::crypto::ring::default_provider()
}
