//! corral-dns: service discovery with Mesos-DNS's names (records/generator.go), answered
//! over DNS (UDP and TCP, hickory-server) and Mesos-DNS's HTTP API, fed by the leading
//! master's operator event stream (`SUBSCRIBE`) instead of polling its state.
//!
//! - `labels.rs`: Mesos-DNS's label rules; `view.rs`: the cluster as the events describe it;
//!   `generator.rs`: the names; `records.rs`: one generation of them; `zone.rs`: the
//!   current generation and the feed's status, shared.
//! - `feed.rs`: the stream (resync on SUBSCRIBED, backoff, staleness).
//! - `answer.rs`: answers from the records; `handler.rs`: the DNS request handler (with
//!   `forward.rs` for other names and `rate_limit.rs` per source); `http_api.rs`;
//!   `server.rs` starts it all.

pub mod answer;
pub mod config;
pub mod feed;
pub mod forward;
pub mod generator;
pub mod handler;
pub mod http_api;
pub mod labels;
pub mod lookup;
pub mod rate_limit;
pub mod records;
pub mod server;
pub mod view;
pub mod zone;

pub use config::{DnsConfig, Forwarding};
pub use server::{DnsError, DnsServer, start, start_without_feed};
