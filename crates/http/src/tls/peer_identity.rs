//! Who a mutual-TLS client is: the common name of the certificate it presented, which the
//! handshake already verified against the server's client CA (`--tls-client-ca`). The
//! authentication layer takes it as the request's principal when the request carries no
//! credentials of its own, as Kubernetes takes a client certificate's CN for its user name.

use std::sync::Arc;

use rustls_pki_types::CertificateDer;

/// Longest principal taken from a certificate, in bytes; a longer name identifies nobody.
const MAX_PRINCIPAL: usize = 256;

/// The subject's first common name of the end-entity certificate (the first of the chain);
/// `None` without a certificate, or with one whose subject has no usable common name.
pub fn certificate_principal(chain: Option<&[CertificateDer<'_>]>) -> Option<Arc<str>> {
    let der = chain?.first()?;
    let (_, certificate) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let name = certificate
        .subject()
        .iter_common_name()
        .next()?
        .as_str()
        .ok()?;
    let usable =
        !name.is_empty() && name.len() <= MAX_PRINCIPAL && !name.chars().any(|c| c.is_control());
    usable.then(|| Arc::from(name))
}
