//! A stream that gives up on a stalled peer: any read or write that makes no progress
//! for the stall timeout fails with [`std::io::ErrorKind::TimedOut`].
//!
//! QUIC keep-alives hold a connection open even when the peer's application has
//! stopped reading (flow control then blocks our writes for ever) or has stopped
//! sending mid-session. Wrapping a session's streams bounds every such wait without a
//! timeout around each call.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{sleep, Sleep};

/// `inner`, failing any read or write that waits longer than `timeout` for progress.
pub struct Stalling<S> {
    inner: S,
    timeout: Duration,
    read_deadline: Option<Pin<Box<Sleep>>>,
    write_deadline: Option<Pin<Box<Sleep>>>,
}

impl<S> Stalling<S> {
    /// Wraps `inner` with a stall timeout.
    pub fn new(inner: S, timeout: Duration) -> Self {
        Stalling {
            inner,
            timeout,
            read_deadline: None,
            write_deadline: None,
        }
    }

    /// The wrapped stream.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }
}

/// Whether a pending operation has waited past its deadline (arming it on first wait).
fn expired(
    deadline: &mut Option<Pin<Box<Sleep>>>,
    timeout: Duration,
    cx: &mut Context<'_>,
) -> bool {
    let d = deadline.get_or_insert_with(|| Box::pin(sleep(timeout)));
    d.as_mut().poll(cx).is_ready()
}

fn stalled(timeout: Duration, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::TimedOut,
        format!(
            "the peer made no progress {what} for {} s",
            timeout.as_secs_f64()
        ),
    )
}

impl<S: AsyncRead + Unpin> AsyncRead for Stalling<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                this.read_deadline = None;
                Poll::Ready(r)
            }
            Poll::Pending if expired(&mut this.read_deadline, this.timeout, cx) => {
                this.read_deadline = None;
                Poll::Ready(Err(stalled(this.timeout, "sending")))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> Stalling<S> {
    /// Runs one write-side poll of the inner stream under the write deadline.
    fn poll_writing<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(Pin<&mut S>, &mut Context<'_>) -> Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        match poll(Pin::new(&mut self.inner), cx) {
            Poll::Ready(r) => {
                self.write_deadline = None;
                Poll::Ready(r)
            }
            Poll::Pending if expired(&mut self.write_deadline, self.timeout, cx) => {
                self.write_deadline = None;
                Poll::Ready(Err(stalled(self.timeout, "reading")))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Stalling<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.get_mut()
            .poll_writing(cx, |inner, cx| inner.poll_write(cx, buf))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut()
            .poll_writing(cx, |inner, cx| inner.poll_flush(cx))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut()
            .poll_writing(cx, |inner, cx| inner.poll_shutdown(cx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn a_peer_that_never_reads_or_never_sends_is_given_up_on() {
        let (a, mut b) = tokio::io::duplex(64);
        let mut a = Stalling::new(a, Duration::from_millis(200));
        // Progress keeps the stream alive however long it takes in all: the timeout
        // counts only while an operation waits.
        for _ in 0..3 {
            a.write_all(&[1; 32]).await.expect("room in the pipe");
            let mut got = [0u8; 32];
            b.read_exact(&mut got).await.expect("read");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        // Nobody reads: the pipe fills and the write gives up.
        let e = a.write_all(&[0; 1024]).await.expect_err("stalls");
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(e.to_string().contains("no progress reading"), "{e}");
        // Nobody sends: the read gives up.
        let mut drained = vec![0u8; 64];
        b.read_exact(&mut drained).await.expect("drain");
        let mut buf = [0u8; 1];
        let e = a.read_exact(&mut buf).await.expect_err("stalls");
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(e.to_string().contains("no progress sending"), "{e}");
    }
}
