//! One sync session over one stream, once it is open: reconcile, exchange wants, and
//! stream record versions both ways until each side is done.
//!
//! The session is the I/O shell around [`Reconciler`]: it answers the state machine's
//! questions from the store, carries its messages as [`Frame::Sync`], and then carries
//! out its [`Outcome`](credithub_protocol::sync::Outcome). Every record that arrives is
//! checked against the [`LinkScope`] and then by the store (version order, digest,
//! key); refusals are counted and logged and never stop the rest of the session.
//!
//! Memory stays bounded: records travel in frames of at most
//! [`MAX_RECORDS_PER_FRAME`], whole subtrees are read from the store a page at a time,
//! and the receiver applies each frame before it reads the next, so QUIC's flow control
//! holds a fast sender back.

use std::collections::BTreeMap;
use std::sync::Arc;

use std::collections::BTreeSet;

use credithub_protocol::digest::{NodePath, PartitionId};
use credithub_protocol::link::{DiffOutcome, Frame, LinkScope, Refusal, Side};
use credithub_protocol::record::{RecordId, RecordKey};
use credithub_protocol::sync::{Limits, Outcome, Reconciler};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::frame::{read_frame, write_frame};
use super::transfer::{Incoming, Outgoing};
use super::LinkError;
use crate::store::Store;

/// Refusals logged one by one per session; the rest are only counted.
const LOGGED_REFUSALS: u64 = 20;

/// What one session did, from one side's point of view.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionStats {
    /// How long the session took, in milliseconds.
    #[serde(default)]
    pub elapsed_ms: u64,
    /// Reconciliation messages exchanged (both ways).
    pub sync_messages: u32,
    /// Bytes written to the stream.
    pub bytes_sent: u64,
    /// Bytes read from the stream.
    pub bytes_received: u64,
    /// Reconciliation bytes only (both ways), a part of the above.
    pub sync_bytes: u64,
    /// Record versions sent.
    pub records_sent: u64,
    /// Record versions received.
    pub records_received: u64,
    /// Received versions stored.
    pub applied: u64,
    /// Received versions already held.
    pub unchanged: u64,
    /// Received versions refused, by reason.
    pub refused: BTreeMap<String, u64>,
    /// Records held at the same version with different content on the two sides.
    pub conflicts: u64,
}

impl SessionStats {
    /// Versions refused in all.
    pub fn refused_total(&self) -> u64 {
        self.refused.values().sum()
    }

    /// Logs the session's figures (one line per round, at info level).
    pub fn log(&self, peer: &str, peer_side: Side, elapsed: std::time::Duration) {
        let with = match peer_side {
            Side::Parent => "parent",
            Side::Child => "child",
        };
        tracing::info!(
            peer,
            with,
            sent = self.records_sent,
            received = self.records_received,
            applied = self.applied,
            refused = self.refused_total(),
            conflicts = self.conflicts,
            bytes_sent = self.bytes_sent,
            bytes_received = self.bytes_received,
            messages = self.sync_messages,
            ms = elapsed.as_millis() as u64,
            "sync round"
        );
    }

    pub(super) fn refuse(&mut self, reason: Refusal, key: &RecordKey, peer: &str) {
        let n = self.refused.entry(reason.as_str().to_string()).or_default();
        *n += 1;
        if *n <= LOGGED_REFUSALS {
            tracing::warn!(peer, record = %key, reason = %reason, "refused a record from the peer");
        }
    }
}

/// Runs a store call that may block on disk without stalling the runtime's other tasks.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// Runs an open session: `side` is this node's side of the link, `peer` names the
/// peer in logs. The child side starts the reconciliation.
pub async fn run<W, R>(
    store: &Arc<Store>,
    scope: &LinkScope,
    side: Side,
    peer: &str,
    send: &mut W,
    recv: &mut R,
) -> Result<SessionStats, LinkError>
where
    W: AsyncWrite + Unpin + Send,
    R: AsyncRead + Unpin + Send,
{
    let started = std::time::Instant::now();
    let mut stats = SessionStats::default();
    let outcome = reconcile(store, scope, side, send, recv, &mut stats).await?;
    let peer_side = match side {
        Side::Child => Side::Parent,
        Side::Parent => Side::Child,
    };
    stats.conflicts = outcome.conflicts.len() as u64;
    for (p, id) in outcome.conflicts.iter().take(LOGGED_REFUSALS as usize) {
        tracing::warn!(peer, partition = %p, id = %hex::encode(id.0), "same version, different content on the two sides");
    }
    // What to ask for: only what the peer may send us.
    let want_items: Vec<(PartitionId, RecordId)> = outcome
        .fetch
        .iter()
        .filter(|(p, id)| {
            scope.may_flow(peer_side, p)
                && p.origin_code().is_none_or(|origin| {
                    let key = RecordKey {
                        origin,
                        kind: p.kind,
                        id: *id,
                    };
                    scope.allows(peer_side, &key).is_ok()
                })
        })
        .copied()
        .collect();
    let want_ranges: Vec<(PartitionId, NodePath)> = outcome
        .fetch_ranges
        .iter()
        .filter(|(p, _)| scope.may_flow(peer_side, p))
        .copied()
        .collect();
    let own_items: Vec<(PartitionId, RecordId)> = outcome.send.iter().copied().collect();
    let own_ranges: Vec<(PartitionId, NodePath)> = outcome
        .send_ranges
        .iter()
        .filter(|(p, _)| scope.may_flow(side, p))
        .copied()
        .collect();

    let (wants_tx, wants_rx) = mpsc::channel(super::transfer::MAX_QUEUED_WANT_FRAMES);
    let mut out = Outgoing {
        store,
        scope,
        side,
        send,
        batch: Vec::new(),
        batch_bytes: 0,
        records: 0,
        bytes: 0,
    };
    let mut inc = Incoming {
        store,
        scope,
        from: peer_side,
        peer,
        stats: SessionStats::default(),
    };
    let writer = out.run(want_items, want_ranges, own_items, own_ranges, wants_rx);
    let reader = inc.run(recv, wants_tx);
    tokio::try_join!(writer, reader)?;
    close(out.send, recv).await?;
    stats.elapsed_ms = started.elapsed().as_millis() as u64;
    stats.bytes_sent += out.bytes;
    stats.records_sent = out.records;
    let got = inc.stats;
    stats.bytes_received += got.bytes_received;
    stats.records_received = got.records_received;
    stats.applied = got.applied;
    stats.unchanged = got.unchanged;
    stats.refused = got.refused;
    Ok(stats)
}

