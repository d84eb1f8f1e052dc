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
use crate::sync::{DigestView, MemIndex};

use super::Bug;

/// What became of one record version a node was asked to store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
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
pub struct SimNode {
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
}

impl SimNode {
    /// An empty node.
    pub fn new(
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
        }
    }

    /// The scope of the link from this node to its parent.
    pub fn uplink_scope(&self) -> LinkScope {
        LinkScope::new(self.jurisdiction, self.subscriptions.iter().copied())
    }

    /// Every record held, with its encoded version.
    pub fn records(&self) -> &BTreeMap<RecordKey, EncodedRecord> {
        &self.records
    }

    /// The encoded version held of a record.
    pub fn get(&self, key: &RecordKey) -> Option<&EncodedRecord> {
        self.records.get(key)
    }

    /// The key of the record a partition's member id names, if held (`Store::member_key`).
    pub fn member_key(&self, p: &PartitionId, id: &RecordId) -> Option<RecordKey> {
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
    pub fn member_page(
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
    pub fn write_local(
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
    /// the caller's job): the digest must match the content, a stale version or an
    /// equal version with other content is refused, an equal one is unchanged.
    pub fn apply_remote(&mut self, record: &EncodedRecord) -> Applied {
        let Ok(header) = codec::read_header(&record.bytes) else {
            return Applied::Invalid;
        };
        if codec::digest_of(&record.key, header.version, record.body()) != header.digest {
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
    pub fn index_is_consistent(&self) -> bool {
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
pub struct NodeCell(pub RefCell<SimNode>);

impl DigestView for NodeCell {
    type Error = Infallible;

    fn partitions(&self) -> Result<Vec<(PartitionId, Cell)>, Infallible> {
        self.0.borrow().index.partitions()
    }

    fn root(&self, p: &PartitionId) -> Result<Cell, Infallible> {
        self.0.borrow().index.root(p)
    }

    fn cell(&self, p: &PartitionId, path: NodePath) -> Result<Cell, Infallible> {
        DigestView::cell(&self.0.borrow().index, p, path)
    }

    fn children(&self, p: &PartitionId, path: NodePath) -> Result<[Cell; FANOUT], Infallible> {
        self.0.borrow().index.children(p, path)
    }

    fn items(&self, p: &PartitionId, path: NodePath) -> Result<Vec<DigestItem>, Infallible> {
        DigestView::items(&self.0.borrow().index, p, path)
    }
}
