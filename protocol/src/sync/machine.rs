//! The reconciliation state machine: no sockets, no disk, no clock.
//!
//! Two [`Reconciler`]s, one per node, exchange [`Message`]s until each knows which
//! record versions it must send and which it must fetch. The initiator opens with the
//! summary of everything in scope (equal: one round trip, about 100 bytes, done).
//! Otherwise the responder sends its partitions' root cells, then the two sides
//! alternate, each round answering every open question of the last one in a single
//! message: for a node whose cells differ, a side
//!
//! 1. names the record at once when the difference involves a single record id
//!    ([`Cell::decode`]) and sends its own items with that id fragment;
//! 2. lists its items when the node is small on both sides;
//! 3. otherwise sends its 16 child cells, and the other side compares them.
//!
//! Whoever receives items (of a fragment or a small node) holds both sides' view of
//! them and decides: send what it has newer or alone, fetch what the peer has newer
//! or alone, report equal versions with different digests as conflicts.

use std::collections::{BTreeMap, BTreeSet};

use super::message::{
    Message, Part, PartitionRoot, RootSummary, WireCell, WireItem, PROTOCOL_VERSION,
};
use super::view::DigestView;
use crate::digest::{Cell, DigestItem, NodePath, PartitionId, FANOUT, FIELD_PRIME, MAX_LEVEL};
use crate::record::RecordId;

/// What a reconciliation decided, from one side's point of view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Records this side holds newer (or alone): send them.
    pub send: BTreeSet<(PartitionId, RecordId)>,
    /// Records the peer holds newer (or alone): fetch them.
    pub fetch: BTreeSet<(PartitionId, RecordId)>,
    /// Records held at the same version with different digests on the two sides.
    pub conflicts: BTreeSet<(PartitionId, RecordId)>,
}

/// Why a reconciliation stopped.
#[derive(Debug, thiserror::Error)]
pub enum SyncError<E: std::error::Error + 'static> {
    /// The local digest index could not answer.
    #[error("digest index: {0}")]
    View(#[source] E),
    /// The peer speaks another protocol version.
    #[error("peer speaks reconciliation protocol {0}, this node speaks {PROTOCOL_VERSION}")]
    Version(u16),
    /// The peer broke the protocol (a malformed or out-of-place message).
    #[error("peer broke the protocol: {0}")]
    Protocol(String),
}

/// Limits that keep a reconciliation bounded whatever the peer sends.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Subtrees with at most this many items on both sides are listed, not descended.
    pub list_threshold: i64,
    /// Parts accepted in one message.
    pub max_parts: usize,
    /// Items accepted in one listing.
    pub max_items: usize,
    /// Rounds before the reconciliation is abandoned.
    pub max_rounds: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            list_threshold: 6,
            max_parts: 200_000,
            max_items: 4_096,
            max_rounds: 48,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Ready,
    Waiting,
    Finished,
}

/// One side of a reconciliation over the partitions `in_scope` selects.
pub struct Reconciler<'v, V: DigestView, S: Fn(&PartitionId) -> bool> {
    view: &'v V,
    in_scope: S,
    limits: Limits,
    state: State,
    rounds: u32,
    outcome: Outcome,
}

type Result<T, V> = std::result::Result<T, SyncError<<V as DigestView>::Error>>;

fn protocol<E: std::error::Error>(what: impl Into<String>) -> SyncError<E> {
    SyncError::Protocol(what.into())
}

impl<'v, V: DigestView, S: Fn(&PartitionId) -> bool> Reconciler<'v, V, S> {
    /// A reconciler reading `view`, comparing the partitions `in_scope` accepts.
    pub fn new(view: &'v V, in_scope: S, limits: Limits) -> Self {
        Reconciler {
            view,
            in_scope,
            limits,
            state: State::Ready,
            rounds: 0,
            outcome: Outcome::default(),
        }
    }

    /// Whether the reconciliation is over.
    pub fn is_finished(&self) -> bool {
        self.state == State::Finished
    }

    /// What this side must send, fetch, and report.
    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    /// Rounds received so far.
    pub fn rounds(&self) -> u32 {
        self.rounds
    }

