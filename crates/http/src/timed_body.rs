//! A request body that may not stall nor trickle. Once its reader waits, the client has
//! `timeout` to send the next part (nginx's `client_body_timeout`); and the whole body must
//! keep a minimum rate (Apache's `RequestReadTimeout body=...,MinRate=...`): it may take
//! `timeout` plus one second per `min_rate` bytes received. Slowloris' body variant, a byte
//! now and then, is cut after about `timeout`; a large body on a slow link (above the
//! minimum rate) still arrives. A cut read fails: the handler answers 400, or gives up, and
//! the connection is closed with the body unread.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::time::{Instant, Sleep, sleep_until};

#[derive(Debug, thiserror::Error)]
#[error("the request body sent nothing for {} s", .0.as_secs_f64())]
pub struct BodyTimedOut(pub Duration);

#[derive(Debug, thiserror::Error)]
#[error("the request body arrived slower than {0} bytes per second")]
pub struct BodyTooSlow(pub u64);

/// `inner`, failing with [`BodyTimedOut`] when a read waits longer than `timeout`, and with
/// [`BodyTooSlow`] when the body falls below `min_rate` bytes per second (0: no minimum).
pub struct TimedBody<B> {
    inner: B,
    timeout: Duration,
    min_rate: u64,
    /// When the first read began; the minimum rate counts from there.
    started: Option<Instant>,
    received: u64,
    /// Armed while a read waits (at the nearer of the two limits); cleared by every frame.
    waiting: Option<Pin<Box<Sleep>>>,
}

impl<B> TimedBody<B> {
    pub fn new(inner: B, timeout: Duration, min_rate: u64) -> Self {
        TimedBody {
            inner,
            timeout,
            min_rate,
            started: None,
            received: 0,
            waiting: None,
        }
    }

    /// When the body must be complete at the minimum rate, given what arrived so far.
    fn rate_deadline(&self, started: Instant) -> Option<Instant> {
        (self.min_rate > 0).then(|| {
            let earned = Duration::from_secs_f64(self.received as f64 / self.min_rate as f64);
            started + self.timeout + earned
        })
    }

    fn too_slow(&self, started: Instant) -> bool {
        self.rate_deadline(started)
            .is_some_and(|deadline| Instant::now() >= deadline)
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
        let started = *this.started.get_or_insert_with(Instant::now);
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.waiting = None;
            if let Some(Ok(frame)) = &frame {
                let size = frame.data_ref().map_or(0, Bytes::len);
                this.received = this.received.saturating_add(size as u64);
                if frame.is_data() && this.too_slow(started) {
                    return Poll::Ready(Some(Err(BodyTooSlow(this.min_rate).into())));
                }
            }
            return Poll::Ready(frame.map(|f| f.map_err(Into::into)));
        }
        if this.waiting.is_none() {
            let mut until = Instant::now() + this.timeout;
            if let Some(deadline) = this.rate_deadline(started) {
                until = until.min(deadline);
            }
            this.waiting = Some(Box::pin(sleep_until(until)));
        }
        if let Some(waiting) = this.waiting.as_mut() {
            ready!(waiting.as_mut().poll(cx));
        }
        this.waiting = None;
        if this.too_slow(started) {
            return Poll::Ready(Some(Err(BodyTooSlow(this.min_rate).into())));
        }
        Poll::Ready(Some(Err(BodyTimedOut(this.timeout).into())))
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
            0,
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

    type Parts = StreamBody<ReceiverStream<Result<Frame<Bytes>, std::io::Error>>>;

    /// A body of `part` every `every` (1 s timeout, at least 1000 bytes/s), and its sender.
    fn sending(
        part: &'static [u8],
        every: Duration,
    ) -> (TimedBody<Parts>, tokio::task::JoinHandle<()>) {
        let (send, receive) = mpsc::channel(4);
        let sender = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                if send
                    .send(Ok(Frame::data(Bytes::from_static(part))))
                    .await
                    .is_err()
                {
                    return;
                }
            }
        });
        let body = StreamBody::new(ReceiverStream::new(receive));
        (TimedBody::new(body, Duration::from_secs(1), 1000), sender)
    }

    #[tokio::test]
    async fn a_trickling_body_is_cut_and_one_above_the_minimum_rate_is_not() {
        // A byte every 100 ms: each wait is short, but 10 bytes/s is far below 1000.
        let (mut trickle, sender) = sending(b"x", Duration::from_millis(100));
        let begun = Instant::now();
        let error = loop {
            match tokio::time::timeout(Duration::from_secs(20), trickle.frame()).await {
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(error))) => break error,
                other => panic!("no error: {:?}", other.map(|f| f.map(|r| r.is_ok()))),
            }
        };
        assert!(error.is::<BodyTooSlow>(), "{error}");
        assert!(
            begun.elapsed() < Duration::from_secs(5),
            "cut near the 1 s timeout"
        );
        sender.abort();

        // 400 bytes every 100 ms (4000 bytes/s) for 3 s: three times the timeout, still fine.
        let (mut steady, sender) = sending(&[b'y'; 400], Duration::from_millis(100));
        let begun = Instant::now();
        while begun.elapsed() < Duration::from_secs(3) {
            let frame = steady.frame().await.expect("a frame").expect("no error");
            assert_eq!(frame.into_data().expect("data").len(), 400);
        }
        sender.abort();
    }
}
