//! The flags of every command that serves HTTP (`master`, `agent`, `services`, `dns`, `dev`)
//! for its connections: how many it holds and how long a client may stall. They are the
//! process's: `corral dev`'s four servers share one count and one set of timeouts.

use std::time::Duration;

use anyhow::Context;
use corral_http::connection_limits::PER_SOURCE;
use corral_http::server_settings::{self, HttpTimeouts, ServerSettings};

use super::duration_flag;

#[derive(Debug, Clone, clap::Args)]
pub struct HttpServerArgs {
    /// The most connections this process's HTTP servers hold at once, all together; one
    /// more is closed at once. Default: the descriptor limit (raised to the hard limit) less
    /// 1024 kept for the process's own files.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: Option<u64>,
    /// The most connections one client address holds at once (loopback counts only
    /// against --max-connections).
    #[arg(long, default_value_t = PER_SOURCE as u64, value_name = "N",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections_per_source: u64,
    /// How long a client may take to send a request's head, counted from when the server
    /// waits for it (also the wait for an HTTP/1.1 connection's next request).
    #[arg(long, default_value = "30secs", value_name = "DURATION",
          value_parser = duration_flag::positive)]
    pub http_header_timeout: Duration,
    /// A connection with no request in flight this long is closed (a streaming response
    /// counts as in flight).
    #[arg(long, default_value = "90secs", value_name = "DURATION",
          value_parser = duration_flag::positive)]
    pub http_idle_timeout: Duration,
    /// The longest a request body may send nothing while it is read.
    #[arg(long, default_value = "60secs", value_name = "DURATION",
          value_parser = duration_flag::positive)]
    pub http_body_timeout: Duration,
    /// The slowest a request body may arrive, in bytes per second: it may take the body
    /// timeout plus a second per this many bytes (0: no minimum).
    #[arg(long, default_value_t = 500, value_name = "BYTES")]
    pub http_body_min_rate: u64,
}

impl HttpServerArgs {
    /// Makes these the process's settings; before any server starts.
    pub fn apply(&self) -> anyhow::Result<()> {
        let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        server_settings::configure(ServerSettings {
            max_connections: self.max_connections.map(count),
            max_connections_per_source: count(self.max_connections_per_source),
            timeouts: HttpTimeouts {
                header: self.http_header_timeout,
                idle: self.http_idle_timeout,
                body: self.http_body_timeout,
                body_min_rate: self.http_body_min_rate,
            },
        })
        .context(
            "--max-connections, --max-connections-per-source, --http-*-timeout, \
             --http-body-min-rate",
        )
    }
}
