//! A deadline on a request's body. hyper bounds the time to read the head
//! (`header_read_timeout`) but not the body: a client that sends complete headers, announces
//! a body and then withholds it would hold its connection and the handler's task forever
//! (one more slowloris per connection). MediaMTX's Go server cuts the whole request off at
//! `readTimeout`; here the body fails once `readTimeout` has passed since its head arrived, the
//! handler answers an error and the connection closes.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::body::{Body, Bytes, Frame, SizeHint};
use tokio::time::{Instant, Sleep};

/// Why a body read failed: not all of it arrived in time.
#[derive(Debug, thiserror::Error)]
#[error("request body not received within {0:?}")]
pub struct BodyTimeout(pub Duration);

/// `inner`, failing with [`BodyTimeout`] if a frame is still missing at the deadline.
pub struct DeadlineBody<B> {
    inner: B,
    sleep: Pin<Box<Sleep>>,
    timeout: Duration,
    expired: bool,
}

impl<B> DeadlineBody<B> {
    pub fn new(inner: B, timeout: Duration) -> Self {
        DeadlineBody {
            inner,
            sleep: Box::pin(tokio::time::sleep_until(Instant::now() + timeout)),
            timeout,
            expired: false,
        }
    }
}

impl<B> Body for DeadlineBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.expired {
            return Poll::Ready(None);
        }
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame.map(|r| r.map_err(Into::into)));
        }
        if this.sleep.as_mut().poll(cx).is_ready() {
            this.expired = true;
            return Poll::Ready(Some(Err(Box::new(BodyTimeout(this.timeout)))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.expired || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A body that never yields a frame.
    struct Withheld;

    impl Body for Withheld {
        type Data = Bytes;
        type Error = std::convert::Infallible;

        fn poll_frame(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
            Poll::Pending
        }
    }

    async fn next<B: Body<Data = Bytes> + Unpin>(
        b: &mut B,
    ) -> Option<Result<Frame<Bytes>, B::Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *b).poll_frame(cx)).await
    }

    #[tokio::test]
    async fn a_withheld_body_fails_at_the_deadline() {
        let mut b = DeadlineBody::new(Withheld, Duration::from_millis(50));
        let err = next(&mut b).await.expect("a frame").expect_err("a timeout");
        assert!(err.is::<BodyTimeout>(), "{err}");
        assert!(b.is_end_stream());
        assert!(next(&mut b).await.is_none());
    }

    #[tokio::test]
    async fn a_body_that_arrives_passes_through() {
        let full = http_body_util_free::Full(Some(Bytes::from_static(b"hello")));
        let mut b = DeadlineBody::new(full, Duration::from_secs(10));
        let frame = next(&mut b).await.expect("a frame").expect("data");
        assert_eq!(frame.into_data().ok(), Some(Bytes::from_static(b"hello")));
        assert!(next(&mut b).await.is_none());
    }

    /// A one-frame body (the crate does not depend on http-body-util).
    mod http_body_util_free {
        use super::*;

        pub struct Full(pub Option<Bytes>);

        impl Body for Full {
            type Data = Bytes;
            type Error = std::convert::Infallible;

            fn poll_frame(
                self: Pin<&mut Self>,
                _: &mut Context<'_>,
            ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
                Poll::Ready(self.get_mut().0.take().map(|b| Ok(Frame::data(b))))
            }
        }
    }
}