    /// The initiator's first message.
    pub fn start(&mut self) -> Result<Message, V> {
        if self.state != State::Ready {
            return Err(protocol("start called twice"));
        }
        self.state = State::Waiting;
        Ok(Message::Hello {
            version: PROTOCOL_VERSION,
            summary: RootSummary::of(&self.scope_total()?),
        })
    }

    /// Handles the peer's message; returns the reply, or `None` when the
    /// reconciliation is over and nothing is to be sent.
    pub fn receive(&mut self, msg: Message) -> Result<Option<Message>, V> {
        if self.state == State::Finished {
            return Err(protocol("message after the end of the reconciliation"));
        }
        self.rounds += 1;
        if self.rounds > self.limits.max_rounds {
            return Err(protocol(format!(
                "more than {} rounds",
                self.limits.max_rounds
            )));
        }
        let reply = match msg {
            Message::Hello { version, summary } => {
                if self.state != State::Ready {
                    return Err(protocol("hello in the middle of a reconciliation"));
                }
                if version != PROTOCOL_VERSION {
                    return Err(SyncError::Version(version));
                }
                if RootSummary::of(&self.scope_total()?) == summary {
                    Vec::new()
                } else {
                    vec![Part::Roots(self.roots()?)]
                }
            }
            Message::Round(parts) => {
                if parts.is_empty() {
                    self.state = State::Finished;
                    return Ok(None);
                }
                if parts.len() > self.limits.max_parts {
                    return Err(protocol(format!("{} parts in one round", parts.len())));
                }
                let mut reply = Vec::new();
                for part in parts {
                    self.handle(part, &mut reply)?;
                }
                reply
            }
        };
        self.state = if reply.is_empty() {
            State::Finished
        } else {
            State::Waiting
        };
        Ok(Some(Message::Round(reply)))
    }

    fn scope_total(&self) -> Result<Cell, V> {
        let mut total = Cell::EMPTY;
        for (p, cell) in self.view.partitions().map_err(SyncError::View)? {
            if (self.in_scope)(&p) {
                total.add(&cell);
            }
        }
        Ok(total)
    }

    fn roots(&self) -> Result<Vec<PartitionRoot>, V> {
        Ok(self
            .view
            .partitions()
            .map_err(SyncError::View)?
            .into_iter()
            .filter(|(p, c)| (self.in_scope)(p) && !c.is_empty())
            .map(|(partition, cell)| PartitionRoot {
                partition,
                cell: WireCell::of(&cell),
            })
            .collect())
    }

    fn handle(&mut self, part: Part, reply: &mut Vec<Part>) -> Result<(), V> {
        match part {
            Part::Roots(theirs) => {
                if theirs.len() > self.limits.max_parts {
                    return Err(protocol(format!("{} partition roots", theirs.len())));
                }
                let mut all: BTreeMap<PartitionId, (Cell, Cell)> = BTreeMap::new();
                for (p, cell) in self.view.partitions().map_err(SyncError::View)? {
                    if (self.in_scope)(&p) {
                        all.entry(p).or_default().0 = cell;
                    }
                }
                for root in theirs {
                    self.check_scope(&root.partition)?;
                    all.entry(root.partition).or_default().1 = wire_cell(&root.cell)?;
                }
                for (p, (mine, theirs)) in all {
                    self.compare(p, NodePath::ROOT, &mine, &theirs, reply)?;
                }
            }
            Part::Children {
                partition,
                path,
                cells,
            } => {
                self.check_scope(&partition)?;
                check_path(path)?;
                if cells.len() != FANOUT || path.level() >= MAX_LEVEL {
                    return Err(protocol(format!(
                        "children of {path}: {} cells",
                        cells.len()
                    )));
                }
                let mine = self
                    .view
                    .children(&partition, path)
                    .map_err(SyncError::View)?;
                for (i, (m, t)) in mine.iter().zip(&cells).enumerate() {
                    let child = path
                        .child(i)
                        .ok_or_else(|| protocol("child beyond the deepest level"))?;
                    self.compare(partition, child, m, &wire_cell(t)?, reply)?;
                }
            }
            Part::Items {
                partition,
                path,
                items,
            } => {
                self.check_scope(&partition)?;
                check_path(path)?;
                self.check_items(&items)?;
                if items.iter().any(|it| !path.contains(&it.id)) {
                    return Err(protocol(format!("listed item outside node {path}")));
                }
                let mine = self.view.items(&partition, path).map_err(SyncError::View)?;
                self.decide(partition, &mine, &items);
            }
            Part::Fragment {
                partition,
                fragment,
                items,
            } => {
                self.check_scope(&partition)?;
                self.check_items(&items)?;
                if fragment.0 >= FIELD_PRIME || items.iter().any(|it| !fragment.matches(&it.id)) {
                    return Err(protocol("fragment listing with a foreign item"));
                }
                let mine = self
                    .view
                    .items_with_fragment(&partition, fragment)
                    .map_err(SyncError::View)?;
                self.decide(partition, &mine, &items);
            }
        }
        Ok(())
    }

