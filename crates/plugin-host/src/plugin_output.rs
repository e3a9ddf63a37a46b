//! Where a plugin's stdout and stderr go: to the host log at debug level, and the tail of
//! stderr is kept so that a trap can be reported with the panic message that preceded it
//! (a Rust plugin prints its panic message to stderr, then traps with `unreachable`).

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// How much of stderr is kept for error messages.
const TAIL_BYTES: usize = 2048;
/// Rust's panic hint, which means nothing to someone reading the host's log.
const BACKTRACE_HINT: &str =
    "note: run with `RUST_BACKTRACE=1` environment variable to display a backtrace";

/// One plugin output stream. Clones share the kept tail.
#[derive(Clone)]
pub(crate) struct PluginOutput {
    plugin: Arc<str>,
    stream: &'static str,
    tail: Option<Arc<Mutex<Vec<u8>>>>,
}

impl PluginOutput {
    /// stdout: logged, not kept.
    pub(crate) fn stdout(plugin: Arc<str>) -> Self {
        PluginOutput {
            plugin,
            stream: "stdout",
            tail: None,
        }
    }

    /// stderr: logged, and its last [`TAIL_BYTES`] kept.
    pub(crate) fn stderr(plugin: Arc<str>) -> Self {
        PluginOutput {
            plugin,
            stream: "stderr",
            tail: Some(Arc::new(Mutex::new(Vec::new()))),
        }
    }

    /// Forgets what was kept (the host calls this at the start of each call).
    pub(crate) fn clear(&self) {
        if let Some(tail) = &self.tail
            && let Ok(mut tail) = tail.lock()
        {
            tail.clear();
        }
    }

    /// What the plugin wrote since [`clear`](Self::clear), on one line, or `None`.
    pub(crate) fn tail_text(&self) -> Option<String> {
        let tail = self.tail.as_ref()?.lock().ok()?;
        let text = String::from_utf8_lossy(&tail);
        let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
        let joined = joined.replace(BACKTRACE_HINT, "").trim().to_string();
        (!joined.is_empty()).then_some(joined)
    }

    fn record(&self, bytes: &[u8]) {
        tracing::debug!(
            plugin = &*self.plugin,
            stream = self.stream,
            "{}",
            String::from_utf8_lossy(bytes).trim_end()
        );
        if let Some(tail) = &self.tail
            && let Ok(mut tail) = tail.lock()
        {
            tail.extend_from_slice(bytes);
            if tail.len() > TAIL_BYTES {
                let excess = tail.len() - TAIL_BYTES;
                tail.drain(..excess);
            }
        }
    }
}

impl IsTerminal for PluginOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for PluginOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    // Only WASIp3 uses this; the host links WASIp2 alone, so output there is dropped.
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(tokio::io::sink())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for PluginOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for PluginOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.record(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_the_tail_of_stderr_on_one_line() {
        let mut err = PluginOutput::stderr("p".into());
        err.write(Bytes::from(vec![b'x'; 5000])).expect("write");
        err.write(Bytes::from_static(b"\npanicked at lib.rs:3:\nboom\n"))
            .expect("write");
        err.write(Bytes::from(format!("{BACKTRACE_HINT}\n")))
            .expect("write");
        let text = err.tail_text().expect("kept");
        assert!(text.ends_with("panicked at lib.rs:3: boom"), "{text}");
        assert!(text.len() <= TAIL_BYTES);
        err.clear();
        assert_eq!(err.tail_text(), None);
    }
}
