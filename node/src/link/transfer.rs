//! The transfer phase of a session: each side asks for what it wants, then streams
//! record versions in bounded frames while it receives and applies the peer's.

use std::sync::Arc;

use credithub_protocol::codec::EncodedRecord;
use credithub_protocol::digest::{NodePath, PartitionId};
use credithub_protocol::link::{
    Frame, LinkScope, Refusal, Side, WireRecord, MAX_RECORDS_PER_FRAME, MAX_WANTS_PER_FRAME,
};
use credithub_protocol::record::{RecordId, RecordKey};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;

use super::frame::{read_frame, write_frame};
use super::session::{blocking, SessionStats};
use super::LinkError;
use crate::store::{RemoteOutcome, Store};

/// Bytes of record data per frame at most (a frame also ends at
/// [`MAX_RECORDS_PER_FRAME`] records).
const FRAME_DATA_BYTES: usize = 1 << 20;

/// Want frames of the peer queued for our writer at most. Each side sends all its
/// wants before any record, so the queue never waits on the peer; a peer that asks for
/// more than this (about two million records not yet sent) is cut off rather than
/// allowed to grow our memory.
pub(super) const MAX_QUEUED_WANT_FRAMES: usize = 256;

/// One page of a subtree: the records to send, the last id read, and whether the
/// page was full (more may follow).
type Page = (Vec<EncodedRecord>, Option<RecordId>, bool);

/// Records and subtrees one side wants from the other.
pub(super) type Wants = (Vec<(PartitionId, RecordId)>, Vec<(PartitionId, NodePath)>);

/// The sending half of the transfer phase.
pub(super) struct Outgoing<'a, W> {
    pub(super) store: &'a Arc<Store>,
    pub(super) scope: &'a LinkScope,
    pub(super) side: Side,
    pub(super) send: &'a mut W,
    pub(super) batch: Vec<WireRecord>,
    pub(super) batch_bytes: usize,
    pub(super) records: u64,
    pub(super) bytes: u64,
}

impl<W: AsyncWrite + Unpin + Send> Outgoing<'_, W> {
    pub(super) async fn run(
        &mut self,
        want_items: Vec<(PartitionId, RecordId)>,
        want_ranges: Vec<(PartitionId, NodePath)>,
        own_items: Vec<(PartitionId, RecordId)>,
        own_ranges: Vec<(PartitionId, NodePath)>,
        mut peer_wants: mpsc::Receiver<Wants>,
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
pub(super) struct Incoming<'a> {
    pub(super) store: &'a Arc<Store>,
    pub(super) scope: &'a LinkScope,
    pub(super) from: Side,
    pub(super) peer: &'a str,
    pub(super) stats: SessionStats,
}

impl Incoming<'_> {
    pub(super) async fn run<R: AsyncRead + Unpin + Send>(
        &mut self,
        recv: &mut R,
        wants: mpsc::Sender<Wants>,
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
                    match tx.try_send((items, ranges)) {
                        Ok(()) => {}
                        Err(mpsc::error::TrySendError::Full(_)) => {
                            return Err(LinkError::Protocol(format!(
                                "more than {MAX_QUEUED_WANT_FRAMES} want frames queued"
                            )))
                        }
                        // The writer stopped on an error; try_join reports it.
                        Err(mpsc::error::TrySendError::Closed(_)) => {}
                    }
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