/// The reconciliation phase: the child starts; both answer until finished.
async fn reconcile<W, R>(
    store: &Arc<Store>,
    scope: &LinkScope,
    side: Side,
    send: &mut W,
    recv: &mut R,
    stats: &mut SessionStats,
) -> Result<Outcome, LinkError>
where
    W: AsyncWrite + Unpin + Send,
    R: AsyncRead + Unpin + Send,
{
    let view: &Store = store;
    let mut rec = Reconciler::new(view, |p: &PartitionId| scope.covers(p), Limits::default())
        .with_salt(rand::random());
    if side == Side::Child {
        let hello = blocking(|| rec.start())?;
        let n = write_frame(send, &Frame::Sync(hello)).await?;
        stats.bytes_sent += n;
        stats.sync_bytes += n;
        stats.sync_messages += 1;
    }
    while !rec.is_finished() {
        let (frame, n) = read_frame(recv).await?.ok_or_else(|| {
            LinkError::Protocol("peer closed the stream mid-reconciliation".into())
        })?;
        stats.bytes_received += n;
        stats.sync_bytes += n;
        let msg = match frame {
            Frame::Sync(m) => m,
            Frame::Refused { reason } => return Err(LinkError::Refused(reason)),
            other => {
                return Err(LinkError::Protocol(format!(
                    "expected a sync message, got {}",
                    other.name()
                )))
            }
        };
        stats.sync_messages += 1;
        match blocking(|| rec.receive(msg))? {
            Some(reply) => {
                let n = write_frame(send, &Frame::Sync(reply)).await?;
                stats.bytes_sent += n;
                stats.sync_bytes += n;
                stats.sync_messages += 1;
            }
            None => break,
        }
    }
    Ok(rec.outcome().clone())
}

/// Closes our direction, now that everything received is applied, and waits for the
/// peer to do the same: neither side hangs up on data still in flight.
async fn close<W, R>(send: &mut W, recv: &mut R) -> Result<(), LinkError>
where
    W: AsyncWrite + Unpin + Send,
    R: AsyncRead + Unpin + Send,
{
    send.shutdown().await?;
    match read_frame(recv).await? {
        None => Ok(()),
        Some((frame, _)) => Err(LinkError::Protocol(format!(
            "unexpected {} frame after done",
            frame.name()
        ))),
    }
}

/// Runs an open diff session: reconcile, then the parent sends its side of the
/// outcome and the child merges both sides. Nothing is transferred. The child gets
/// every difference; the parent gets `None`.
pub async fn diff<W, R>(
    store: &Arc<Store>,
    scope: &LinkScope,
    side: Side,
    send: &mut W,
    recv: &mut R,
) -> Result<(Option<DiffOutcome>, SessionStats), LinkError>
where
    W: AsyncWrite + Unpin + Send,
    R: AsyncRead + Unpin + Send,
{
    let mut stats = SessionStats::default();
    let outcome = reconcile(store, scope, side, send, recv, &mut stats).await?;
    match side {
        Side::Parent => {
            let theirs = DiffOutcome {
                parent_newer: list(&outcome.send),
                child_newer: list(&outcome.fetch),
                parent_only: list(&outcome.send_ranges),
                child_only: list(&outcome.fetch_ranges),
                conflicts: list(&outcome.conflicts),
            };
            stats.bytes_sent += write_frame(send, &Frame::Diff(Box::new(theirs))).await?;
            close(send, recv).await?;
            Ok((None, stats))
        }
        Side::Child => {
            let (frame, n) = read_frame(recv)
                .await?
                .ok_or_else(|| LinkError::Protocol("peer closed before its diff".into()))?;
            stats.bytes_received += n;
            let Frame::Diff(parent) = frame else {
                return Err(LinkError::Protocol(format!(
                    "expected the parent's diff, got {}",
                    frame.name()
                )));
            };
            let merged = DiffOutcome {
                parent_newer: merge(parent.parent_newer, &outcome.fetch),
                child_newer: merge(parent.child_newer, &outcome.send),
                parent_only: merge(parent.parent_only, &outcome.fetch_ranges),
                child_only: merge(parent.child_only, &outcome.send_ranges),
                conflicts: merge(parent.conflicts, &outcome.conflicts),
            };
            close(send, recv).await?;
            Ok((Some(merged), stats))
        }
    }
}

fn list<T: Copy>(set: &BTreeSet<T>) -> Vec<T> {
    set.iter().copied().collect()
}

fn merge<T: Copy + Ord>(mut a: Vec<T>, b: &BTreeSet<T>) -> Vec<T> {
    a.extend(b.iter().copied());
    a.sort_unstable();
    a.dedup();
    a
}