    /// Compares one node's cells and adds what resolves or refines the difference.
    fn compare(
        &mut self,
        p: PartitionId,
        path: NodePath,
        mine: &Cell,
        theirs: &Cell,
        reply: &mut Vec<Part>,
    ) -> Result<(), V> {
        if same_sums(mine, theirs) {
            return Ok(());
        }
        let mut delta = *mine;
        delta.sub(theirs);
        if let Some(decoded) = delta.decode() {
            let items = self
                .view
                .items_with_fragment(&p, decoded.fragment)
                .map_err(SyncError::View)?;
            reply.push(Part::Fragment {
                partition: p,
                fragment: decoded.fragment,
                items: items.iter().map(WireItem::of).collect(),
            });
        } else if (mine.signed_count() <= self.limits.list_threshold
            && theirs.signed_count() <= self.limits.list_threshold)
            || path.level() + 1 >= MAX_LEVEL
        {
            let items = self.view.items(&p, path).map_err(SyncError::View)?;
            reply.push(Part::Items {
                partition: p,
                path,
                items: items.iter().map(WireItem::of).collect(),
            });
        } else {
            let cells = self.view.children(&p, path).map_err(SyncError::View)?;
            reply.push(Part::Children {
                partition: p,
                path,
                cells: cells.iter().map(WireCell::of).collect(),
            });
        }
        Ok(())
    }

    /// Both sides' items of one subtree or fragment are known: decide per record.
    fn decide(&mut self, p: PartitionId, mine: &[DigestItem], theirs: &[WireItem]) {
        let mut by_id: BTreeMap<RecordId, (Option<WireItem>, Option<WireItem>)> = BTreeMap::new();
        for it in mine {
            by_id.entry(it.id).or_default().0 = Some(WireItem::of(it));
        }
        for it in theirs {
            by_id.entry(it.id).or_default().1 = Some(*it);
        }
        for (id, pair) in by_id {
            match pair {
                (Some(_), None) => {
                    self.outcome.send.insert((p, id));
                }
                (None, Some(_)) => {
                    self.outcome.fetch.insert((p, id));
                }
                (Some(m), Some(t)) if m.version > t.version => {
                    self.outcome.send.insert((p, id));
                }
                (Some(m), Some(t)) if m.version < t.version => {
                    self.outcome.fetch.insert((p, id));
                }
                (Some(m), Some(t)) if m.digest != t.digest => {
                    self.outcome.conflicts.insert((p, id));
                }
                _ => {}
            }
        }
    }

    fn check_scope(&self, p: &PartitionId) -> Result<(), V> {
        if (self.in_scope)(p) {
            Ok(())
        } else {
            Err(protocol(format!(
                "partition {p} is outside this link's scope"
            )))
        }
    }

    fn check_items(&self, items: &[WireItem]) -> Result<(), V> {
        if items.len() > self.limits.max_items {
            return Err(protocol(format!("{} items in one listing", items.len())));
        }
        Ok(())
    }
}

fn check_path<E: std::error::Error>(path: NodePath) -> std::result::Result<(), SyncError<E>> {
    NodePath::new(path.level(), path.prefix())
        .map(|_| ())
        .ok_or_else(|| protocol(format!("invalid node {path:?}")))
}

fn wire_cell<E: std::error::Error>(cell: &WireCell) -> std::result::Result<Cell, SyncError<E>> {
    cell.to_cell()
        .ok_or_else(|| protocol("cell sums outside the field"))
}

fn same_sums(a: &Cell, b: &Cell) -> bool {
    a.count == b.count && a.s1 == b.s1 && a.s2 == b.s2 && a.s4 == b.s4
}
