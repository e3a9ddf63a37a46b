//! Whether a connection has a request in flight, and since when it has had none: what its
//! idle timeout measures. A request is in flight from the moment the router gets it until its
//! response body is sent or dropped, so a response that streams for hours keeps its
//! connection busy however quiet the client is.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::Notify;
use tokio::time::Instant;

#[derive(Debug)]
pub struct Activity {
    in_flight: AtomicUsize,
    /// When the last request ended (the connection's start before any).
    quiet_since: Mutex<Instant>,
    served: AtomicUsize,
    /// Told when the last request in flight ends: the idle clock starts again.
    ended: Notify,
}

impl Activity {
    pub fn new() -> Arc<Activity> {
        Arc::new(Activity {
            in_flight: AtomicUsize::new(0),
            quiet_since: Mutex::new(Instant::now()),
            served: AtomicUsize::new(0),
            ended: Notify::new(),
        })
    }

    /// A request starts; it ends when the guard is dropped.
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.served.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    /// Since when no request has been in flight; `None` while one is.
    pub fn quiet_since(&self) -> Option<Instant> {
        let since = *self.quiet_since.lock().unwrap_or_else(|e| e.into_inner());
        (self.in_flight.load(Ordering::SeqCst) == 0).then_some(since)
    }

    /// Whether any request came on this connection.
    pub fn served_any(&self) -> bool {
        self.served.load(Ordering::SeqCst) > 0
    }

    /// Completes once after the last request in flight ended (remembered if none waits).
    pub async fn request_ended(&self) {
        self.ended.notified().await;
    }
}

/// One request in flight.
#[derive(Debug)]
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        // The time first: a watcher that sees no request in flight reads the new time.
        *self.0.quiet_since.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
        if self.0.in_flight.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.ended.notify_one();
        }
    }
}

/// A response body that holds its request in flight until it is sent or dropped.
pub struct Tracked<B> {
    inner: B,
    _in_flight: InFlight,
}

impl<B> Tracked<B> {
    pub fn new(inner: B, in_flight: InFlight) -> Self {
        Tracked {
            inner,
            _in_flight: in_flight,
        }
    }
}

impl<B: Body<Data = Bytes> + Unpin> Body for Tracked<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
