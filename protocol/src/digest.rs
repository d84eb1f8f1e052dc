//! The digest index's mathematics: partitions, trie paths and cells.
//!
//! Every record version contributes one [`DigestItem`] (its id, version and content
//! digest) to the partition of its origin and kind. Inside a partition, items are
//! placed in a 16-ary trie by the nibbles of their id (ids are uniform hashes). Each
//! trie node holds a [`Cell`]: the number of items below it and the XOR of their leaf
//! hashes and keys. Cells are *linear*: a node's cell is the sum of its children's, an
//! insert or removal changes every ancestor by the same delta, and the order of writes
//! does not matter. That is what lets the store keep the index current inside each
//! record's atomic write (a merge per stored level, no read), and what lets two nodes
//! compare any subtree in one message.
//!
//! A cell's `key_xor` and `check` fields make a cell that differs from its
//! counterpart by exactly one item *decodable*: the delta's `key_xor` is that item's
//! id and version, which its `check` confirms. Reconciliation uses this to stop
//! descending early.
//!
//! The XOR of leaf hashes is a set fingerprint, not a cryptographic commitment: it
//! detects any accidental difference, but a writer able to choose many record
//! contents could craft collisions. Records themselves are authenticated by their
//! digests and their writers' certificates.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::DivisionCode;
use crate::record::{RecordId, RecordKind, Version};

/// The content digest of one record version (BLAKE3, see [`crate::codec`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Digest(pub [u8; 32]);

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", hex::encode(&self.0[..8]))
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// A partition of the digest index: the records of one origin and one kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PartitionId {
    /// The origin jurisdiction.
    pub origin: DivisionCode,
    /// The record kind.
    pub kind: RecordKind,
}

/// Length of [`PartitionId::to_bytes`]; equal to the first bytes of a record key.
pub const PARTITION_LEN: usize = 6;

impl PartitionId {
    /// The storage form, which is also the prefix of every record key in the partition.
    pub fn to_bytes(&self) -> [u8; PARTITION_LEN] {
        let mut b = [0u8; PARTITION_LEN];
        b[..4].copy_from_slice(&self.origin.as_u32().to_be_bytes());
        b[4..].copy_from_slice(&self.kind.code().to_be_bytes());
        b
    }

    /// Reads the storage form.
    pub fn from_bytes(b: &[u8]) -> Option<PartitionId> {
        if b.len() != PARTITION_LEN {
            return None;
        }
        let origin = DivisionCode::from_u32(u32::from_be_bytes([b[0], b[1], b[2], b[3]])).ok()?;
        let kind = RecordKind::from_code(u16::from_be_bytes([b[4], b[5]]))?;
        Some(PartitionId { origin, kind })
    }
}

impl fmt::Display for PartitionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.origin, self.kind)
    }
}

/// What one record version contributes to the index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DigestItem {
    /// The record's id within its partition.
    pub id: RecordId,
    /// The version.
    pub version: Version,
    /// The content digest of that version.
    pub digest: Digest,
}

/// Bits of id consumed per trie level (16 children per node).
pub const FANOUT_BITS: u32 = 4;
/// Children per trie node.
pub const FANOUT: usize = 1 << FANOUT_BITS;
/// The deepest level a path can name (an id has 32 nibbles; 15 keeps prefixes in a u64).
pub const MAX_LEVEL: u8 = 15;

/// A node of a partition's trie: the items whose id starts with `prefix`, a number of
/// `level` nibbles. The root is level 0.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NodePath {
    level: u8,
    prefix: u64,
}

impl NodePath {
    /// The root of a partition's trie.
    pub const ROOT: NodePath = NodePath { level: 0, prefix: 0 };

    /// A node from its level and prefix, if the prefix fits the level.
    pub fn new(level: u8, prefix: u64) -> Option<NodePath> {
        let fits = level <= MAX_LEVEL && (level == 0 || prefix >> (u32::from(level) * FANOUT_BITS) == 0);
        (fits && (level > 0 || prefix == 0)).then_some(NodePath { level, prefix })
    }

    /// The node at `level` that contains `id`.
    pub fn of(id: &RecordId, level: u8) -> NodePath {
        let level = level.min(MAX_LEVEL);
        let top = u64::from_be_bytes(id.0[..8].try_into().unwrap_or([0; 8]));
        let prefix = if level == 0 { 0 } else { top >> (64 - u32::from(level) * FANOUT_BITS) };
        NodePath { level, prefix }
    }

    /// The level (number of nibbles in the prefix).
    pub fn level(self) -> u8 {
        self.level
    }

    /// The prefix as a number of `level` nibbles.
    pub fn prefix(self) -> u64 {
        self.prefix
    }

