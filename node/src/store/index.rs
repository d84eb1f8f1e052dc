//! Queries of the digest (Merkle) index: roots, the cells of any trie node and its
//! children, and the items below a small subtree.
//!
//! Levels 0, 2 and 4 of each partition's 16-ary trie are stored (so a write touches
//! three nodes plus the store-wide cell); level 1 and 3 cells are the sums of 16
//! stored cells one level down, and cells below level 4 are computed from the records
//! of that (small) range. A level-4 node of a partition of N records covers about
//! N / 65 536 of them.

use credithub_protocol::codec;
use credithub_protocol::digest::{Cell, DigestItem, NodePath, PartitionId, Scope, FANOUT};
use credithub_protocol::record::{RecordId, RecordKey};
use rocksdb::{Direction, IteratorMode, ReadOptions};

use super::keys;
use super::{Result, Store};

/// Trie levels whose cells are stored (the root is stored under its own key).
pub const STORED_LEVELS: [u8; 3] = [0, 2, 4];
/// The deepest stored level.
pub const LEAF_LEVEL: u8 = 4;

/// A digest-index request the store cannot answer as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IndexError {
    /// The subtree holds more items than the caller's limit.
    #[error("subtree {path} of {partition} holds more than {limit} items; ask for its children")]
    TooLarge {
        /// The partition.
        partition: PartitionId,
        /// The subtree.
        path: NodePath,
        /// The caller's limit.
        limit: usize,
    },
    /// The node has no children (it is at the deepest level).
    #[error("node {0} is at the deepest level and has no children")]
    NoChildren(NodePath),
}

impl Store {
    fn read_cell(&self, key: &[u8]) -> Result<Cell> {
        let cf = self.cf(keys::CF_DIGEST);
        match self.db.get_pinned_cf(cf, key).map_err(|e| self.db_err(e))? {
            None => Ok(Cell::EMPTY),
            Some(v) => Cell::from_bytes(&v)
                .ok_or_else(|| self.corrupt("digest cell", format!("key {}", hex::encode(key)))),
        }
    }

    /// The cell summarising the whole store (every partition).
    pub fn store_root(&self) -> Result<Cell> {
        self.read_cell(keys::STORE_ROOT_KEY)
    }

    /// The root cell of one partition (empty if the partition holds nothing).
    pub fn partition_root(&self, p: &PartitionId) -> Result<Cell> {
        self.read_cell(&keys::root_key(p))
    }

    /// Every partition that has ever held a record, with its root cell, in key order.
    pub fn partitions(&self) -> Result<Vec<(PartitionId, Cell)>> {
        let cf = self.cf(keys::CF_DIGEST);
        let start = keys::root_prefix();
        let mut out = Vec::new();
        for entry in self
            .db
            .iterator_cf(cf, IteratorMode::From(&start, Direction::Forward))
        {
            let (k, v) = entry.map_err(|e| self.db_err(e))?;
            let Some(p) = keys::partition_of_root_key(&k) else {
                break;
            };
            let cell = Cell::from_bytes(&v)
                .ok_or_else(|| self.corrupt("digest cell", format!("root of {p}")))?;
            out.push((p, cell));
        }
        Ok(out)
    }

    /// The cell of any trie node of a partition.
    pub fn node_cell(&self, p: &PartitionId, path: NodePath) -> Result<Cell> {
        match path.level() {
            0 => self.partition_root(p),
            l if STORED_LEVELS.contains(&l) => self.read_cell(&keys::node_key(p, path)),
            l if l < LEAF_LEVEL => {
                let mut sum = Cell::EMPTY;
                for c in self.stored_children(p, path)? {
                    sum.add(&c);
                }
                Ok(sum)
            }
            _ => {
                let mut sum = Cell::EMPTY;
                self.for_each_item(p, path, |item| {
                    sum.insert(item);
                    true
                })?;
                Ok(sum)
            }
        }
    }

    /// The cells of the 16 children of a node, in order.
    pub fn children(&self, p: &PartitionId, path: NodePath) -> Result<[Cell; FANOUT]> {
        let child_level = path.level() + 1;
        if child_level > credithub_protocol::digest::MAX_LEVEL {
            return Err(IndexError::NoChildren(path).into());
        }
        if STORED_LEVELS.contains(&child_level) {
            return self.stored_children(p, path);
        }
        if child_level < LEAF_LEVEL {
            // Sum each child's 16 stored grandchildren.
            let mut out = [Cell::EMPTY; FANOUT];
            for (i, slot) in out.iter_mut().enumerate() {
                if let Some(child) = path.child(i) {
                    for c in self.stored_children(p, child)? {
                        slot.add(&c);
                    }
                }
            }
            return Ok(out);
        }
        let mut out = [Cell::EMPTY; FANOUT];
        self.for_each_item(p, path, |item| {
            let child = NodePath::of(&item.id, child_level);
            out[(child.prefix() & (FANOUT as u64 - 1)) as usize].insert(item);
            true
        })?;
        Ok(out)
    }

