//! One simulated session on a child's link to its parent: the shipped
//! [`Session`](crate::session::Session) on each side, the same code a node runs, with
//! the simulated network between them.
//!
//! The run advances one event at a time ([`LinkRun::step`]): a side takes its next
//! frame from its session (reading its node's store at that moment, as a real
//! node's does), or the oldest frame in one direction arrives and is handed to the
//! other side's session. Control frames cross in their encoded form; record frames
//! cross as values (encoding a record's bytes one by one would cost most of a debug
//! run's time, and the link's own tests cover that form), so that the network can
//! lose, duplicate, delay and stray them.

use std::collections::VecDeque;

use crate::link::{Frame, LinkScope, Refusal, Side, WireRecord};
use crate::session::{Event, Session, SessionConfig, SessionError};

use super::check::Checker;
use super::model::NodeCell;
use super::network::{Fate, Network};
use super::Bug;

/// The direction child → parent (also the index of the child in a run).
pub(super) const UP: usize = 0;
/// The direction parent → child (also the index of the parent in a run).
pub(super) const DOWN: usize = 1;

/// Sizes of a simulated session.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SimConfig {
    /// The sessions' configuration (both sides alike).
    pub session: SessionConfig,
    /// Frames in flight per direction at most (QUIC flow control).
    pub in_flight: usize,
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// Both sides sent and received everything.
    Completed {
        /// Reconciliation messages.
        messages: u32,
        /// Record versions sent both ways.
        records: u64,
    },
    /// A message or frame was lost (or a node crashed): the session broke there.
    Aborted,
    /// A side gave up on an error; `injected` when a duplicate frame explains it.
    Failed {
        /// What went wrong.
        reason: String,
        /// Whether an injected duplicate explains it (a receiver's count mismatch, a
        /// copy after the end).
        injected: bool,
    },
}

/// A frame on the wire: control frames in their encoded form; record frames as
/// values, with whether it is an injected copy.
#[derive(Debug)]
enum Wire {
    Encoded(Vec<u8>),
    Records {
        batch: Vec<WireRecord>,
        duplicate: bool,
    },
}

