//! The transfer phase of a simulated session (`node/src/link/transfer.rs`): each
//! side sends its wants, then its outcome's records and subtrees and what the peer
//! wants, read from its store at the moment of sending; the receiver checks each
//! record against the scope and applies each frame whole.

use std::collections::VecDeque;

use crate::codec::EncodedRecord;
use crate::digest::{NodePath, PartitionId};
use crate::link::{Frame, LinkScope, Side, WireRecord};
use crate::record::{RecordId, RecordKey};
use crate::sync::Outcome;

use super::check::Checker;
use super::model::SimNode;
use super::network::{Fate, Network};
use super::session::{failed, side, End, Link, SessionConfig, DOWN, UP};

/// A unit of sending work: one record, or a subtree read a page at a time.
#[derive(Debug)]
enum Work {
    Item(PartitionId, RecordId),
    Range(PartitionId, NodePath, Option<RecordId>),
}

/// One side's sending half.
#[derive(Debug, Default)]
pub(super) struct Outbound {
    /// Want frames, then want-done.
    wants: VecDeque<Frame>,
    /// Own records and subtrees, then what the peer wants, as it arrives.
    work: VecDeque<Work>,
    /// Whether the peer's want-done arrived (nothing more will be asked).
    peer_done: bool,
    /// Record versions sent.
    sent: u64,
    /// Whether done was sent.
    finished: bool,
}

/// One side's receiving half.
#[derive(Debug, Default)]
struct Inbound {
    received: u64,
    done: bool,
    saw_duplicate: bool,
}

/// A frame on the wire: control frames in their encoded form; record frames as
/// values (encoding a record's bytes one by one would cost most of a debug run's
/// time, and the link's own tests cover that form), with whether it is an injected
/// copy.
#[derive(Debug)]
enum Wire {
    Encoded(Vec<u8>),
    Records {
        batch: Vec<WireRecord>,
        duplicate: bool,
    },
}

/// Both directions of a transfer in progress.
#[derive(Debug)]
pub(super) struct Transfer {
    out: [Outbound; 2],
    inb: [Inbound; 2],
    wire: [VecDeque<Wire>; 2],
    /// The reconciliation's messages, for the session's end.
    messages: u32,
}

impl Transfer {
    /// Plans both sides' sending from their outcomes; stray copies of earlier
    /// sessions' frames on this link arrive somewhere in this one's streams.
    pub(super) fn new(
        link: &Link<'_>,
        outcomes: &[Outcome; 2],
        messages: u32,
        net: &mut Network,
    ) -> Transfer {
        let mut wire: [VecDeque<Wire>; 2] = Default::default();
        for (d, batch) in net.take_strays(link.ends[UP]) {
            let at = net.below(wire[d].len() + 1);
            let duplicate = true;
            wire[d].insert(at, Wire::Records { batch, duplicate });
        }
        Transfer {
            out: [UP, DOWN].map(|d| link.plan(d, &outcomes[d])),
            inb: Default::default(),
            wire,
            messages,
        }
    }

    /// One sender reads and sends a frame, or one frame arrives.
    pub(super) fn step(
        &mut self,
        link: &Link<'_>,
        net: &mut Network,
        check: &mut Checker,
    ) -> Option<End> {
        let Transfer {
            out,
            inb,
            wire,
            messages,
        } = self;
        if inb[0].done && inb[1].done {
            let records = out[0].sent + out[1].sent;
            return Some(End::Completed {
                messages: *messages,
                records,
            });
        }
        // Choose among what can happen now: a sender reads and sends, or a frame arrives.
        let mut choices = Vec::with_capacity(4);
        for d in [UP, DOWN] {
            let o = &out[d];
            let can_send =
                !o.wants.is_empty() || !o.work.is_empty() || (o.peer_done && !o.finished);
            if can_send && wire[d].len() < link.config.in_flight {
                choices.push((d, true));
            }
            if !wire[d].is_empty() {
                choices.push((d, false));
            }
        }
        if choices.is_empty() {
            return Some(failed(format!("session on {} is stuck", link.name)));
        }
        let (d, send) = choices[net.below(choices.len())];
        if send {
            let node = link.nodes[d].0.borrow();
            let o = &mut out[d];
            let frame = if let Some(f) = o.wants.pop_front() {
                Some(f)
            } else if !o.work.is_empty() {
                let batch = read_batch(&node, &link.scope.link, side(d), o, &link.config);
                o.sent += batch.len() as u64;
                (!batch.is_empty()).then_some(Frame::Records(batch))
            } else {
                o.finished = true;
                Some(Frame::Done { records: o.sent })
            };
            match frame {
                Some(Frame::Records(batch)) => wire[d].push_back(Wire::Records {
                    batch,
                    duplicate: false,
                }),
                Some(f) => wire[d].push_back(Wire::Encoded(f.encode())),
                None => {}
            }
            return None;
        }
        let to = 1 - d;
        let frame = match wire[d].pop_front()? {
            Wire::Encoded(bytes) => match Frame::decode(&bytes) {
                Ok(f) => f,
                Err(e) => return Some(failed(format!("frame does not decode: {e}"))),
            },
            Wire::Records { batch, duplicate } => {
                let fate = net.record_frame();
                if fate == Fate::Lost {
                    return Some(End::Aborted);
                }
                let times = if fate == Fate::Twice { 2 } else { 1 };
                for i in 0..times {
                    let duplicate = duplicate || i > 0;
                    inb[to].saw_duplicate |= duplicate;
                    inb[to].received += batch.len() as u64;
                    link.apply(to, side(d), &batch, duplicate, check);
                }
                match fate {
                    Fate::AgainLater => {
                        let at = net.below(wire[d].len() + 1);
                        let duplicate = true;
                        wire[d].insert(at, Wire::Records { batch, duplicate });
                    }
                    Fate::Stray => net.stray(link.ends[UP], d, batch),
                    _ => {}
                }
                return None;
            }
        };
        match frame {
            Frame::Want { items, ranges } => {
                if !net.arrives() {
                    return Some(End::Aborted);
                }
                let o = &mut out[to];
                o.work
                    .extend(items.into_iter().map(|(p, id)| Work::Item(p, id)));
                o.work.extend(
                    ranges
                        .into_iter()
                        .filter(|(p, _)| link.scope.link.may_flow(side(to), p))
                        .map(|(p, path)| Work::Range(p, path, None)),
                );
            }
            Frame::WantDone => {
                if !net.arrives() {
                    return Some(End::Aborted);
                }
                out[to].peer_done = true;
            }
            Frame::Done { records } => {
                if !net.arrives() {
                    return Some(End::Aborted);
                }
                if records != inb[to].received {
                    return Some(End::Failed {
                        reason: format!(
                            "{}: peer says it sent {records} records, {} arrived",
                            link.name, inb[to].received
                        ),
                        injected: inb[to].saw_duplicate,
                    });
                }
                inb[to].done = true;
            }
            other => {
                return Some(failed(format!(
                    "unexpected {} frame in encoded form during transfer",
                    other.name()
                )))
            }
        }
        None
    }
}

