//! A simulated node: its jurisdiction, subscriptions and an in-memory store whose
//! digest index has the same partitions as a real node's.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::convert::Infallible;

use crate::codec::{self, EncodedRecord};
use crate::digest::{Cell, DigestItem, NodePath, PartitionId, Scope, FANOUT};
use crate::ids::DivisionCode;
use crate::link::LinkScope;
use crate::record::{Record, RecordBody, RecordId, RecordKey, RecordKind, Version};
use crate::session::{Receipt, RecordSource};
use crate::sync::{DigestView, MemIndex};

use super::Bug;

/// What became of one record version a node was asked to store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Applied {
    /// Stored, replacing `old` (if any).
    Stored {
        /// The version held before.
        old: Option<Version>,
    },
    /// The same version with the same digest was held already.
    Unchanged,
    /// Refused: a newer version is held.
    Stale,
    /// Refused: the same version is held with another digest.
    Conflict,
    /// Refused: the bytes do not carry the digest of their content.
    Invalid,
}

/// One node of the simulated federation.
#[derive(Debug, Clone)]
pub(crate) struct SimNode {
    /// A short name for reports (`suzhou`).
    pub name: &'static str,
    /// The node's jurisdiction (its origin code for the records it writes).
    pub jurisdiction: DivisionCode,
    /// The kinds it subscribes to (what it takes from above whatever the origin).
    pub subscriptions: Vec<RecordKind>,
    /// The index of its parent node, `None` for the national hub.
    pub parent: Option<usize>,
    /// Whether the node is running (a crashed node takes no sessions and no writes).
    pub up: bool,
    records: BTreeMap<RecordKey, EncodedRecord>,
    /// Members of subjects partitions, by partition and id (the store's `regional` family).
    members: BTreeMap<(PartitionId, RecordId), RecordKey>,
    index: MemIndex,
    bug: Option<Bug>,
    /// What became of each received version since the last look
    /// ([`NodeCell::take_receipts`]): key, version, outcome.
    receipts: Vec<(RecordKey, Version, Applied)>,
}

impl SimNode {
    /// An empty node.
    pub(crate) fn new(
        name: &'static str,
        jurisdiction: DivisionCode,
        subscriptions: Vec<RecordKind>,
        parent: Option<usize>,
        bug: Option<Bug>,
    ) -> SimNode {
        SimNode {
            name,
            jurisdiction,
            subscriptions,
            parent,
            up: true,
            records: BTreeMap::new(),
            members: BTreeMap::new(),
            index: MemIndex::new(),
            bug,
            receipts: Vec::new(),
        }
    }

    /// The scope of the link from this node to its parent.
    pub(crate) fn uplink_scope(&self) -> LinkScope {
        LinkScope::new(self.jurisdiction, self.subscriptions.iter().copied())
    }

    /// Every record held, with its encoded version.
    pub(crate) fn records(&self) -> &BTreeMap<RecordKey, EncodedRecord> {
        &self.records
    }

    /// The encoded version held of a record.
    pub(crate) fn get(&self, key: &RecordKey) -> Option<&EncodedRecord> {
        self.records.get(key)
    }

    /// The key of the record a partition's member id names, if held (`Store::member_key`).
    pub(crate) fn member_key(&self, p: &PartitionId, id: &RecordId) -> Option<RecordKey> {
        match p.scope {
            Scope::Origin(origin) => Some(RecordKey {
                origin,
                kind: p.kind,
                id: *id,
            }),
            Scope::Subjects(_) => self.members.get(&(*p, *id)).copied(),
        }
    }

    /// Up to `limit` keys of a subtree, in id order, after `after` (`Store::member_page`).
    pub(crate) fn member_page(
        &self,
        p: &PartitionId,
        path: NodePath,
        after: Option<RecordId>,
        limit: usize,
    ) -> Vec<RecordKey> {
        let items = DigestView::items(&self.index, p, path).unwrap_or_else(|e| match e {});
        items
            .into_iter()
            .filter(|it| after.is_none_or(|a| it.id > a))
            .filter_map(|it| self.member_key(p, &it.id))
            .take(limit)
            .collect()
    }

    /// Writes a version of a record this node originates, numbered after the one held.
    /// Returns the stored version and the version it replaced.
    pub(crate) fn write_local(
        &mut self,
        key: RecordKey,
        body: Option<RecordBody>,
        now_millis: u64,
    ) -> (EncodedRecord, Option<Version>) {
        let held = self.records.get(&key).map(|r| r.header().version);
        let version = Version::next(held, now_millis);
        let encoded = EncodedRecord::encode(&Record { key, version, body });
        self.put(encoded.clone());
        (encoded, held)
    }

    /// Stores a version received from a peer under the store's rules (authorisation is
    /// the caller's job): the bytes must decode with the digest of their content and
    /// the key of their natural key, a stale version or an equal version with other
    /// content is refused, an equal one is unchanged.
    pub(crate) fn apply_remote(&mut self, record: &EncodedRecord) -> Applied {
        let Ok(header) = codec::read_header(&record.bytes) else {
            return Applied::Invalid;
        };
        if codec::check_received(record).is_err() {
            return Applied::Invalid;
        }
        let old = self.records.get(&record.key).map(|r| r.header());
        if let Some(o) = old {
            if o.version > header.version && self.bug != Some(Bug::AcceptStale) {
                return Applied::Stale;
            }
            if o.version == header.version {
                return if o.digest == header.digest {
                    Applied::Unchanged
                } else {
                    Applied::Conflict
                };
            }
        }
        self.put(record.clone());
        Applied::Stored {
            old: old.map(|o| o.version),
        }
    }