    /// The cells of every node at `level` below `path`, in prefix order
    /// (16^(level − path.level()) of them), read with one range scan of the stored
    /// level at or just below `level` (levels 1 and 3 are summed from 2 and 4) instead
    /// of one read per node. Deeper than the stored levels, nodes are summed from the
    /// records child by child.
    pub fn descendant_cells(
        &self,
        p: &PartitionId,
        path: NodePath,
        level: u8,
    ) -> Result<Vec<Cell>> {
        if level <= path.level() {
            return Ok(vec![self.node_cell(p, path)?]);
        }
        if level > LEAF_LEVEL {
            return credithub_protocol::sync::view::descendants_by_children(self, p, path, level);
        }
        let stored = if STORED_LEVELS.contains(&level) {
            level
        } else {
            level + 1
        };
        let span = 4 * u32::from(stored - path.level());
        let count = 1u64 << span;
        let first = path.prefix() << span;
        let (Some(first_node), Some(last_node)) = (
            NodePath::new(stored, first),
            NodePath::new(stored, first + count - 1),
        ) else {
            return Err(IndexError::NoChildren(path).into());
        };
        let mut cells = vec![Cell::EMPTY; count as usize];
        let start = keys::node_key(p, first_node);
        let end = keys::prefix_end(&keys::node_key(p, last_node)).unwrap_or_default();
        let cf = self.cf(keys::CF_DIGEST);
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(end);
        for entry in self
            .db
            .iterator_cf_opt(cf, ro, IteratorMode::From(&start, Direction::Forward))
        {
            let (k, v) = entry.map_err(|e| self.db_err(e))?;
            let Some((_, node)) = keys::parse_node_key(&k) else {
                break;
            };
            let cell = Cell::from_bytes(&v)
                .ok_or_else(|| self.corrupt("digest cell", format!("{p} node {node}")))?;
            if let Some(slot) = node
                .prefix()
                .checked_sub(first)
                .and_then(|i| cells.get_mut(i as usize))
            {
                *slot = cell;
            }
        }
        if stored == level {
            return Ok(cells);
        }
        Ok(cells
            .chunks(FANOUT)
            .map(|group| {
                let mut sum = Cell::EMPTY;
                for c in group {
                    sum.add(c);
                }
                sum
            })
            .collect())
    }

    /// The stored cells of the 16 children of `path` (whose level must be stored),
    /// read with one range scan.
    fn stored_children(&self, p: &PartitionId, path: NodePath) -> Result<[Cell; FANOUT]> {
        let mut out = [Cell::EMPTY; FANOUT];
        let (Some(first), Some(last)) = (path.child(0), path.child(FANOUT - 1)) else {
            return Err(IndexError::NoChildren(path).into());
        };
        let start = keys::node_key(p, first);
        let end = keys::prefix_end(&keys::node_key(p, last)).unwrap_or_default();
        let cf = self.cf(keys::CF_DIGEST);
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(end);
        for entry in self
            .db
            .iterator_cf_opt(cf, ro, IteratorMode::From(&start, Direction::Forward))
        {
            let (k, v) = entry.map_err(|e| self.db_err(e))?;
            let Some((_, child)) = keys::parse_node_key(&k) else {
                break;
            };
            let cell = Cell::from_bytes(&v)
                .ok_or_else(|| self.corrupt("digest cell", format!("{p} node {child}")))?;
            out[(child.prefix() & (FANOUT as u64 - 1)) as usize] = cell;
        }
        Ok(out)
    }

    /// The items (id, version, digest) below a node, in id order, if there are at most
    /// `limit` of them.
    pub fn items(&self, p: &PartitionId, path: NodePath, limit: usize) -> Result<Vec<DigestItem>> {
        let mut out = Vec::new();
        let mut too_many = false;
        self.for_each_item(p, path, |item| {
            if out.len() == limit {
                too_many = true;
                return false;
            }
            out.push(*item);
            true
        })?;
        if too_many {
            return Err(IndexError::TooLarge {
                partition: *p,
                path,
                limit,
            }
            .into());
        }
        Ok(out)
    }

