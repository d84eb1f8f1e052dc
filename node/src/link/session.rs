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

use credithub_protocol::codec::EncodedRecord;
use credithub_protocol::digest::{NodePath, PartitionId};
use credithub_protocol::link::{
    Frame, LinkScope, Refusal, Side, WireRecord, MAX_RECORDS_PER_FRAME, MAX_WANTS_PER_FRAME,
};
use credithub_protocol::record::{RecordId, RecordKey};
use credithub_protocol::sync::{Limits, Reconciler};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::frame::{read_frame, write_frame};
use super::LinkError;
use crate::store::{RemoteOutcome, Store};

/// Bytes of record data per frame at most (a frame also ends at
/// [`MAX_RECORDS_PER_FRAME`] records).
const FRAME_DATA_BYTES: usize = 1 << 20;

/// Refusals logged one by one per session; the rest are only counted.
const LOGGED_REFUSALS: u64 = 20;

/// What one session did, from one side's point of view.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionStats {
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

    fn refuse(&mut self, reason: Refusal, key: &RecordKey, peer: &str) {
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
    let mut stats = SessionStats::default();
    let outcome = {
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
        rec.outcome().clone()
    };
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

    let (wants_tx, wants_rx) = mpsc::unbounded_channel();
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
    // Close our direction only now that everything received is applied, and wait for
    // the peer to do the same: neither side hangs up on data still in flight.
    out.send.shutdown().await?;
    if let Some((frame, _)) = read_frame(recv).await? {
        return Err(LinkError::Protocol(format!(
            "unexpected {} frame after done",
            frame.name()
        )));
    }
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

/// One page of a subtree: the records to send, the last id read, and whether the
/// page was full (more may follow).
type Page = (Vec<EncodedRecord>, Option<RecordId>, bool);

type Wants = (Vec<(PartitionId, RecordId)>, Vec<(PartitionId, NodePath)>);

/// The sending half of the transfer phase.
struct Outgoing<'a, W> {
    store: &'a Arc<Store>,
    scope: &'a LinkScope,
    side: Side,
    send: &'a mut W,
    batch: Vec<WireRecord>,
    batch_bytes: usize,
    records: u64,
    bytes: u64,
}

