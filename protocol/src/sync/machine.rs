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
use crate::digest::{
    Cell, DigestItem, Fragment, NodePath, PartitionId, FANOUT, FIELD_PRIME, MAX_LEVEL,
};
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
    /// Subtrees this side holds and the peer holds nothing of: send everything below
    /// them (in key order, so that an interrupted transfer resumes where it stopped:
    /// the next reconciliation finds the finished part equal).
    pub send_ranges: BTreeSet<(PartitionId, NodePath)>,
    /// Subtrees the peer holds and this side holds nothing of: fetch everything below.
    pub fetch_ranges: BTreeSet<(PartitionId, NodePath)>,
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
    /// Partitions with at least this many items on either side are compared through
    /// an estimate and a sketch rather than by descending from the root.
    pub sketch_from: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            list_threshold: 6,
            max_parts: 200_000,
            max_items: 4_096,
            max_rounds: 48,
            sketch_from: 4096,
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
    salt: u64,
    /// Partitions the current message carries a peer estimate for.
    peer_estimates: BTreeSet<PartitionId>,
    /// Partitions whose roots were found to differ while answering the current message.
    differing_roots: BTreeSet<PartitionId>,
    /// Whether the current message carries roots (its estimates are then eager ones,
    /// to be used only for partitions whose roots differ).
    eager: bool,
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
            salt: 0,
            peer_estimates: BTreeSet::new(),
            differing_roots: BTreeSet::new(),
            eager: false,
            state: State::Ready,
            rounds: 0,
            outcome: Outcome::default(),
        }
    }

    /// Sets the salt the initiator sends in its hello (the I/O shell passes a random
    /// one; a responder takes the initiator's).
    pub fn with_salt(mut self, salt: u64) -> Self {
        self.salt = salt;
        self
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
            salt: self.salt,
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
            Message::Hello {
                version,
                summary,
                salt,
            } => {
                self.salt = salt;
                if self.state != State::Ready {
                    return Err(protocol("hello in the middle of a reconciliation"));
                }
                if version != PROTOCOL_VERSION {
                    return Err(SyncError::Version(version));
                }
                if RootSummary::of(&self.scope_total()?) == summary {
                    Vec::new()
                } else {
                    // Roots, and at once the estimates of large partitions, which
                    // saves a round trip whenever one of them differs.
                    let roots = self.roots()?;
                    let large: Vec<PartitionId> = roots
                        .iter()
                        .filter(|r| r.cell.count >= self.limits.sketch_from)
                        .map(|r| r.partition)
                        .collect();
                    let mut parts = vec![Part::Roots(roots)];
                    if large.len() <= EAGER_ESTIMATES {
                        for p in large {
                            parts.push(self.estimate_part(p, 2)?);
                        }
                    }
                    parts
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
                refuse_repeated_parts(&parts)?;
                // Partitions the peer sent an estimate for are settled through it.
                self.differing_roots.clear();
                self.eager = parts.iter().any(|part| matches!(part, Part::Roots(_)));
                self.peer_estimates = parts
                    .iter()
                    .filter_map(|part| match part {
                        Part::Estimate { partition, .. } => Some(*partition),
                        _ => None,
                    })
                    .collect();
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
            Part::Estimate {
                partition,
                level,
                fingerprints,
            } => {
                self.check_scope(&partition)?;
                self.on_estimate(partition, level, &fingerprints, reply)?;
            }
            Part::Sketch {
                partition,
                level,
                subtrees,
                symbols,
            } => {
                self.check_scope(&partition)?;
                self.on_sketch(partition, level, &subtrees, &symbols, reply)?;
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
                let held = self.view.cell(&partition, path).map_err(SyncError::View)?;
                if held.signed_count() > self.limits.max_items as i64 {
                    return Err(protocol(format!(
                        "listing asked for {path}, which holds {} items",
                        held.signed_count()
                    )));
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
        // One side holds nothing here: the whole subtree moves, without listing it.
        match (mine.signed_count(), theirs.signed_count()) {
            (0, _) if theirs.s1 != 0 || theirs.count != 0 => {
                self.outcome.fetch_ranges.insert((p, path));
                return Ok(());
            }
            (_, 0) if mine.s1 != 0 || mine.count != 0 => {
                self.outcome.send_ranges.insert((p, path));
                return Ok(());
            }
            _ => {}
        }
        let (m, t) = (mine.signed_count(), theirs.signed_count());
        // Counts far apart (a bulk load, or an interrupted one) say many records
        // differ: descend, where whole missing subtrees become ranges. (Wide: the
        // peer's count is whatever it sent, up to ±2^63.)
        let lopsided = (i128::from(m) - i128::from(t)).abs() * 4 >= i128::from(m.max(t));
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
        } else if path == NodePath::ROOT
            && !lopsided
            && mine.signed_count().max(theirs.signed_count()) >= self.limits.sketch_from
        {
            if self.peer_estimates.contains(&p) {
                self.differing_roots.insert(p);
            } else {
                reply.push(self.estimate_part(p, 2)?);
            }
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

    /// The nodes at `level` below `top` with their cells, in prefix order, empty
    /// subtrees included as empty cells without reading them.
    fn expand(
        &self,
        p: &PartitionId,
        top: NodePath,
        top_cell: Cell,
        level: u8,
    ) -> Result<Vec<(NodePath, Cell)>, V> {
        let depth = u32::from(level.saturating_sub(top.level()));
        if depth == 0 {
            return Ok(vec![(top, top_cell)]);
        }
        let count = 1usize << (4 * depth);
        let cells = if top_cell.is_empty() {
            vec![Cell::EMPTY; count]
        } else {
            self.view
                .descendants(p, top, level)
                .map_err(SyncError::View)?
        };
        if cells.len() != count {
            return Err(protocol(format!(
                "the index gave {} cells at level {level} below {top}, not {count}",
                cells.len()
            )));
        }
        let first = top.prefix() << (4 * depth);
        cells
            .into_iter()
            .enumerate()
            .map(|(i, c)| {
                NodePath::new(level, first + i as u64)
                    .map(|n| (n, c))
                    .ok_or_else(|| protocol("trie too shallow"))
            })
            .collect()
    }

    /// The level-4 buckets (non-empty) below the listed subtrees at `level`.
    fn buckets(
        &self,
        p: &PartitionId,
        level: u8,
        subtrees: &[u16],
    ) -> Result<Vec<(NodePath, Cell)>, V> {
        let mut out = Vec::new();
        for &s in subtrees {
            let node = NodePath::new(level, u64::from(s))
                .ok_or_else(|| protocol("subtree outside the trie"))?;
            if level == BUCKET_LEVEL {
                let cell = self.view.cell(p, node).map_err(SyncError::View)?;
                if !cell.is_empty() {
                    out.push((node, cell));
                }
                continue;
            }
            // The subtree's own cell is not needed: expanding reads its children.
            let marker = Cell {
                count: 1,
                ..Cell::EMPTY
            };
            out.extend(
                self.expand(p, node, marker, BUCKET_LEVEL)?
                    .into_iter()
                    .filter(|(_, c)| !c.is_empty()),
            );
        }
        Ok(out)
    }

    fn estimate_part(&self, p: PartitionId, level: u8) -> Result<Part, V> {
        let root = self.view.root(&p).map_err(SyncError::View)?;
        let cells = self.expand(&p, NodePath::ROOT, root, level)?;
        Ok(Part::Estimate {
            partition: p,
            level,
            fingerprints: cells.iter().map(|(_, c)| short_fp(c, self.salt)).collect(),
        })
    }

    /// On an estimate: size and send a sketch of the differing subtrees; when nearly
    /// everything differs at level 2 ask again at level 3, and past that descend.
    fn on_estimate(
        &mut self,
        p: PartitionId,
        level: u8,
        theirs: &[[u8; 4]],
        reply: &mut Vec<Part>,
    ) -> Result<(), V> {
        if !(2..=BUCKET_LEVEL).contains(&level) || theirs.len() != 1 << (4 * level) {
            return Err(protocol(format!(
                "estimate of {} cells at level {level}",
                theirs.len()
            )));
        }
        // An eager estimate (sent with the roots) of a partition whose roots agree.
        if self.eager && self.peer_estimates.contains(&p) && !self.differing_roots.contains(&p) {
            return Ok(());
        }
        let root = self.view.root(&p).map_err(SyncError::View)?;
        let mine = self.expand(&p, NodePath::ROOT, root, level)?;
        let differing: Vec<u16> = mine
            .iter()
            .zip(theirs)
            .filter(|((_, m), t)| short_fp(m, self.salt) != **t)
            .map(|((node, _), _)| node.prefix() as u16)
            .collect();
        let slots = theirs.len() as f64;
        let n = differing.len() as f64;
        if differing.is_empty() || (n > 0.94 * slots && level == BUCKET_LEVEL) {
            let cells = self
                .view
                .children(&p, NodePath::ROOT)
                .map_err(SyncError::View)?;
            reply.push(Part::Children {
                partition: p,
                path: NodePath::ROOT,
                cells: cells.iter().map(WireCell::of).collect(),
            });
            return Ok(());
        }
        if n > 0.94 * slots {
            // Nearly every subtree differs: look again one level finer.
            reply.push(self.estimate_part(p, level + 1)?);
            return Ok(());
        }
        // Differences land in the subtrees at random: invert the expected number of
        // subtrees that hold one, then leave a margin.
        let estimate = -slots * (1.0 - n / (slots + 0.5)).ln();
        let m = super::sketch::sketch_size((estimate * 1.45).ceil() as usize + 9);
        let buckets = self.buckets(&p, level, &differing)?;
        reply.push(Part::Sketch {
            partition: p,
            level,
            subtrees: differing,
            symbols: super::sketch::encode(&buckets, m, self.salt),
        });
        Ok(())
    }

    /// On a sketch: recover the differing buckets and resolve or refine each.
    fn on_sketch(
        &mut self,
        p: PartitionId,
        level: u8,
        subtrees: &[u16],
        symbols: &[super::sketch::Symbol],
        reply: &mut Vec<Part>,
    ) -> Result<(), V> {
        if !(2..=BUCKET_LEVEL).contains(&level)
            || symbols.len() > self.limits.max_parts
            || subtrees.len() > 1 << (4 * level)
        {
            return Err(protocol(format!(
                "sketch of {} symbols at level {level}",
                symbols.len()
            )));
        }
        let buckets = self.buckets(&p, level, subtrees)?;
        let listed: BTreeSet<u16> = subtrees.iter().copied().collect();
        let shift = 4 * u32::from(BUCKET_LEVEL - level);
        let accept = |b: u64| b < 1 << 16 && listed.contains(&((b >> shift) as u16));
        let peeled = super::sketch::decode(&buckets, symbols, self.salt, accept)
            .ok_or_else(|| protocol("malformed sketch"))?;
        if !peeled.complete {
            // The sketch was too small: descend the listed subtrees instead.
            for &s in subtrees {
                let node = NodePath::new(level, u64::from(s))
                    .ok_or_else(|| protocol("subtree outside the trie"))?;
                let cells = self.view.children(&p, node).map_err(SyncError::View)?;
                reply.push(Part::Children {
                    partition: p,
                    path: node,
                    cells: cells.iter().map(WireCell::of).collect(),
                });
            }
            return Ok(());
        }
        for (b, delta) in peeled.buckets {
            let node = NodePath::new(BUCKET_LEVEL, b)
                .ok_or_else(|| protocol("bucket outside the trie"))?;
            match delta.decode() {
                Some(d) if d.count == 1 => {
                    // Only this side holds the record: send it.
                    for it in self
                        .view
                        .items_with_fragment(&p, d.fragment)
                        .map_err(SyncError::View)?
                    {
                        self.outcome.send.insert((p, it.id));
                    }
                }
                Some(d) => {
                    let items = self
                        .view
                        .items_with_fragment(&p, d.fragment)
                        .map_err(SyncError::View)?;
                    reply.push(Part::Fragment {
                        partition: p,
                        fragment: d.fragment,
                        items: items.iter().map(WireItem::of).collect(),
                    });
                }
                None => {
                    // Several records differ in this bucket: list a small one (the
                    // peer then decides at once), descend into a large one.
                    let held = self.view.cell(&p, node).map_err(SyncError::View)?;
                    if held.signed_count() <= LIST_BUCKET {
                        let items = self.view.items(&p, node).map_err(SyncError::View)?;
                        reply.push(Part::Items {
                            partition: p,
                            path: node,
                            items: items.iter().map(WireItem::of).collect(),
                        });
                    } else {
                        let cells = self.view.children(&p, node).map_err(SyncError::View)?;
                        reply.push(Part::Children {
                            partition: p,
                            path: node,
                            cells: cells.iter().map(WireCell::of).collect(),
                        });
                    }
                }
            }
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

/// What a part answers or asks about: one message never needs two parts about the
/// same thing.
#[derive(PartialEq, Eq, Hash)]
enum PartSubject {
    Roots,
    Children(PartitionId, NodePath),
    Items(PartitionId, NodePath),
    Estimate(PartitionId, u8),
    Sketch(PartitionId, u8),
    Fragment(PartitionId, Fragment),
}

impl PartSubject {
    fn of(part: &Part) -> PartSubject {
        match part {
            Part::Roots(_) => PartSubject::Roots,
            Part::Children {
                partition, path, ..
            } => PartSubject::Children(*partition, *path),
            Part::Items {
                partition, path, ..
            } => PartSubject::Items(*partition, *path),
            Part::Estimate {
                partition, level, ..
            } => PartSubject::Estimate(*partition, *level),
            Part::Sketch {
                partition, level, ..
            } => PartSubject::Sketch(*partition, *level),
            Part::Fragment {
                partition,
                fragment,
                ..
            } => PartSubject::Fragment(*partition, *fragment),
        }
    }

    fn describe(&self) -> String {
        match self {
            PartSubject::Roots => "roots".into(),
            PartSubject::Children(_, path) => format!("children of {path}"),
            PartSubject::Items(_, path) => format!("listing of {path}"),
            PartSubject::Estimate(_, level) => format!("level-{level} estimate"),
            PartSubject::Sketch(_, level) => format!("level-{level} sketch"),
            PartSubject::Fragment(..) => "fragment listing".into(),
        }
    }
}

/// Refuses a message that repeats a part: an honest peer says each thing once, and
/// each repeat would make this side read (and answer) the same cells again, so
/// repeats are how one small message could ask for a great deal of work.
fn refuse_repeated_parts<E: std::error::Error>(
    parts: &[Part],
) -> std::result::Result<(), SyncError<E>> {
    let mut seen = std::collections::HashSet::with_capacity(parts.len());
    for part in parts {
        if let Some(repeated) = seen.replace(PartSubject::of(part)) {
            return Err(protocol(format!(
                "{} sent twice in one message",
                repeated.describe()
            )));
        }
    }
    Ok(())
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

/// Estimates sent with the roots when at most this many large partitions are in scope
/// (each costs 1 KiB).
const EAGER_ESTIMATES: usize = 32;

/// A recovered bucket with several differing records is listed whole when it holds
/// at most this many items.
const LIST_BUCKET: i64 = 48;

/// The trie level whose cells a sketch codes.
const BUCKET_LEVEL: u8 = 4;

/// A salted 32-bit fingerprint of a cell's count and sums.
fn short_fp(cell: &Cell, salt: u64) -> [u8; 4] {
    let mut z = cell.s1
        ^ cell.s2.rotate_left(21)
        ^ cell.s4.rotate_left(42)
        ^ cell.count.wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ salt;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z as u32).to_le_bytes()
}
