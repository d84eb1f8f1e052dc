//! The I/O shell of a session: drives the sans-IO
//! [`Session`](credithub_protocol::session::Session) over one QUIC stream.
//!
//! The protocol (reconcile, plan, transfer, judge, end) is all in the protocol
//! crate; this module only moves frames. Reading and writing run concurrently, so
//! two sides that both send large transfers never wait on each other: the reader
//! hands each frame to the session (which applies a frame of records in one atomic
//! write before the next frame is read, so QUIC's flow control holds a fast sender
//! back), and the writer sends what the session has to send whenever the stream can
//! take it. Once the session is finished, the writer closes our direction and the
//! reader waits for the peer to close its own: neither side hangs up on data still
//! in flight.

use std::sync::Mutex;
use std::time::Instant;

use credithub_protocol::link::{DiffOutcome, Frame, LinkScope, Side};
use credithub_protocol::session::{Event, Session, SessionConfig};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::Notify;

pub use credithub_protocol::session::SessionStats;

use super::frame::{read_frame, write_frame};
use super::LinkError;
use crate::store::Store;

/// Runs a store call that may block on disk without stalling the runtime's other tasks.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Logs a round's figures (one line per round, at info level).
pub fn log_round(stats: &SessionStats, peer: &str, peer_side: Side) {
    let with = match peer_side {
        Side::Parent => "parent",
        Side::Child => "child",
    };
    tracing::info!(
        peer,
        with,
        sent = stats.records_sent,
        received = stats.records_received,
        applied = stats.applied,
        refused = stats.refused_total(),
        conflicts = stats.conflicts,
        held_back = stats.held_back,
        bytes_sent = stats.bytes_sent,
        bytes_received = stats.bytes_received,
        messages = stats.sync_messages,
        ms = stats.elapsed_ms,
        "sync round"
    );
}

/// Runs an open sync session at link `version`: `side` is this node's side of the
/// link, `peer` names the peer in logs. The child side starts the reconciliation.
pub async fn run<W, R>(
    store: &Store,
    scope: &LinkScope,
    side: Side,
    version: u16,
    peer: &str,
    send: &mut W,
    recv: &mut R,
) -> Result<SessionStats, LinkError>
where
    W: AsyncWrite + Unpin + Send,
    R: AsyncRead + Unpin + Send,
{
    let session = blocking(|| {
        Session::sync(
            store,
            scope.clone(),
            side,
            SessionConfig::default(),
            rand::random(),
        )
    })?
    .at_version(version);
    let session = drive(session, peer, send, recv).await?;
    Ok(session.stats().clone())
}

/// Runs an open diff session at link `version`: reconcile, then the parent sends its
/// side of the outcome and the child merges both sides. Nothing is transferred. The
/// child gets every difference; the parent gets `None`.
pub async fn diff<W, R>(
    store: &Store,
    scope: &LinkScope,
    side: Side,
    version: u16,
    send: &mut W,
    recv: &mut R,
) -> Result<(Option<DiffOutcome>, SessionStats), LinkError>
where
    W: AsyncWrite + Unpin + Send,
    R: AsyncRead + Unpin + Send,
{
    let session = blocking(|| {
        Session::diff(
            store,
            scope.clone(),
            side,
            SessionConfig::default(),
            rand::random(),
        )
    })?
    .at_version(version);
    let peer = match side {
        Side::Child => "parent",
        Side::Parent => "child",
    };
    let session = drive(session, peer, send, recv).await?;
    Ok((session.diff_outcome().cloned(), session.stats().clone()))
}

/// Drives `session` over a stream to its end: every frame the peer sends is handed
/// to it, every frame it has is sent, and both directions close in order. Returns the
/// finished session (its figures include the bytes moved and the time taken).
pub async fn drive<'a, W, R>(
    session: Session<'a, Store>,
    peer: &str,
    send: &mut W,
    recv: &mut R,
) -> Result<Session<'a, Store>, LinkError>
where
    W: AsyncWrite + Unpin + Send,
    R: AsyncRead + Unpin + Send,
{
    let started = Instant::now();
    let shared = Mutex::new(session);
    let changed = Notify::new();
    let lock = || shared.lock().unwrap_or_else(|p| p.into_inner());
    let writer = async {
        loop {
            let next = blocking(|| lock().poll_frame())?;
            match next {
                Some(frame) => {
                    let n = write_frame(send, &frame).await?;
                    let mut s = lock();
                    let stats = s.stats_mut();
                    stats.bytes_sent += n;
                    if matches!(frame, Frame::Sync(_)) {
                        stats.sync_bytes += n;
                    }
                }
                None if lock().is_finished() => break,
                None => changed.notified().await,
            }
        }
        send.shutdown().await?;
        Ok::<(), LinkError>(())
    };
    let reader = async {
        loop {
            let Some((frame, n)) = read_frame(recv).await? else {
                lock().handle_end()?;
                changed.notify_one();
                return Ok::<(), LinkError>(());
            };
            let is_sync = matches!(frame, Frame::Sync(_));
            let mut s = lock();
            {
                let stats = s.stats_mut();
                stats.bytes_received += n;
                if is_sync {
                    stats.sync_bytes += n;
                }
            }
            let handled = blocking(|| s.handle_frame(frame));
            while let Some(event) = s.poll_event() {
                log_event(peer, &event);
            }
            drop(s);
            handled?;
            changed.notify_one();
        }
    };
    tokio::try_join!(writer, reader)?;
    let mut session = shared.into_inner().unwrap_or_else(|p| p.into_inner());
    session.stats_mut().elapsed_ms = started.elapsed().as_millis() as u64;
    Ok(session)
}

fn log_event(peer: &str, event: &Event) {
    match event {
        Event::Refused {
            key,
            reason,
            detail: Some(detail),
        } => {
            tracing::warn!(peer, record = %key, reason = %reason, detail = %detail, "refused a record from the peer")
        }
        Event::Refused { key, reason, .. } => {
            tracing::warn!(peer, record = %key, reason = %reason, "refused a record from the peer")
        }
        Event::Conflict { partition, id } => {
            tracing::warn!(peer, partition = %partition, id = %hex::encode(id.0), "same version, different content on the two sides")
        }
    }
}