impl<W: AsyncWrite + Unpin + Send> Outgoing<'_, W> {
    async fn run(
        &mut self,
        want_items: Vec<(PartitionId, RecordId)>,
        want_ranges: Vec<(PartitionId, NodePath)>,
        own_items: Vec<(PartitionId, RecordId)>,
        own_ranges: Vec<(PartitionId, NodePath)>,
        mut peer_wants: mpsc::UnboundedReceiver<Wants>,
    ) -> Result<(), LinkError> {
        for chunk in want_items.chunks(MAX_WANTS_PER_FRAME) {
            self.frame(&Frame::Want {
                items: chunk.to_vec(),
                ranges: Vec::new(),
            })
            .await?;
        }
        for chunk in want_ranges.chunks(MAX_WANTS_PER_FRAME) {
            self.frame(&Frame::Want {
                items: Vec::new(),
                ranges: chunk.to_vec(),
            })
            .await?;
        }
        self.frame(&Frame::WantDone).await?;
        self.items(&own_items).await?;
        self.ranges(&own_ranges).await?;
        while let Some((items, ranges)) = peer_wants.recv().await {
            self.items(&items).await?;
            let ranges: Vec<_> = ranges
                .into_iter()
                .filter(|(p, _)| self.scope.may_flow(self.side, p))
                .collect();
            self.ranges(&ranges).await?;
        }
        self.flush().await?;
        self.frame(&Frame::Done {
            records: self.records,
        })
        .await?;
        Ok(())
    }

    async fn frame(&mut self, f: &Frame) -> Result<(), LinkError> {
        self.bytes += write_frame(self.send, f).await?;
        Ok(())
    }

    async fn items(&mut self, items: &[(PartitionId, RecordId)]) -> Result<(), LinkError> {
        for chunk in items.chunks(MAX_RECORDS_PER_FRAME) {
            let (store, scope) = (self.store, self.scope);
            let records = blocking(|| -> Result<Vec<EncodedRecord>, LinkError> {
                let mut out = Vec::with_capacity(chunk.len());
                for (p, id) in chunk {
                    if let Some(key) = store.member_key(p, id)? {
                        if scope.travels_elsewhere(p, &key) {
                            continue;
                        }
                        if let Some(r) = store.get_encoded(&key)? {
                            out.push(r);
                        }
                    }
                }
                Ok(out)
            })?;
            for r in records {
                self.push(r).await?;
            }
        }
        Ok(())
    }

    async fn ranges(&mut self, ranges: &[(PartitionId, NodePath)]) -> Result<(), LinkError> {
        for (p, path) in ranges {
            let mut after: Option<RecordId> = None;
            loop {
                let store = self.store;
                let scope = self.scope;
                let page = blocking(|| -> Result<Page, LinkError> {
                    let keys =
                        store.member_page(p, *path, after.as_ref(), MAX_RECORDS_PER_FRAME)?;
                    let last = keys.last().map(|k| k.id);
                    let full = keys.len() == MAX_RECORDS_PER_FRAME;
                    let mut out = Vec::with_capacity(keys.len());
                    for key in keys {
                        if scope.travels_elsewhere(p, &key) {
                            continue;
                        }
                        if let Some(r) = store.get_encoded(&key)? {
                            out.push(r);
                        }
                    }
                    Ok((out, last, full))
                })?;
                let (page, last, full) = page;
                let Some(last) = last else { break };
                after = Some(last);
                for r in page {
                    self.push(r).await?;
                }
                if !full {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Queues one record for sending, if it may go to the peer.
    async fn push(&mut self, r: EncodedRecord) -> Result<(), LinkError> {
        if self.scope.allows(self.side, &r.key).is_err() {
            return Ok(());
        }
        self.batch_bytes += r.bytes.len() + 32;
        self.batch.push(WireRecord {
            key: r.key,
            bytes: r.bytes,
        });
        if self.batch.len() >= MAX_RECORDS_PER_FRAME || self.batch_bytes >= FRAME_DATA_BYTES {
            self.flush().await?;
        }
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), LinkError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(&mut self.batch);
        self.records += batch.len() as u64;
        self.batch_bytes = 0;
        self.frame(&Frame::Records(batch)).await
    }
}

/// The receiving half of the transfer phase.
struct Incoming<'a> {
    store: &'a Arc<Store>,
    scope: &'a LinkScope,
    from: Side,
    peer: &'a str,
    stats: SessionStats,
}

impl Incoming<'_> {
    async fn run<R: AsyncRead + Unpin + Send>(
        &mut self,
        recv: &mut R,
        wants: mpsc::UnboundedSender<Wants>,
    ) -> Result<(), LinkError> {
        let mut wants = Some(wants);
        loop {
            let (frame, n) = read_frame(recv).await?.ok_or_else(|| {
                LinkError::Protocol("peer closed the stream before it was done".into())
            })?;
            self.stats.bytes_received += n;
            match frame {
                Frame::Want { items, ranges } => {
                    let tx = wants
                        .as_ref()
                        .ok_or_else(|| LinkError::Protocol("want after want-done".into()))?;
                    // The writer may have stopped on an error; try_join reports it.
                    let _ = tx.send((items, ranges));
                }
                Frame::WantDone => wants = None,
                Frame::Records(batch) => self.apply(batch)?,
                Frame::Done { records } => {
                    if records != self.stats.records_received {
                        return Err(LinkError::Protocol(format!(
                            "peer says it sent {records} records, {} arrived",
                            self.stats.records_received
                        )));
                    }
                    return Ok(());
                }
                Frame::Refused { reason } => return Err(LinkError::Refused(reason)),
                other => {
                    return Err(LinkError::Protocol(format!(
                        "unexpected {} frame during transfer",
                        other.name()
                    )))
                }
            }
        }
    }

    fn apply(&mut self, batch: Vec<WireRecord>) -> Result<(), LinkError> {
        self.stats.records_received += batch.len() as u64;
        let mut accepted = Vec::with_capacity(batch.len());
        for r in batch {
            match self.scope.allows(self.from, &r.key) {
                Ok(()) => accepted.push(EncodedRecord {
                    key: r.key,
                    bytes: r.bytes,
                }),
                Err(reason) => self.stats.refuse(reason, &r.key, self.peer),
            }
        }
        let keys: Vec<RecordKey> = accepted.iter().map(|r| r.key).collect();
        let store = self.store;
        let outcomes = blocking(|| store.apply_remote(accepted))?;
        for (key, outcome) in keys.iter().zip(outcomes) {
            match outcome {
                RemoteOutcome::Applied => self.stats.applied += 1,
                RemoteOutcome::Unchanged => self.stats.unchanged += 1,
                RemoteOutcome::Stale { .. } => self.stats.refuse(Refusal::Stale, key, self.peer),
                RemoteOutcome::Conflict => self.stats.refuse(Refusal::Conflict, key, self.peer),
                RemoteOutcome::Invalid(why) => {
                    tracing::warn!(peer = self.peer, record = %key, reason = %why, "invalid record from the peer");
                    self.stats.refuse(Refusal::Invalid, key, self.peer)
                }
            }
        }
        Ok(())
    }
}
