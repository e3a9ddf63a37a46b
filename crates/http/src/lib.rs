//! The HTTP stack that every Corral server (master, agent, and the components built on them)
//! goes through: JSON error responses, the listening socket, and the layers common to every
//! route, so that what later applies to all of them (authentication, limits, metrics) is
//! written once.

mod audit;
pub mod auth;
pub mod connection_activity;
pub mod connection_limits;
pub mod error;
pub mod listen;
pub mod peer;
pub mod process_calls;
pub mod process_info;
pub mod prometheus;
pub mod serve;
pub mod serve_loop;
#[cfg(test)]
mod serve_loop_tests;
pub mod server_settings;
pub mod timed_body;
pub mod tls;

pub use error::{ApiError, parse_json};
pub use serve::{serve, stack};
pub use tls::{ServerTls, TlsFiles};