    /// The `i`-th child (0-15), unless this node is at [`MAX_LEVEL`].
    pub fn child(self, i: usize) -> Option<NodePath> {
        (self.level < MAX_LEVEL && i < FANOUT).then(|| NodePath {
            level: self.level + 1,
            prefix: (self.prefix << FANOUT_BITS) | i as u64,
        })
    }

    /// The parent, unless this is the root.
    pub fn parent(self) -> Option<NodePath> {
        (self.level > 0).then(|| NodePath { level: self.level - 1, prefix: self.prefix >> FANOUT_BITS })
    }

    /// The ancestor (or self) at `level`, if `level` is not deeper than this node.
    pub fn ancestor(self, level: u8) -> Option<NodePath> {
        (level <= self.level).then(|| NodePath {
            level,
            prefix: self.prefix >> (u32::from(self.level - level) * FANOUT_BITS),
        })
    }

    /// Whether `id` lies below this node.
    pub fn contains(self, id: &RecordId) -> bool {
        NodePath::of(id, self.level) == self
    }

    /// The smallest id below this node.
    pub fn first_id(self) -> RecordId {
        let mut id = [0u8; 16];
        if self.level > 0 {
            let top = self.prefix << (64 - u32::from(self.level) * FANOUT_BITS);
            id[..8].copy_from_slice(&top.to_be_bytes());
        }
        RecordId(id)
    }

    /// The smallest id after this node's range, or `None` when the range runs to the end.
    pub fn end_id(self) -> Option<RecordId> {
        if self.level == 0 {
            return None;
        }
        let next = self.prefix + 1;
        if next >> (u32::from(self.level) * FANOUT_BITS) != 0 {
            return None;
        }
        Some(NodePath { level: self.level, prefix: next }.first_id())
    }
}

impl fmt::Debug for NodePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for NodePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.level == 0 {
            return f.write_str("/");
        }
        write!(f, "/{:0width$x}", self.prefix, width = usize::from(self.level))
    }
}

/// Length of [`Cell::to_bytes`].
pub const CELL_LEN: usize = 72;

/// The summary of a set of items: count, XOR of keys, XOR of check words and XOR of
/// leaf hashes. Cells form a group under [`Cell::add`]; see the module documentation.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cell {
    /// Number of items (wrapping; a delta may be "negative").
    pub count: u64,
    /// XOR of the items' `id ‖ version` (16 + 8 bytes).
    pub key_xor: [u8; 24],
    /// XOR of the items' check words ([`check_word`]).
    pub check: u64,
    /// XOR of the items' leaf hashes ([`leaf_hash`]).
    pub hash: [u8; 32],
}

/// The leaf hash of an item: BLAKE3 (derived key "credithub digest leaf v1") of id,
/// version and digest.
pub fn leaf_hash(item: &DigestItem) -> [u8; 32] {
    let mut h = blake3::Hasher::new_derive_key("credithub digest leaf v1");
    h.update(&item.id.0);
    h.update(&item.version.0.to_be_bytes());
    h.update(&item.digest.0);
    *h.finalize().as_bytes()
}