impl Link<'_> {
    /// What side `dir` asks for and sends, filtered as the real session filters it.
    pub(super) fn plan(&self, dir: usize, outcome: &Outcome) -> Outbound {
        let (me, peer) = (side(dir), side(1 - dir));
        let scope = &self.scope.link;
        let want_items: Vec<(PartitionId, RecordId)> = outcome
            .fetch
            .iter()
            .filter(|(p, id)| {
                scope.may_flow(peer, p)
                    && p.origin_code().is_none_or(|origin| {
                        let key = RecordKey {
                            origin,
                            kind: p.kind,
                            id: *id,
                        };
                        scope.allows(peer, &key).is_ok()
                    })
            })
            .copied()
            .collect();
        let want_ranges: Vec<(PartitionId, NodePath)> = outcome
            .fetch_ranges
            .iter()
            .filter(|(p, _)| scope.may_flow(peer, p))
            .copied()
            .collect();
        let mut out = Outbound::default();
        for chunk in want_items.chunks(self.config.want_chunk) {
            out.wants.push_back(Frame::Want {
                items: chunk.to_vec(),
                ranges: Vec::new(),
            });
        }
        for chunk in want_ranges.chunks(self.config.want_chunk) {
            out.wants.push_back(Frame::Want {
                items: Vec::new(),
                ranges: chunk.to_vec(),
            });
        }
        out.wants.push_back(Frame::WantDone);
        out.work
            .extend(outcome.send.iter().map(|(p, id)| Work::Item(*p, *id)));
        out.work.extend(
            outcome
                .send_ranges
                .iter()
                .filter(|(p, _)| scope.may_flow(me, p))
                .map(|(p, path)| Work::Range(*p, *path, None)),
        );
        out
    }

    /// The receiver `to` checks each record against the link's scope, then its store
    /// applies the frame (the real store applies a frame in one atomic batch).
    pub(super) fn apply(
        &self,
        to: usize,
        from: Side,
        batch: &[WireRecord],
        duplicate: bool,
        check: &mut Checker,
    ) {
        let mut node = self.nodes[to].0.borrow_mut();
        for r in batch {
            let record = EncodedRecord {
                key: r.key,
                bytes: r.bytes.clone(),
            };
            match self.scope.receiver_allows(from, &r.key) {
                Err(why) => check.refused(&node, &r.key, why, duplicate),
                Ok(()) => {
                    let applied = node.apply_remote(&record);
                    check.received(self.ends[to], &node, &record, applied, duplicate);
                }
            }
        }
    }
}

/// Reads the next frame's records from the sender's store, as `Outgoing` does: each
/// wanted or outcome record by its member key (skipping subjects-partition members
/// that travel through their origin partition), subtrees a page at a time in key
/// order, and only records the scope lets go to the peer.
fn read_batch(
    node: &SimNode,
    scope: &LinkScope,
    me: Side,
    o: &mut Outbound,
    config: &SessionConfig,
) -> Vec<WireRecord> {
    let mut batch = Vec::new();
    let push = |r: &EncodedRecord, batch: &mut Vec<WireRecord>| {
        if scope.allows(me, &r.key).is_ok() {
            batch.push(WireRecord {
                key: r.key,
                bytes: r.bytes.clone(),
            });
        }
    };
    while batch.len() < config.frame_records {
        let Some(work) = o.work.pop_front() else {
            break;
        };
        match work {
            Work::Item(p, id) => {
                if let Some(key) = node.member_key(&p, &id) {
                    if !scope.travels_elsewhere(&p, &key) {
                        if let Some(r) = node.get(&key) {
                            push(r, &mut batch);
                        }
                    }
                }
            }
            Work::Range(p, path, after) => {
                let room = config.frame_records - batch.len();
                let keys = node.member_page(&p, path, after, room);
                let full = keys.len() == room;
                let last = keys.last().map(|k| k.id);
                for key in keys {
                    if scope.travels_elsewhere(&p, &key) {
                        continue;
                    }
                    if let Some(r) = node.get(&key) {
                        push(r, &mut batch);
                    }
                }
                if full {
                    o.work.push_front(Work::Range(p, path, last));
                }
            }
        }
    }
    batch
}
