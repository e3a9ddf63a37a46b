//! Logging to stderr, as text or JSON lines (`--log-format`), with a filter that can be
//! changed while the process runs: the operator API's SET_LOGGING_LEVEL goes through the
//! reload layer installed here (`corral_http::process_info::LogControl`).

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::Context;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, fmt, reload};

/// hickory-server logs every DNS query at info: a DNS server's log would be nothing else.
const QUIET_DNS_QUERIES: &str = "hickory_server=warn";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line (for log shippers).
    Json,
}

/// Installs the process' subscriber: `RUST_LOG` when set, else `level`.
pub fn init_logging(level: &str, format: LogFormat) -> anyhow::Result<()> {
    let base = match std::env::var("RUST_LOG") {
        Ok(text) if !text.trim().is_empty() => text,
        _ => level.to_string(),
    };
    let base = if base.contains("hickory") {
        base
    } else {
        format!("{base},{QUIET_DNS_QUERIES}")
    };
    let filter = EnvFilter::try_new(&base)
        .with_context(|| format!("bad log filter '{base}' (from RUST_LOG or --log-level)"))?;
    let (filter, handle) = reload::Layer::new(filter);
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Text => registry
            .with(
                fmt::layer()
                    .with_writer(std::io::stderr)
                    .with_ansi(std::io::stderr().is_terminal()),
            )
            .try_init(),
        LogFormat::Json => registry
            .with(fmt::layer().json().with_writer(std::io::stderr))
            .try_init(),
    }
    .context("cannot install the logger")?;
    corral_http::process_info::set_log_control(Arc::new(ReloadControl {
        handle,
        base,
        level: AtomicU32::new(0),
    }));
    Ok(())
}

/// Mesos' verbosity levels mapped onto filters: 0 is the filter the process started with,
/// 1 logs debug everywhere, 2 and up trace.
struct ReloadControl {
    handle: reload::Handle<EnvFilter, Registry>,
    base: String,
    level: AtomicU32,
}

impl corral_http::process_info::LogControl for ReloadControl {
    fn set_level(&self, level: u32) -> Result<(), String> {
        let text = match level {
            0 => self.base.clone(),
            1 => format!("debug,{QUIET_DNS_QUERIES}"),
            _ => format!("trace,{QUIET_DNS_QUERIES}"),
        };
        let filter = EnvFilter::try_new(&text).map_err(|e| e.to_string())?;
        self.handle.reload(filter).map_err(|e| e.to_string())?;
        self.level.store(level, Ordering::SeqCst);
        Ok(())
    }

    fn level(&self) -> u32 {
        self.level.load(Ordering::SeqCst)
    }
}
