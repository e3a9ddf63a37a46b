//! At most [`AT_ONCE`] large plugin calls at a time. An INSTALL's body is up to 86 MiB of
//! base64; reading it, decoding it and compiling the component take memory in proportion (a
//! 90 MiB upload took ~145 MB), so twelve at once took 1.7 GB. A call whose body may be large
//! (over the 2 MiB every other route allows, or of unknown length) waits here for a permit
//! *before* its body is read; one that gets none within [`WAIT`] is answered 503 with
//! `Retry-After`, its body unread. One that says its body is longer than any plugin call is
//! answered 413 at once. Small calls (LIST, ACTIVATE, ...) never wait.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use corral_http::error::ApiError;

/// Large plugin calls handled at once, per master.
pub const AT_ONCE: usize = 2;
/// How long a large call waits for its turn before it is refused: several compilations of
/// the largest plugin, so a burst of installs queues rather than fails.
pub const WAIT: Duration = Duration::from_secs(60);
/// What a refused call is told to wait before it tries again.
const RETRY_AFTER_SECS: u64 = 5;

#[derive(Debug)]
pub struct PluginUploads {
    permits: Arc<Semaphore>,
    at_once: usize,
    wait: Duration,
    /// A call that says its body is longer is refused (413) at once: no turn, nothing read.
    max_body: usize,
}

impl PluginUploads {
    pub fn new(at_once: usize, wait: Duration, max_body: usize) -> Arc<PluginUploads> {
        Arc::new(PluginUploads {
            permits: Arc::new(Semaphore::new(at_once)),
            at_once,
            wait,
            max_body,
        })
    }

    /// A turn for a call with these headers: `None` for a small body (no turn needed), a
    /// permit held until the call is answered, or the 503 for a call that waited too long.
    pub async fn admit(
        &self,
        headers: &HeaderMap,
    ) -> Result<Option<OwnedSemaphorePermit>, Response> {
        let length = content_length(headers);
        if let Some(length) = length.filter(|length| *length > self.max_body) {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "the request body is {length} bytes; a plugin call takes at most {} (the \
                     base64 of a 64 MiB plugin, and its manifest)",
                    self.max_body
                ),
            )
            .into_response());
        }
        if length.is_some_and(|length| length <= corral_http::serve::MAX_BODY_BYTES) {
            return Ok(None);
        }
        match tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(Some(permit)),
            // The semaphore is never closed; a timeout is the only refusal.
            Ok(Err(_)) | Err(_) => Err(self.busy()),
        }
    }

    fn busy(&self) -> Response {
        let mut response = ApiError::unavailable(format!(
            "{} plugin uploads are in progress on this master (at most {} at once, each \
             waiting at most {} s); retry in {RETRY_AFTER_SECS} s",
            self.at_once,
            self.at_once,
            self.wait.as_secs()
        ))
        .into_response();
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECS));
        response
    }
}

/// The length the call gives; `None` when it gives none (chunked): it may be large.
fn content_length(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok())
}

/// The route layer: a large call's turn is taken before its body is read and held until it
/// is answered.
pub async fn gate(
    State(uploads): State<Arc<PluginUploads>>,
    request: Request,
    next: Next,
) -> Response {
    match uploads.admit(request.headers()).await {
        Ok(permit) => {
            let response = next.run(request).await;
            drop(permit);
            response
        }
        Err(busy) => busy,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn length(bytes: usize) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(bytes));
        headers
    }

    #[tokio::test]
    async fn large_calls_take_turns_and_small_ones_never_wait() {
        let uploads = PluginUploads::new(2, Duration::from_secs(60), 100 << 20);
        let large = length(90 << 20);
        let first = uploads
            .admit(&large)
            .await
            .expect("a turn")
            .expect("a permit");
        let _second = uploads
            .admit(&large)
            .await
            .expect("a turn")
            .expect("a permit");
        // Small calls pass however busy it is.
        assert!(
            uploads
                .admit(&length(300))
                .await
                .expect("no wait")
                .is_none()
        );
        // A third waits; the first finishing gives it its turn.
        let waiting = {
            let uploads = uploads.clone();
            tokio::spawn(async move { uploads.admit(&large).await.map(|p| p.is_some()) })
        };
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(!waiting.is_finished(), "a third runs while two do");
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(20), waiting)
            .await
            .expect("the third gets its turn")
            .expect("task");
        assert!(matches!(third, Ok(true)));
        // Longer than any plugin call: refused at once, however busy.
        let refused = uploads
            .admit(&length(101 << 20))
            .await
            .expect_err("too large");
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
        // No length given: it may be large, so it takes a turn too.
        assert!(
            uploads
                .admit(&HeaderMap::new())
                .await
                .expect("a turn")
                .is_some()
        );
    }

    #[tokio::test]
    async fn one_that_waits_too_long_is_refused_and_told_when_to_retry() {
        let uploads = PluginUploads::new(1, Duration::from_millis(200), 100 << 20);
        let large = length(90 << 20);
        let _running = uploads.admit(&large).await.expect("a turn");
        let refused = uploads
            .admit(&large)
            .await
            .expect_err("refused after the wait");
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(refused.headers()[header::RETRY_AFTER], "5");
        let body = axum::body::to_bytes(refused.into_body(), 4096)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&body);
        assert!(text.contains("at most 1 at once"), "{text}");
    }
}
