//! One simulated session on a child's link to its parent, following the real one
//! (`node/src/link/session.rs` and `transfer.rs`): the child starts the
//! [`Reconciler`], messages cross in their wire form, then each side asks for what it
//! wants and both stream record versions in frames, each frame applied whole.
//!
//! The session advances one delivery at a time ([`Session::step`]), so that the
//! scheduler can interleave it with other links' sessions and with local writes;
//! reconcilers and senders read their node's store live, as a real node's do.

use crate::digest::{PartitionId, Scope};
use crate::link::{LinkScope, Refusal, Side, MAX_FRAME};
use crate::record::RecordKey;
use crate::sync::{Limits, Message, Reconciler};

use super::check::Checker;
use super::model::NodeCell;
use super::network::Network;
use super::transfer::Transfer;
use super::Bug;

/// The direction child → parent (also the index of the child in a session).
pub(super) const UP: usize = 0;
/// The direction parent → child (also the index of the parent in a session).
pub(super) const DOWN: usize = 1;

/// The side that sends in direction `dir`.
pub(super) fn side(dir: usize) -> Side {
    if dir == UP {
        Side::Child
    } else {
        Side::Parent
    }
}

/// Sizes of a session's frames.
#[derive(Debug, Clone, Copy)]
pub struct SessionConfig {
    /// Record versions per frame at most (the real node: 1 024).
    pub frame_records: usize,
    /// Entries per want frame at most (the real node: 8 192).
    pub want_chunk: usize,
    /// Frames in flight per direction at most (QUIC flow control).
    pub in_flight: usize,
    /// The reconcilers' limits (both sides alike).
    pub limits: Limits,
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum End {
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
        /// Whether an injected duplicate explains it (a receiver's count mismatch).
        injected: bool,
    },
}

/// The link's scope as both sides compute it, with an injected bug if any.
#[derive(Debug, Clone)]
pub struct SimScope {
    pub(super) link: LinkScope,
    /// The child's own check of what comes down (differs only under a bug).
    child_check: LinkScope,
    bug: Option<Bug>,
}

impl SimScope {
    /// The scope of a link, honest or with `bug`.
    pub fn new(link: LinkScope, bug: Option<Bug>) -> SimScope {
        let child_check = if bug == Some(Bug::ChildIgnoresSubscriptions) {
            LinkScope::new(link.child(), [])
        } else {
            link.clone()
        };
        SimScope {
            link,
            child_check,
            bug,
        }
    }

    /// The partitions the reconcilers compare.
    pub fn covers(&self, p: &PartitionId) -> bool {
        if self.bug == Some(Bug::ForgetSubjectsScope) && matches!(p.scope, Scope::Subjects(_)) {
            return false;
        }
        self.link.covers(p)
    }

    /// The receiver's check of a record that came from `from`.
    pub(super) fn receiver_allows(&self, from: Side, key: &RecordKey) -> Result<(), Refusal> {
        match from {
            Side::Child => self.link.up(key),
            Side::Parent => self.child_check.down(key),
        }
    }
}

type ScopeFn<'a> = Box<dyn Fn(&PartitionId) -> bool + 'a>;
type Rec<'a> = Reconciler<'a, NodeCell, ScopeFn<'a>>;

/// The reconciliation phase: both reconcilers and the one message in flight.
struct Reconciling<'a> {
    recs: [Rec<'a>; 2],
    /// The direction the message in flight travels, and its wire form.
    in_flight: (usize, Vec<u8>),
    messages: u32,
}

enum State<'a> {
    Reconciling(Box<Reconciling<'a>>),
    Transferring(Box<Transfer>),
}

/// What a session knows of its link; fixed while it runs.
pub(super) struct Link<'a> {
    /// Node indexes: `[child, parent]`.
    pub(super) ends: [usize; 2],
    pub(super) nodes: [&'a NodeCell; 2],
    pub(super) name: String,
    pub(super) scope: SimScope,
    pub(super) config: SessionConfig,
}

/// A session on the link between a child and its parent.
pub struct Session<'a> {
    link: Link<'a>,
    state: State<'a>,
}

impl<'a> Session<'a> {
    /// Opens a session: the child starts its reconciler with `salt`.
    pub fn open(
        all: &'a [NodeCell],
        child: usize,
        config: SessionConfig,
        bug: Option<Bug>,
        salt: u64,
    ) -> Session<'a> {
        let (name, link, parent) = {
            let c = all[child].0.borrow();
            let parent = c.parent.unwrap_or(child);
            let name = format!("{}-{}", c.name, all[parent].0.borrow().name);
            (name, c.uplink_scope(), parent)
        };
        let scope = SimScope::new(link, bug);
        let filter = |s: &SimScope| -> ScopeFn<'a> {
            let s = s.clone();
            Box::new(move |p: &PartitionId| s.covers(p))
        };
        let mut c = Reconciler::new(&all[child], filter(&scope), config.limits).with_salt(salt);
        let p = Reconciler::new(&all[parent], filter(&scope), config.limits);
        let hello = c.start().unwrap_or_else(|e| match e {
            crate::sync::SyncError::View(e) => match e {},
            other => panic!("start: {other}"),
        });
        Session {
            link: Link {
                ends: [child, parent],
                nodes: [&all[child], &all[parent]],
                name,
                scope,
                config,
            },
            state: State::Reconciling(Box::new(Reconciling {
                recs: [c, p],
                in_flight: (UP, hello.encode()),
                messages: 1,
            })),
        }
    }

    /// Node indexes: `[child, parent]`.
    pub fn ends(&self) -> [usize; 2] {
        self.link.ends
    }

    /// Delivers one message or frame (or has a sender read and send one); returns how
    /// the session ended, if it did.
    pub fn step(&mut self, net: &mut Network, check: &mut Checker) -> Option<End> {
        match &mut self.state {
            State::Reconciling(r) => {
                let Reconciling {
                    recs,
                    in_flight,
                    messages,
                } = &mut **r;
                if !net.arrives() {
                    return Some(End::Aborted);
                }
                let (dir, bytes) = std::mem::take(in_flight);
                let to = 1 - dir;
                let msg = match Message::decode(&bytes, MAX_FRAME) {
                    Ok(m) => m,
                    Err(e) => return Some(failed(format!("message does not decode: {e}"))),
                };
                check.parts.count(&msg);
                match recs[to].receive(msg) {
                    Ok(Some(reply)) => {
                        *messages += 1;
                        *in_flight = (to, reply.encode());
                        None
                    }
                    Ok(None) => {
                        let messages = *messages;
                        if !(recs[0].is_finished() && recs[1].is_finished()) {
                            return Some(failed("one reconciler ended before the other".into()));
                        }
                        check.reconciled(&self.link.name, messages);
                        let outcomes = [recs[0].outcome().clone(), recs[1].outcome().clone()];
                        check.parts.ranges += outcomes
                            .iter()
                            .map(|o| o.send_ranges.len() as u64)
                            .sum::<u64>();
                        let t = Transfer::new(&self.link, &outcomes, messages, net);
                        self.state = State::Transferring(Box::new(t));
                        None
                    }
                    Err(e) => Some(failed(format!("reconciliation on {}: {e}", self.link.name))),
                }
            }
            State::Transferring(t) => t.step(&self.link, net, check),
        }
    }
}

/// A failure no injected fault explains.
pub(super) fn failed(reason: String) -> End {
    End::Failed {
        reason,
        injected: false,
    }
}
