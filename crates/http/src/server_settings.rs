//! How every HTTP server of a Corral process treats its connections: the caps on how many it
//! holds (`connection_limits.rs`) and how long a client may keep one without doing its part
//! (`serve_loop.rs`, `timed_body.rs`). One setting per process, as the counts are one per
//! process (`corral dev` runs four servers that share them): the command line configures it
//! once, before the first server starts; a server started earlier, or a process that never
//! configures, uses the defaults.

use std::sync::OnceLock;
use std::time::Duration;

use crate::connection_limits::{ConnectionLimits, PER_SOURCE};

/// How long a client may stall each part of its side of a connection.
///
/// The defaults follow what Go's servers and nginx are deployed with: a request's head must
/// arrive within 30 s (nginx's `client_header_timeout` is 60 s, Go's `ReadHeaderTimeout` is
/// usually set to 5-30 s: one slow client on a bad link still gets through, a slowloris
/// holds its descriptor half a minute, not forever); a connection with no request in flight
/// is closed after 90 s (nginx's `keepalive_timeout` is 75 s, Go's `IdleTimeout` commonly
/// 60-120 s; Corral's own clients reconnect freely); a request body that sends nothing for
/// 60 s is cut (nginx's `client_body_timeout`; it is the gap between two reads), and one
/// that trickles is cut too: a body may take the body timeout plus a second per 500 bytes
/// (Apache's `RequestReadTimeout body=20,MinRate=500`, its default since 2.4.39), so a
/// 90 MiB plugin on a slow link (above 500 B/s) still arrives.
///
/// Only reads from the client are timed: a response that streams for hours (a v1 SUBSCRIBE,
/// `/v2/events`) is never cut, and its connection is not idle while it streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpTimeouts {
    /// From when the server waits for a request's head (a new connection, or an HTTP/1.1
    /// keep-alive connection whose last response is sent) until the whole head is read.
    pub header: Duration,
    /// A connection with no request in flight for this long is closed (HTTP/2: a GOAWAY).
    /// An HTTP/1.1 connection waiting for its next request is closed by the shorter of this
    /// and `header`: hyper times that wait as the next request's head.
    pub idle: Duration,
    /// The longest a request body may send nothing while its handler reads it.
    pub body: Duration,
    /// The slowest a request body may arrive, in bytes per second, counted from its first
    /// read with `body` as a head start; 0: no minimum.
    pub body_min_rate: u64,
}

impl Default for HttpTimeouts {
    fn default() -> Self {
        HttpTimeouts {
            header: Duration::from_secs(30),
            idle: Duration::from_secs(90),
            body: Duration::from_secs(60),
            body_min_rate: 500,
        }
    }
}

/// The caps and timeouts of every server of this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerSettings {
    /// The most connections held at once, all servers together; `None`: the descriptor
    /// limit less the reserve ([`ConnectionLimits::for_this_process`]).
    pub max_connections: Option<usize>,
    /// The most connections one non-loopback address may hold.
    pub max_connections_per_source: usize,
    pub timeouts: HttpTimeouts,
}

impl Default for ServerSettings {
    fn default() -> Self {
        ServerSettings {
            max_connections: None,
            max_connections_per_source: PER_SOURCE,
            timeouts: HttpTimeouts::default(),
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SettingsError {
    #[error(
        "a cap of {asked} connections is more than this process can hold: its descriptor \
         limit leaves {most} once {reserve} are kept for its own files (raise `ulimit -n`)"
    )]
    AboveDescriptorLimit {
        asked: usize,
        most: usize,
        reserve: u64,
    },
    #[error("{0} must be at least 1")]
    Zero(&'static str),
    #[error("the HTTP servers of this process were configured already, differently")]
    AlreadyConfigured,
}

impl ServerSettings {
    /// The connection caps these settings give in this process.
    pub fn connection_limits(&self) -> Result<ConnectionLimits, SettingsError> {
        let most = ConnectionLimits::for_this_process();
        if self.max_connections_per_source == 0 {
            return Err(SettingsError::Zero("the connections per source"));
        }
        let total = match self.max_connections {
            None => most.total,
            Some(0) => return Err(SettingsError::Zero("the connection cap")),
            Some(asked) if asked > most.total => {
                return Err(SettingsError::AboveDescriptorLimit {
                    asked,
                    most: most.total,
                    reserve: crate::connection_limits::RESERVED_DESCRIPTORS,
                });
            }
            Some(asked) => asked,
        };
        Ok(ConnectionLimits {
            total,
            per_source: self.max_connections_per_source,
        })
    }

    fn check(&self) -> Result<(), SettingsError> {
        self.connection_limits()?;
        let timeouts = [
            (self.timeouts.header, "the header timeout"),
            (self.timeouts.idle, "the idle timeout"),
            (self.timeouts.body, "the body timeout"),
        ];
        match timeouts.iter().find(|(t, _)| t.is_zero()) {
            Some((_, name)) => Err(SettingsError::Zero(name)),
            None => Ok(()),
        }
    }
}

static PROCESS: OnceLock<ServerSettings> = OnceLock::new();

/// Sets this process's settings, once, before its first server starts; setting the same
/// again is fine (a command that starts several servers may say it for each).
pub fn configure(settings: ServerSettings) -> Result<(), SettingsError> {
    settings.check()?;
    let set = PROCESS.get_or_init(|| settings);
    if *set == settings {
        Ok(())
    } else {
        Err(SettingsError::AlreadyConfigured)
    }
}

/// This process's settings: the configured ones, else the defaults (from then on).
pub fn process() -> ServerSettings {
    *PROCESS.get_or_init(ServerSettings::default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_more_than_the_descriptors_allow_are_refused() {
        let zero = ServerSettings {
            timeouts: HttpTimeouts {
                body: Duration::ZERO,
                ..HttpTimeouts::default()
            },
            ..ServerSettings::default()
        };
        assert_eq!(zero.check(), Err(SettingsError::Zero("the body timeout")));
        let too_many = ServerSettings {
            max_connections: Some(usize::MAX),
            ..ServerSettings::default()
        };
        let refused = too_many.check().expect_err("refused");
        assert!(refused.to_string().contains("ulimit -n"), "{refused}");
        let few = ServerSettings {
            max_connections: Some(10),
            max_connections_per_source: 3,
            ..ServerSettings::default()
        };
        assert_eq!(
            few.connection_limits(),
            Ok(ConnectionLimits {
                total: 10,
                per_source: 3
            })
        );
    }
}