    /// Stores a version in the records and in both partition families, replacing the
    /// version held (as the store's write batch does).
    fn put(&mut self, record: EncodedRecord) {
        let key = record.key;
        let item = record.item();
        self.index.put(key.partition(), item);
        if let Some(about) = key.subjects_partition() {
            if self.bug != Some(Bug::SkipSubjectsIndex) {
                self.index.put(about, item);
                self.members.insert((about, key.id), key);
            }
        }
        self.records.insert(key, record);
    }

    /// Whether the digest index is exactly the one the records give: every
    /// partition's root equals the sum of its members' cells (no lag, no drift).
    pub(crate) fn index_is_consistent(&self) -> bool {
        let mut roots: BTreeMap<PartitionId, Cell> = BTreeMap::new();
        for (key, r) in &self.records {
            let cell = Cell::of(&r.item());
            roots.entry(key.partition()).or_default().add(&cell);
            if let Some(about) = key.subjects_partition() {
                if self.bug != Some(Bug::SkipSubjectsIndex) {
                    roots.entry(about).or_default().add(&cell);
                }
            }
        }
        let held = self.index.partitions().unwrap_or_else(|e| match e {});
        held.len() == roots.len()
            && held.iter().all(|(p, c)| roots.get(p) == Some(c))
            && self.index.len() == self.records.len() + self.members.len()
    }
}

/// A node shared between the scheduler (which writes to it) and the sessions whose
/// reconcilers read it between messages, as a real store is read live.
#[derive(Debug)]
pub(crate) struct NodeCell(pub RefCell<SimNode>);

impl NodeCell {
    /// What became of each version received since the last call.
    pub(crate) fn take_receipts(&self) -> Vec<(RecordKey, Version, Applied)> {
        std::mem::take(&mut self.0.borrow_mut().receipts)
    }

    /// Whether the index hides this partition from reconciliation
    /// ([`Bug::ForgetSubjectsScope`]).
    fn hides(&self, p: &PartitionId) -> bool {
        self.0.borrow().bug == Some(Bug::ForgetSubjectsScope)
            && matches!(p.scope, Scope::Subjects(_))
    }
}

/// The reconciliation's view of the node: its index, live. Under
/// [`Bug::ForgetSubjectsScope`] every subjects partition looks empty, so records about
/// a node's subjects issued elsewhere never come down unless subscribed.
impl DigestView for NodeCell {
    type Error = Infallible;

    fn partitions(&self) -> Result<Vec<(PartitionId, Cell)>, Infallible> {
        let all = self.0.borrow().index.partitions()?;
        Ok(all.into_iter().filter(|(p, _)| !self.hides(p)).collect())
    }

    fn root(&self, p: &PartitionId) -> Result<Cell, Infallible> {
        if self.hides(p) {
            return Ok(Cell::default());
        }
        self.0.borrow().index.root(p)
    }

    fn cell(&self, p: &PartitionId, path: NodePath) -> Result<Cell, Infallible> {
        if self.hides(p) {
            return Ok(Cell::default());
        }
        DigestView::cell(&self.0.borrow().index, p, path)
    }

    fn children(&self, p: &PartitionId, path: NodePath) -> Result<[Cell; FANOUT], Infallible> {
        if self.hides(p) {
            return Ok([Cell::default(); FANOUT]);
        }
        self.0.borrow().index.children(p, path)
    }

    fn items(&self, p: &PartitionId, path: NodePath) -> Result<Vec<DigestItem>, Infallible> {
        if self.hides(p) {
            return Ok(Vec::new());
        }
        DigestView::items(&self.0.borrow().index, p, path)
    }
}

/// The session's view of the node's records: the shipped
/// [`Session`](crate::session::Session) reads and writes it as it does a real store.
impl RecordSource for NodeCell {
    fn member_key(&self, p: &PartitionId, id: &RecordId) -> Result<Option<RecordKey>, Infallible> {
        Ok(self.0.borrow().member_key(p, id))
    }

    fn member_page(
        &self,
        p: &PartitionId,
        path: NodePath,
        after: Option<&RecordId>,
        limit: usize,
    ) -> Result<Vec<RecordKey>, Infallible> {
        Ok(self.0.borrow().member_page(p, path, after.copied(), limit))
    }

    fn get_encoded(&self, key: &RecordKey) -> Result<Option<EncodedRecord>, Infallible> {
        Ok(self.0.borrow().get(key).cloned())
    }

    fn apply(&self, records: Vec<EncodedRecord>) -> Result<Vec<Receipt>, Infallible> {
        let mut node = self.0.borrow_mut();
        let mut out = Vec::with_capacity(records.len());
        for r in &records {
            let applied = node.apply_remote(r);
            let version = r.header().version;
            node.receipts.push((r.key, version, applied));
            out.push(match applied {
                Applied::Stored { .. } => Receipt::Applied,
                Applied::Unchanged => Receipt::Unchanged,
                Applied::Stale => Receipt::Stale {
                    held: node.get(&r.key).map_or(version, |h| h.header().version),
                },
                Applied::Conflict => Receipt::Conflict,
                Applied::Invalid => Receipt::Invalid("does not decode to its key".into()),
            });
        }
        Ok(out)
    }
}
