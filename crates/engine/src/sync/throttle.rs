//! Bandwidth limits: one token bucket per direction, shared by every request of
//! an operation (clones of the [`super::S3Remote`] share it), so eight packs
//! uploading at once still add up to the limit.
//!
//! Bodies pass in slices ([`SLICE`]): an upload is a streaming body that asks
//! the bucket before each slice; a download takes tokens as each piece of the
//! response arrives, and while it waits the socket's buffers fill and TCP slows
//! the sender. A 16 MiB pack therefore never goes out in one burst.
//!
//! The bucket lends: a slice may take it below zero, and the caller (and every
//! caller after it) sleeps until the debt is paid. That keeps the long-run rate
//! exact with any number of concurrent requests and any slice size.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;

/// What a body is cut into, and what one grant of tokens covers.
pub(crate) const SLICE: usize = 64 * 1024;

/// A token bucket: `rate` bytes per second, at most `burst` saved up.
pub(crate) struct Throttle {
    rate: f64,
    burst: f64,
    state: Mutex<State>,
}

struct State {
    /// Tokens in the bucket; negative while slices borrowed ahead.
    tokens: f64,
    refilled: Instant,
}

impl Throttle {
    /// `None` for no limit.
    pub(crate) fn new(bytes_per_second: Option<u64>) -> Option<Arc<Throttle>> {
        let rate = bytes_per_second.filter(|r| *r > 0)? as f64;
        // A tenth of a second's worth (at least a slice): an idle link may start
        // a little early, never by more than that.
        let burst = (rate / 10.0).max(SLICE as f64);
        Some(Arc::new(Throttle {
            rate,
            burst,
            state: Mutex::new(State {
                tokens: 0.0,
                refilled: Instant::now(),
            }),
        }))
    }

    /// Takes `n` bytes' worth of tokens; returns how long to wait before they
    /// may be sent (zero when the bucket had them).
    pub(crate) fn reserve(&self, n: usize) -> Duration {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        let elapsed = now.duration_since(s.refilled).as_secs_f64();
        s.tokens = (s.tokens + elapsed * self.rate).min(self.burst);
        s.refilled = now;
        s.tokens -= n as f64;
        if s.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-s.tokens / self.rate)
        }
    }

    /// Waits until `n` bytes may pass.
    pub(crate) async fn take(&self, n: usize) {
        let wait = self.reserve(n);
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// An upload body that releases its bytes slice by slice as the bucket allows.
/// Its exact size is known, so it goes out with a `Content-Length`, never
/// chunk-encoded (which several S3-compatible stores refuse).
pub(crate) struct ThrottledBody {
    data: Bytes,
    throttle: Arc<Throttle>,
    /// The next slice, granted and waiting for its sleep to end.
    pending: Option<(Bytes, Pin<Box<tokio::time::Sleep>>)>,
}

impl ThrottledBody {
    pub(crate) fn new(data: Bytes, throttle: Arc<Throttle>) -> ThrottledBody {
        ThrottledBody {
            data,
            throttle,
            pending: None,
        }
    }
}

impl http_body::Body for ThrottledBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let this = &mut *self;
        if this.pending.is_none() {
            if this.data.is_empty() {
                return Poll::Ready(None);
            }
            let n = this.data.len().min(SLICE);
            let slice = this.data.split_to(n);
            let wait = this.throttle.reserve(n);
            if wait.is_zero() {
                return Poll::Ready(Some(Ok(http_body::Frame::data(slice))));
            }
            this.pending = Some((slice, Box::pin(tokio::time::sleep(wait))));
        }
        let Some((_, sleep)) = this.pending.as_mut() else {
            return Poll::Ready(None);
        };
        match sleep.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                let slice = this.pending.take().map(|(s, _)| s).unwrap_or_default();
                Poll::Ready(Some(Ok(http_body::Frame::data(slice))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.pending.is_none() && self.data.is_empty()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        let left = self.data.len() + self.pending.as_ref().map_or(0, |(s, _)| s.len());
        http_body::SizeHint::with_exact(left as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bucket_paces_concurrent_takers_to_the_rate() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        // 4 MiB/s, four takers of 1 MiB each: 4 MiB at the rate is about 1 s
        // (less the first tenth of a second's burst).
        let throttle = Throttle::new(Some(4 << 20)).unwrap();
        let started = Instant::now();
        rt.block_on(async {
            let mut tasks = Vec::new();
            for _ in 0..4 {
                let t = throttle.clone();
                tasks.push(tokio::spawn(async move {
                    for _ in 0..(1 << 20) / SLICE {
                        t.take(SLICE).await;
                    }
                }));
            }
            for task in tasks {
                task.await.unwrap();
            }
        });
        let took = started.elapsed().as_secs_f64();
        assert!(
            (0.8..1.3).contains(&took),
            "4 MiB at 4 MiB/s took {took:.2} s"
        );
        assert!(Throttle::new(None).is_none() && Throttle::new(Some(0)).is_none());
    }
}
