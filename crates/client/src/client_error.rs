//! What can go wrong talking to a master over HTTP, worded for the person at the terminal.
//! `Unreachable` is its own variant because the binary exits with code 2 for it.

/// Errors of the scheduler and operator clients. Every variant names the master's address.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("'{text}' is not a master address: {reason} (write HOST:PORT, e.g. 127.0.0.1:5050)")]
    BadAddress { text: String, reason: String },
    #[error("the master at {addr} does not answer: {reason}")]
    Unreachable { addr: String, reason: String },
    #[error("the master at {addr} refused {what} with HTTP {status}: {message}")]
    Refused {
        addr: String,
        what: String,
        status: u16,
        message: String,
    },
    #[error("the master at {addr} sent something this client does not understand: {reason}")]
    Protocol { addr: String, reason: String },
    #[error("lost the connection to the master at {addr}: {reason}")]
    Disconnected { addr: String, reason: String },
}

impl ClientError {
    /// Classifies a failed request: no connection (or no answer in time) means unreachable.
    pub fn from_request(addr: &str, what: &str, err: &reqwest::Error) -> Self {
        let reason = if err.is_timeout() {
            "no answer in time".to_string()
        } else {
            root_cause(err)
        };
        if err.is_connect() || err.is_timeout() {
            ClientError::Unreachable {
                addr: addr.to_string(),
                reason,
            }
        } else {
            ClientError::Disconnected {
                addr: addr.to_string(),
                reason: format!("{what}: {reason}"),
            }
        }
    }

    /// Builds `Refused` from a non-success answer, taking the message from Corral's JSON
    /// error body (`{"message": ...}`) or Mesos's plain-text one.
    pub fn refused(addr: &str, what: &str, status: u16, body: &[u8]) -> Self {
        let text = String::from_utf8_lossy(body);
        let message = serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from))
            .unwrap_or_else(|| text.trim().to_string());
        ClientError::Refused {
            addr: addr.to_string(),
            what: what.to_string(),
            status,
            message: if message.is_empty() {
                "(no message)".to_string()
            } else {
                message
            },
        }
    }
}

/// The innermost cause of an error chain ("Connection refused (os error 111)"), which is
/// what a person can act on; reqwest's outer layers only repeat the URL.
pub fn root_cause(err: &(dyn std::error::Error + 'static)) -> String {
    let mut current = err;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}