    /// Calls `f` for each item below a node, in id order, until it returns false.
    pub fn for_each_item(
        &self,
        p: &PartitionId,
        path: NodePath,
        mut f: impl FnMut(&DigestItem) -> bool,
    ) -> Result<()> {
        self.scan_members(p, path, &mut |_, item| f(item))
    }

    /// Calls `f` with the key and digest item of every record below a subtree of any
    /// partition, in id order, until it returns `false`.
    pub fn for_each_member(
        &self,
        p: &PartitionId,
        path: NodePath,
        mut f: impl FnMut(RecordKey, &DigestItem) -> bool,
    ) -> Result<()> {
        self.scan_members(p, path, &mut f)
    }

    fn scan_members(
        &self,
        p: &PartitionId,
        path: NodePath,
        f: &mut dyn FnMut(RecordKey, &DigestItem) -> bool,
    ) -> Result<()> {
        let (start, end) = keys::record_range(p, path);
        let regional = matches!(p.scope, Scope::Subjects(_));
        let cf = self.cf(if regional {
            keys::CF_REGIONAL
        } else {
            keys::CF_RECORDS
        });
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(end);
        for entry in self
            .db
            .iterator_cf_opt(cf, ro, IteratorMode::From(&start, Direction::Forward))
        {
            let (k, v) = entry.map_err(|e| self.db_err(e))?;
            let (key, item) = if regional {
                keys::parse_regional(&k, &v)
                    .ok_or_else(|| self.corrupt("regional entry", hex::encode(&k)))?
            } else {
                let key = RecordKey::from_bytes(&k)
                    .map_err(|e| self.corrupt("record key", e.to_string()))?;
                let header = codec::read_header(&v)
                    .map_err(|e| self.corrupt("record", format!("{key}: {e}")))?;
                let item = DigestItem {
                    id: key.id,
                    version: header.version,
                    digest: header.digest,
                };
                (key, item)
            };
            if !f(key, &item) {
                break;
            }
        }
        Ok(())
    }

    /// The key of the record a partition's member id names, if this store holds it.
    pub fn member_key(&self, p: &PartitionId, id: &RecordId) -> Result<Option<RecordKey>> {
        match p.scope {
            Scope::Origin(origin) => Ok(Some(RecordKey {
                origin,
                kind: p.kind,
                id: *id,
            })),
            Scope::Subjects(_) => {
                let cf = self.cf(keys::CF_REGIONAL);
                let k = keys::regional_key(p, id);
                match self.db.get_pinned_cf(cf, k).map_err(|e| self.db_err(e))? {
                    None => Ok(None),
                    Some(v) => Ok(Some(
                        keys::parse_regional(&k, &v)
                            .ok_or_else(|| self.corrupt("regional entry", hex::encode(k)))?
                            .0,
                    )),
                }
            }
        }
    }
}

impl Store {
    /// Up to `limit` record keys of a subtree of any partition, in id order, starting
    /// after `after` (for paging through a subtree without holding it in memory).
    pub fn member_page(
        &self,
        p: &PartitionId,
        path: NodePath,
        after: Option<&RecordId>,
        limit: usize,
    ) -> Result<Vec<RecordKey>> {
        let (mut start, end) = keys::record_range(p, path);
        if let Some(after) = after {
            let mut from = p.to_bytes().to_vec();
            from.extend_from_slice(&after.0);
            from.push(0);
            if from > start {
                start = from;
            }
        }
        let cf = match p.scope {
            Scope::Origin(_) => self.cf(keys::CF_RECORDS),
            Scope::Subjects(_) => self.cf(keys::CF_REGIONAL),
        };
        let mut ro = ReadOptions::default();
        ro.set_iterate_upper_bound(end);
        let mut out = Vec::with_capacity(limit.min(4096));
        for entry in self
            .db
            .iterator_cf_opt(cf, ro, IteratorMode::From(&start, Direction::Forward))
        {
            if out.len() >= limit {
                break;
            }
            let (k, v) = entry.map_err(|e| self.db_err(e))?;
            let key = match p.scope {
                Scope::Origin(_) => RecordKey::from_bytes(&k)
                    .map_err(|e| self.corrupt("record key", e.to_string()))?,
                Scope::Subjects(_) => {
                    keys::parse_regional(&k, &v)
                        .ok_or_else(|| self.corrupt("regional entry", hex::encode(&k)))?
                        .0
                }
            };
            out.push(key);
        }
        Ok(out)
    }
}
