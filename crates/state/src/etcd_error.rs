//! What an etcd-client error says, whole: its own text stops at the outer layer ("transport
//! error", "Unknown"); the cause (a refused connection, a certificate that is not trusted)
//! is in the source chain. And whether that cause is TLS, which retrying does not fix.

use std::error::Error;

/// The error with every cause in its source chain, each once.
pub(crate) fn describe(error: &etcd_client::Error) -> String {
    let (mut text, mut source) = match error {
        etcd_client::Error::GRpcStatus(status) => (
            format!("{} ({:?})", status.message(), status.code()),
            status.source(),
        ),
        etcd_client::Error::TransportError(e) => (e.to_string(), e.source()),
        other => (other.to_string(), None),
    };
    while let Some(cause) = source {
        let part = cause.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = cause.source();
    }
    text
}

/// Whether the failure is in TLS (a handshake refused either way, a certificate not
/// trusted, a peer that does not speak TLS): the same files fail the same way next time.
pub(crate) fn is_tls(error: &etcd_client::Error) -> bool {
    let mut source: Option<&(dyn Error + 'static)> = match error {
        etcd_client::Error::GRpcStatus(status) => status.source(),
        etcd_client::Error::TransportError(e) => e.source(),
        _ => None,
    };
    while let Some(cause) = source {
        if cause.is::<rustls::Error>() {
            return true;
        }
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            // tokio-rustls hands rustls' errors on inside io::Error, whose source skips them.
            if io
                .get_ref()
                .is_some_and(|inner| inner.is::<rustls::Error>())
            {
                return true;
            }
            // h2 keeps only the text of an error on its connection: an alert etcd sends
            // after the handshake (TLS 1.3 checks the client's certificate then).
            if io.kind() == std::io::ErrorKind::InvalidData
                && io.to_string().starts_with("received fatal alert")
            {
                return true;
            }
        }
        source = cause.source();
    }
    false
}
