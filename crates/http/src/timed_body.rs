//! A request body that may not stall: once its reader waits, the client has `timeout` to
//! send the next part, else the read fails (the handler answers 400, or gives up, and the
//! connection is closed with the body unread). Slowloris' body variant holds a connection
//! open by sending a byte now and then; this bounds each wait, not the whole upload, so a
//! large body on a slow link still arrives.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Sleep, sleep};

#[derive(Debug, thiserror::Error)]
#[error("the request body sent nothing for {} s", .0.as_secs_f64())]
pub struct BodyTimedOut(pub Duration);

/// `inner`, failing with [`BodyTimedOut`] when a read waits longer than `timeout`.
pub struct TimedBody<B> {
    inner: B,
    timeout: Duration,
    /// Armed while a read waits; cleared by every frame.
    waiting: Option<Pin<Box<Sleep>>>,
}

impl<B> TimedBody<B> {
    pub fn new(inner: B, timeout: Duration) -> Self {
        TimedBody {
            inner,
            timeout,
            waiting: None,
        }
    }
}

impl<B> Body for TimedBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.waiting = None;
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        let timeout = this.timeout;
        let waiting = this.waiting.get_or_insert_with(|| Box::pin(sleep(timeout)));
        ready!(waiting.as_mut().poll(cx));
        this.waiting = None;
        Poll::Ready(Some(Err(BodyTimedOut(timeout).into())))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};
    use tokio::sync::mpsc;
    use tokio_stream::wrappers::ReceiverStream;

    #[tokio::test]
    async fn a_body_that_stops_sending_fails_and_one_that_keeps_sending_does_not() {
        let (send, receive) = mpsc::channel::<Result<Frame<Bytes>, std::io::Error>>(4);
        let mut body = TimedBody::new(
            StreamBody::new(ReceiverStream::new(receive)),
            Duration::from_secs(1),
        );
        // Parts 50 ms apart: every wait is far shorter than the timeout.
        let sender = tokio::spawn(async move {
            for part in ["a", "b", "c"] {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let _ = send.send(Ok(Frame::data(Bytes::from(part)))).await;
            }
            // Then nothing, with the sender still open.
            tokio::time::sleep(Duration::from_secs(3600)).await;
            drop(send);
        });
        let mut got = Vec::new();
        for _ in 0..3 {
            let frame = body.frame().await.expect("a frame").expect("no error");
            got.push(frame.into_data().expect("data"));
        }
        assert_eq!(got, ["a", "b", "c"]);
        let stalled = tokio::time::timeout(Duration::from_secs(20), body.frame())
            .await
            .expect("the stalled read ends")
            .expect("an error, not the end");
        let error = stalled.expect_err("the stalled read fails");
        assert!(error.is::<BodyTimedOut>(), "{error}");
        sender.abort();
    }
}