/// A session on the link between a child and its parent: both sides and the wire.
pub(crate) struct LinkRun<'a> {
    /// Node indexes: `[child, parent]`.
    ends: [usize; 2],
    nodes: [&'a NodeCell; 2],
    name: String,
    /// The sessions: `[child's, parent's]`; `sessions[d]` sends in direction `d`.
    sessions: [Session<'a, NodeCell>; 2],
    /// Frames travelling in each direction.
    wire: [VecDeque<Wire>; 2],
    /// Per receiving side: whether an injected copy reached it.
    saw_duplicate: [bool; 2],
    reconciled: bool,
    in_flight: usize,
}

impl<'a> LinkRun<'a> {
    /// Opens a session on the link of node `child`: the child starts its
    /// reconciliation with `salt`. Under [`Bug::ChildIgnoresSubscriptions`] the child
    /// computes its side's scope without its subscriptions.
    pub(crate) fn open(
        all: &'a [NodeCell],
        child: usize,
        config: SimConfig,
        bug: Option<Bug>,
        salt: u64,
    ) -> LinkRun<'a> {
        let (name, scope, parent) = {
            let c = all[child].0.borrow();
            let parent = c.parent.unwrap_or(child);
            let name = format!("{}-{}", c.name, all[parent].0.borrow().name);
            (name, c.uplink_scope(), parent)
        };
        let child_scope = if bug == Some(Bug::ChildIgnoresSubscriptions) {
            LinkScope::new(scope.child(), [])
        } else {
            scope.clone()
        };
        let infallible = |r: Result<Session<'a, NodeCell>, SessionError<_>>| match r {
            Ok(s) => s,
            Err(SessionError::Local(e)) => match e {},
            // A new session has received nothing: no peer or declined error.
            Err(_) => unreachable!("a session opens without a peer"),
        };
        let c = infallible(Session::sync(
            &all[child],
            child_scope,
            Side::Child,
            config.session,
            salt,
        ));
        let p = infallible(Session::sync(
            &all[parent],
            scope,
            Side::Parent,
            config.session,
            0,
        ));
        LinkRun {
            ends: [child, parent],
            nodes: [&all[child], &all[parent]],
            name,
            sessions: [c, p],
            wire: Default::default(),
            saw_duplicate: [false; 2],
            reconciled: false,
            in_flight: config.in_flight.max(1),
        }
    }

    /// Node indexes: `[child, parent]`.
    pub(crate) fn ends(&self) -> [usize; 2] {
        self.ends
    }

    /// One side takes and sends a frame, or one frame arrives; returns how the
    /// session ended, if it did.
    pub(crate) fn step(&mut self, net: &mut Network, check: &mut Checker) -> Option<End> {
        if self.sessions.iter().all(|s| s.is_finished()) {
            let [c, p] = &self.sessions;
            return Some(End::Completed {
                messages: c.stats().sync_messages.max(p.stats().sync_messages),
                records: c.stats().records_sent + p.stats().records_sent,
            });
        }
        // What can happen now: a side sends (if its direction has room), or the
        // oldest frame of a direction arrives.
        let mut choices = Vec::with_capacity(4);
        for d in [UP, DOWN] {
            if self.wire[d].len() < self.in_flight && !self.sessions[d].is_finished() {
                choices.push((d, true));
            }
            if !self.wire[d].is_empty() {
                choices.push((d, false));
            }
        }
        while !choices.is_empty() {
            let (d, send) = choices.swap_remove(net.below(choices.len()));
            if !send {
                return self.deliver(d, net, check);
            }
            let frame = match self.sessions[d].poll_frame() {
                Ok(Some(f)) => f,
                // Nothing to send now: try another choice.
                Ok(None) => continue,
                Err(e) => return Some(self.failed(1 - d, &e)),
            };
            match frame {
                Frame::Records(batch) => self.wire[d].push_back(Wire::Records {
                    batch,
                    duplicate: false,
                }),
                f => match f.encode() {
                    Ok(bytes) => self.wire[d].push_back(Wire::Encoded(bytes)),
                    Err(e) => return Some(failed(format!("frame does not encode: {e}"))),
                },
            }
            return None;
        }
        Some(failed(format!("session on {} is stuck", self.name)))
    }

    /// The oldest frame travelling in direction `d` arrives.
    fn deliver(&mut self, d: usize, net: &mut Network, check: &mut Checker) -> Option<End> {
        let to = 1 - d;
        let wire = self.wire[d].pop_front()?;
        let (frame, times, duplicate) = match wire {
            Wire::Encoded(bytes) => {
                if !net.arrives() {
                    return Some(End::Aborted);
                }
                match Frame::decode(&bytes) {
                    Ok(f) => (f, 1, false),
                    Err(e) => return Some(failed(format!("frame does not decode: {e}"))),
                }
            }
            Wire::Records { batch, duplicate } => {
                let fate = net.record_frame();
                match fate {
                    Fate::Lost => return Some(End::Aborted),
                    Fate::AgainLater => {
                        let at = net.below(self.wire[d].len() + 1);
                        let copy = batch.clone();
                        self.wire[d].insert(
                            at,
                            Wire::Records {
                                batch: copy,
                                duplicate: true,
                            },
                        );
                    }
                    Fate::Stray => net.stray(self.ends[UP], d, batch.clone()),
                    Fate::Once | Fate::Twice => {}
                }
                let times = if fate == Fate::Twice { 2 } else { 1 };
                (Frame::Records(batch), times, duplicate)
            }
        };
        if let Frame::Sync(msg) = &frame {
            check.parts.count(msg);
        }
        for i in 0..times {
            let duplicate = duplicate || i > 0;
            self.saw_duplicate[to] |= duplicate;
            let result = self.sessions[to].handle_frame(frame.clone());
            self.observe(to, duplicate, check);
            if let Err(e) = result {
                return Some(self.failed(to, &e));
            }
        }
        if !self.reconciled && self.sessions.iter().all(|s| s.is_reconciled()) {
            self.reconciled(net, check);
        }
        None
    }

    /// Both sides finished reconciling: count it, and let stray copies of earlier
    /// sessions' record frames on this link arrive somewhere in this one's streams.
    fn reconciled(&mut self, net: &mut Network, check: &mut Checker) {
        self.reconciled = true;
        let messages = self
            .sessions
            .iter()
            .map(|s| s.stats().sync_messages)
            .max()
            .unwrap_or(0);
        check.reconciled(&self.name, messages);
        check.parts.ranges += self
            .sessions
            .iter()
            .filter_map(|s| s.outcome())
            .map(|o| o.send_ranges.len() as u64)
            .sum::<u64>();
        for (d, batch) in net.take_strays(self.ends[UP]) {
            let at = net.below(self.wire[d].len() + 1);
            self.wire[d].insert(
                at,
                Wire::Records {
                    batch,
                    duplicate: true,
                },
            );
        }
    }

    /// Hands the checker what side `to` did with the frame it was just given: each
    /// record its store was asked to keep, and each refusal by the link's scope
    /// (refusals by the store arrive through the store's receipts).
    fn observe(&mut self, to: usize, duplicate: bool, check: &mut Checker) {
        let at = self.ends[to];
        let receipts = self.nodes[to].take_receipts();
        let node = self.nodes[to].0.borrow();
        for (key, version, applied) in receipts {
            check.received(at, &node, &key, version, applied, duplicate);
        }
        while let Some(event) = self.sessions[to].poll_event() {
            if let Event::Refused { key, reason, .. } = event {
                if !matches!(
                    reason,
                    Refusal::Stale | Refusal::Conflict | Refusal::Invalid
                ) {
                    check.refused(&node, &key, reason, duplicate);
                }
            }
        }
    }

    /// Side `at` stopped on `e`: explained when an injected copy reached it.
    fn failed(&self, at: usize, e: &SessionError<std::convert::Infallible>) -> End {
        End::Failed {
            reason: format!("{}: {e}", self.name),
            injected: self.saw_duplicate[at],
        }
    }
}

/// A failure no injected fault explains.
fn failed(reason: String) -> End {
    End::Failed {
        reason,
        injected: false,
    }
}