/// A 64-bit word computed from an item's id and version only, which tells a single
/// decoded key from the XOR of several (ids are already uniform hashes, so a
/// SplitMix64 finaliser suffices).
pub fn check_word(id: &RecordId, version: Version) -> u64 {
    let a = u64::from_le_bytes(id.0[..8].try_into().unwrap_or([0; 8]));
    let b = u64::from_le_bytes(id.0[8..].try_into().unwrap_or([0; 8]));
    let mut z = a ^ b.rotate_left(29) ^ version.0.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Cell {
    /// The cell of the empty set.
    pub const EMPTY: Cell = Cell { count: 0, key_xor: [0; 24], check: 0, hash: [0; 32] };

    /// The cell of a single item.
    pub fn of(item: &DigestItem) -> Cell {
        let mut key_xor = [0u8; 24];
        key_xor[..16].copy_from_slice(&item.id.0);
        key_xor[16..].copy_from_slice(&item.version.0.to_be_bytes());
        Cell { count: 1, key_xor, check: check_word(&item.id, item.version), hash: leaf_hash(item) }
    }

    fn xor_into(&mut self, other: &Cell) {
        for (a, b) in self.key_xor.iter_mut().zip(other.key_xor) {
            *a ^= b;
        }
        for (a, b) in self.hash.iter_mut().zip(other.hash) {
            *a ^= b;
        }
        self.check ^= other.check;
    }

    /// Adds another cell (the union of disjoint sets).
    pub fn add(&mut self, other: &Cell) {
        self.count = self.count.wrapping_add(other.count);
        self.xor_into(other);
    }

    /// Subtracts another cell: `a.sub(b)` is the cell of the difference `a − b`.
    pub fn sub(&mut self, other: &Cell) {
        self.count = self.count.wrapping_sub(other.count);
        self.xor_into(other);
    }

    /// Adds one item.
    pub fn insert(&mut self, item: &DigestItem) {
        self.add(&Cell::of(item));
    }

    /// Removes one item.
    pub fn remove(&mut self, item: &DigestItem) {
        self.sub(&Cell::of(item));
    }

    /// Whether this is the cell of the empty set (or a zero delta).
    pub fn is_empty(&self) -> bool {
        *self == Cell::EMPTY
    }

    /// The count as a signed number (meaningful for deltas).
    pub fn signed_count(&self) -> i64 {
        self.count as i64
    }

    /// If this cell (typically a delta) holds exactly one item, or exactly one item
    /// removed, the id and version of that item and the sign (+1 or −1).
    pub fn decode_single(&self) -> Option<(RecordId, Version, i8)> {
        let sign = match self.signed_count() {
            1 => 1,
            -1 => -1,
            _ => return None,
        };
        let mut id = [0u8; 16];
        id.copy_from_slice(&self.key_xor[..16]);
        let version = Version(u64::from_be_bytes(self.key_xor[16..].try_into().ok()?));
        let id = RecordId(id);
        (check_word(&id, version) == self.check).then_some((id, version, sign))
    }

    /// A short fingerprint of the whole cell, for display and comparison.
    pub fn fingerprint(&self) -> [u8; 32] {
        *blake3::hash(&self.to_bytes()).as_bytes()
    }

    /// The storage form: count (u64 LE), key XOR, check (u64 LE), hash XOR.
    pub fn to_bytes(&self) -> [u8; CELL_LEN] {
        let mut b = [0u8; CELL_LEN];
        b[..8].copy_from_slice(&self.count.to_le_bytes());
        b[8..32].copy_from_slice(&self.key_xor);
        b[32..40].copy_from_slice(&self.check.to_le_bytes());
        b[40..].copy_from_slice(&self.hash);
        b
    }

    /// Reads the storage form.
    pub fn from_bytes(b: &[u8]) -> Option<Cell> {
        if b.len() != CELL_LEN {
            return None;
        }
        let mut c = Cell::EMPTY;
        c.count = u64::from_le_bytes(b[..8].try_into().ok()?);
        c.key_xor.copy_from_slice(&b[8..32]);
        c.check = u64::from_le_bytes(b[32..40].try_into().ok()?);
        c.hash.copy_from_slice(&b[40..]);
        Some(c)
    }
}

impl Default for Cell {
    fn default() -> Self {
        Cell::EMPTY
    }
}

impl fmt::Debug for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cell(count={}, hash={})", self.signed_count(), hex::encode(&self.hash[..8]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn item(seed: u64, version: u64) -> DigestItem {
        let h = blake3::hash(&seed.to_le_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&h.as_bytes()[..16]);
        DigestItem { id: RecordId(id), version: Version(version), digest: Digest(*blake3::hash(&version.to_le_bytes()).as_bytes()) }
    }

    #[test]
    fn paths_nest_and_cover_ranges() {
        let it = item(7, 1);
        let leaf = NodePath::of(&it.id, 4);
        assert!(leaf.contains(&it.id));
        assert_eq!(leaf.ancestor(0), Some(NodePath::ROOT));
        assert_eq!(leaf.parent().unwrap().child((leaf.prefix() & 15) as usize), Some(leaf));
        assert!(leaf.first_id() <= it.id);
        assert!(leaf.end_id().map_or(true, |end| it.id < end));
        assert_eq!(NodePath::new(1, 15).unwrap().end_id(), None);
        assert_eq!(NodePath::new(1, 16), None);
    }

    #[test]
    fn single_differences_decode() {
        let a = item(1, 5);
        let b = item(2, 9);
        let mut left = Cell::EMPTY;
        left.insert(&a);
        left.insert(&b);
        let mut right = Cell::EMPTY;
        right.insert(&a);
        let mut delta = left;
        delta.sub(&right);
        assert_eq!(delta.decode_single(), Some((b.id, b.version, 1)));
        let mut back = right;
        back.sub(&left);
        assert_eq!(back.decode_single(), Some((b.id, b.version, -1)));
        assert_eq!(left.decode_single(), None);
    }

    proptest! {
        #[test]
        fn cells_do_not_depend_on_order(seeds in proptest::collection::vec(0u64..1_000_000, 0..60), rot in 0usize..60) {
            let items: Vec<DigestItem> = seeds.iter().map(|&s| item(s, s % 7)).collect();
            let mut forward = Cell::EMPTY;
            for it in &items { forward.insert(it); }
            let mut rotated = items.clone();
            if !rotated.is_empty() { let n = rot % rotated.len(); rotated.rotate_left(n); }
            let mut backward = Cell::EMPTY;
            for it in rotated.iter().rev() { backward.insert(it); }
            prop_assert_eq!(forward, backward);
            for it in &items { forward.remove(it); }
            prop_assert!(forward.is_empty());
        }
    }
}
