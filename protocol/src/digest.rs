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
//! A cell's field sums make a difference of two cells that involves a single record
//! id *decodable* ([`Cell::decode`]): one record more or fewer, or one record at two
//! versions, names itself without descending further. Reconciliation relies on it.
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

/// Which records a partition gathers: those of one origin, or those about subjects
/// registered in one prefecture that were issued outside it.
///
/// Every record lies in the [`Scope::Origin`] partition of its origin and kind; that
/// family carries records *up* the hierarchy. A record about a subject registered in
/// another prefecture than its origin's (its key names the subject's prefecture, see
/// [`RecordKey::subject_region`](crate::record::RecordKey::subject_region)) also lies
/// in the [`Scope::Subjects`] partition of that prefecture and kind; that family carries
/// records *down* to the jurisdiction where their subject is registered, whoever issued
/// them. Both flows are thus whole partitions, comparable without touching unrelated
/// data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Scope {
    /// Records issued by this origin.
    Origin(DivisionCode),
    /// Records about subjects registered in this prefecture (a code ending in `00`),
    /// issued by any origin outside it.
    Subjects(DivisionCode),
}

impl Scope {
    /// The division code the scope names.
    pub fn code(&self) -> DivisionCode {
        match self {
            Scope::Origin(c) | Scope::Subjects(c) => *c,
        }
    }
}

/// A partition of the digest index: one [`Scope`] and one record kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PartitionId {
    /// Which records of the kind.
    pub scope: Scope,
    /// The record kind.
    pub kind: RecordKind,
}

/// Length of [`PartitionId::to_bytes`]; for origin partitions equal to the first bytes
/// of a record key.
pub const PARTITION_LEN: usize = 6;

/// The top byte of a [`Scope::Subjects`] partition's storage form (division codes fit
/// in the low 20 bits, so origin partitions start with 0).
const SUBJECTS_TAG: u8 = 0x80;

impl PartitionId {
    /// The partition of one origin's records of one kind.
    pub fn origin(origin: DivisionCode, kind: RecordKind) -> PartitionId {
        PartitionId {
            scope: Scope::Origin(origin),
            kind,
        }
    }

    /// The partition of records of one kind about subjects registered in `region`
    /// (a prefecture) and issued outside it.
    pub fn subjects(region: DivisionCode, kind: RecordKind) -> PartitionId {
        PartitionId {
            scope: Scope::Subjects(region),
            kind,
        }
    }

    /// The origin, for an origin partition.
    pub fn origin_code(&self) -> Option<DivisionCode> {
        match self.scope {
            Scope::Origin(c) => Some(c),
            Scope::Subjects(_) => None,
        }
    }

    /// The storage form. For an origin partition it is also the prefix of every record
    /// key in the partition; a subjects partition has its top bit set.
    pub fn to_bytes(&self) -> [u8; PARTITION_LEN] {
        let mut b = [0u8; PARTITION_LEN];
        b[..4].copy_from_slice(&self.scope.code().as_u32().to_be_bytes());
        if matches!(self.scope, Scope::Subjects(_)) {
            b[0] |= SUBJECTS_TAG;
        }
        b[4..].copy_from_slice(&self.kind.code().to_be_bytes());
        b
    }

    /// Reads the storage form.
    pub fn from_bytes(b: &[u8]) -> Option<PartitionId> {
        if b.len() != PARTITION_LEN {
            return None;
        }
        let subjects = b[0] & SUBJECTS_TAG != 0;
        let code = u32::from_be_bytes([b[0] & !SUBJECTS_TAG, b[1], b[2], b[3]]);
        let code = DivisionCode::from_u32(code).ok()?;
        let kind = RecordKind::from_code(u16::from_be_bytes([b[4], b[5]]))?;
        let scope = if subjects {
            if code.prefecture() != code || code == DivisionCode::NATIONAL {
                return None;
            }
            Scope::Subjects(code)
        } else {
            Scope::Origin(code)
        };
        Some(PartitionId { scope, kind })
    }
}

impl fmt::Display for PartitionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.scope {
            Scope::Origin(c) => write!(f, "{c}/{}", self.kind),
            Scope::Subjects(c) => write!(f, "about-{c}/{}", self.kind),
        }
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
    pub const ROOT: NodePath = NodePath {
        level: 0,
        prefix: 0,
    };

    /// A node from its level and prefix, if the prefix fits the level.
    pub fn new(level: u8, prefix: u64) -> Option<NodePath> {
        let fits =
            level <= MAX_LEVEL && (level == 0 || prefix >> (u32::from(level) * FANOUT_BITS) == 0);
        (fits && (level > 0 || prefix == 0)).then_some(NodePath { level, prefix })
    }

    /// The node at `level` that contains `id`.
    pub fn of(id: &RecordId, level: u8) -> NodePath {
        let level = level.min(MAX_LEVEL);
        let top = u64::from_be_bytes(id.0[..8].try_into().unwrap_or([0; 8]));
        let prefix = if level == 0 {
            0
        } else {
            top >> (64 - u32::from(level) * FANOUT_BITS)
        };
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
        (self.level > 0).then(|| NodePath {
            level: self.level - 1,
            prefix: self.prefix >> FANOUT_BITS,
        })
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
        Some(
            NodePath {
                level: self.level,
                prefix: next,
            }
            .first_id(),
        )
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
        write!(
            f,
            "/{:0width$x}",
            self.prefix,
            width = usize::from(self.level)
        )
    }
}

/// Length of [`Cell::to_bytes`].
pub const CELL_LEN: usize = 64;

/// The prime 2^61 − 1 of the field in which cells sum their weighted fragments.
pub const FIELD_PRIME: u64 = (1 << 61) - 1;

/// The top 61 bits of a record id: enough to name a record inside any subtree, and
/// a field element (see [`Cell`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Fragment(pub u64);

impl Fragment {
    /// The fragment of an id.
    pub fn of(id: &RecordId) -> Fragment {
        Fragment(u64::from_be_bytes(id.0[..8].try_into().unwrap_or([0; 8])) >> 3)
    }

    /// Whether `id` has this fragment.
    pub fn matches(self, id: &RecordId) -> bool {
        Fragment::of(id) == self
    }

    /// The trie node at `level` (at most 15) that holds the ids with this fragment.
    pub fn node(self, level: u8) -> NodePath {
        let mut id = [0u8; 16];
        id[..8].copy_from_slice(&(self.0 << 3).to_be_bytes());
        NodePath::of(&RecordId(id), level)
    }
}

impl fmt::Debug for Fragment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Fragment({:016x})", self.0)
    }
}

pub(crate) fn fadd(a: u64, b: u64) -> u64 {
    let s = a + b; // both < 2^61: no overflow
    if s >= FIELD_PRIME {
        s - FIELD_PRIME
    } else {
        s
    }
}

pub(crate) fn fneg(a: u64) -> u64 {
    if a == 0 {
        0
    } else {
        FIELD_PRIME - a
    }
}

pub(crate) fn fmul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    let lo = (p as u64) & FIELD_PRIME;
    let hi = (p >> 61) as u64;
    fadd(lo, hi % FIELD_PRIME)
}

pub(crate) fn finv(a: u64) -> u64 {
    // Fermat: a^(p-2).
    let (mut base, mut exp, mut acc) = (a, FIELD_PRIME - 2, 1u64);
    while exp > 0 {
        if exp & 1 == 1 {
            acc = fmul(acc, base);
        }
        base = fmul(base, base);
        exp >>= 1;
    }
    acc
}

/// The summary of a set of items. Cells form a group under [`Cell::add`] and
/// [`Cell::sub`]; see the module documentation.
///
/// Besides the count and the XOR of leaf hashes (a fingerprint of the set), a cell
/// holds three sums over the field GF(2^61 − 1): with `w` a weight derived from each
/// item's leaf hash and `f` its id [`Fragment`], `s1 = Σ w`, `s2 = Σ w·f` and
/// `s4 = Σ w·f²`. When the difference of two cells involves a single record id —
/// one item more or fewer, or the same record at different versions —
/// `f = s2 / s1`, and `s4·s1 = s2²` confirms it (a false confirmation has probability
/// about 2^-61). [`Cell::decode`] uses this to name the record without descending.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cell {
    /// Number of items (wrapping; a delta may be "negative").
    pub count: u64,
    /// Σ w over the items.
    pub s1: u64,
    /// Σ w·f over the items.
    pub s2: u64,
    /// Σ w·f² over the items.
    pub s4: u64,
    /// XOR of the items' leaf hashes ([`leaf_hash`]).
    pub hash: [u8; 32],
}

/// The leaf hash of an item: BLAKE3 (derived key "credithub digest leaf v1") of id,
/// version and digest.
pub fn leaf_hash(item: &DigestItem) -> [u8; 32] {
    static BASE: std::sync::OnceLock<blake3::Hasher> = std::sync::OnceLock::new();
    let mut h = BASE
        .get_or_init(|| blake3::Hasher::new_derive_key("credithub digest leaf v1"))
        .clone();
    h.update(&item.id.0);
    h.update(&item.version.0.to_be_bytes());
    h.update(&item.digest.0);
    *h.finalize().as_bytes()
}

/// A difference between two cells that involves a single record id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// The fragment of the record's id.
    pub fragment: Fragment,
    /// The count difference: +1 (an item only in the first cell), −1 (only in the
    /// second) or 0 (the same record at different versions).
    pub count: i64,
}

impl Cell {
    /// The cell of the empty set.
    pub const EMPTY: Cell = Cell {
        count: 0,
        s1: 0,
        s2: 0,
        s4: 0,
        hash: [0; 32],
    };

    /// The cell of a single item.
    pub fn of(item: &DigestItem) -> Cell {
        let hash = leaf_hash(item);
        let w = u64::from_le_bytes(hash[..8].try_into().unwrap_or([1; 8])) % FIELD_PRIME;
        let w = if w == 0 { 1 } else { w };
        let f = Fragment::of(&item.id).0 % FIELD_PRIME;
        let wf = fmul(w, f);
        Cell {
            count: 1,
            s1: w,
            s2: wf,
            s4: fmul(wf, f),
            hash,
        }
    }

    /// Adds another cell (the union of disjoint sets).
    pub fn add(&mut self, other: &Cell) {
        self.count = self.count.wrapping_add(other.count);
        self.s1 = fadd(self.s1, other.s1);
        self.s2 = fadd(self.s2, other.s2);
        self.s4 = fadd(self.s4, other.s4);
        for (a, b) in self.hash.iter_mut().zip(other.hash) {
            *a ^= b;
        }
    }

    /// Subtracts another cell: `a.sub(b)` is the cell of the difference `a − b`.
    pub fn sub(&mut self, other: &Cell) {
        self.count = self.count.wrapping_sub(other.count);
        self.s1 = fadd(self.s1, fneg(other.s1));
        self.s2 = fadd(self.s2, fneg(other.s2));
        self.s4 = fadd(self.s4, fneg(other.s4));
        for (a, b) in self.hash.iter_mut().zip(other.hash) {
            *a ^= b;
        }
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

    /// If this cell — typically the difference of two cells — involves exactly one
    /// record id, that id's fragment and the count difference.
    pub fn decode(&self) -> Option<Decoded> {
        let count = self.signed_count();
        if self.s1 == 0 || !(-1..=1).contains(&count) {
            return None;
        }
        if fmul(self.s4, self.s1) != fmul(self.s2, self.s2) {
            return None;
        }
        let f = fmul(self.s2, finv(self.s1));
        Some(Decoded {
            fragment: Fragment(f),
            count,
        })
    }

    /// A fingerprint of the whole cell, for display and comparison.
    pub fn fingerprint(&self) -> [u8; 32] {
        *blake3::hash(&self.to_bytes()).as_bytes()
    }

    /// The storage form: count, s1, s2, s4 (u64 LE each), hash XOR.
    pub fn to_bytes(&self) -> [u8; CELL_LEN] {
        let mut b = [0u8; CELL_LEN];
        b[..8].copy_from_slice(&self.count.to_le_bytes());
        b[8..16].copy_from_slice(&self.s1.to_le_bytes());
        b[16..24].copy_from_slice(&self.s2.to_le_bytes());
        b[24..32].copy_from_slice(&self.s4.to_le_bytes());
        b[32..].copy_from_slice(&self.hash);
        b
    }

    /// Reads the storage form; `None` unless the length and field values are valid.
    pub fn from_bytes(b: &[u8]) -> Option<Cell> {
        if b.len() != CELL_LEN {
            return None;
        }
        let word = |i: usize| b[i..i + 8].try_into().ok().map(u64::from_le_bytes);
        let mut c = Cell {
            count: word(0)?,
            s1: word(8)?,
            s2: word(16)?,
            s4: word(24)?,
            hash: [0; 32],
        };
        if c.s1 >= FIELD_PRIME || c.s2 >= FIELD_PRIME || c.s4 >= FIELD_PRIME {
            return None;
        }
        c.hash.copy_from_slice(&b[32..]);
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
        write!(
            f,
            "Cell(count={}, hash={})",
            self.signed_count(),
            hex::encode(&self.hash[..8])
        )
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
        DigestItem {
            id: RecordId(id),
            version: Version(version),
            digest: Digest(*blake3::hash(&version.to_le_bytes()).as_bytes()),
        }
    }

    #[test]
    fn paths_nest_and_cover_ranges() {
        let it = item(7, 1);
        let leaf = NodePath::of(&it.id, 4);
        assert!(leaf.contains(&it.id));
        assert_eq!(leaf.ancestor(0), Some(NodePath::ROOT));
        assert_eq!(
            leaf.parent().unwrap().child((leaf.prefix() & 15) as usize),
            Some(leaf)
        );
        assert!(leaf.first_id() <= it.id);
        assert!(leaf.end_id().is_none_or(|end| it.id < end));
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
        assert_eq!(
            delta.decode(),
            Some(Decoded {
                fragment: Fragment::of(&b.id),
                count: 1
            })
        );
        let mut back = right;
        back.sub(&left);
        assert_eq!(
            back.decode(),
            Some(Decoded {
                fragment: Fragment::of(&b.id),
                count: -1
            })
        );
        assert_eq!(left.decode(), None);
        assert!(Fragment::of(&b.id).node(4).contains(&b.id));
    }

    #[test]
    fn a_record_at_two_versions_decodes_to_its_id() {
        let (old, new, other) = (item(3, 1), item(3, 2), item(4, 1));
        let mut a = Cell::EMPTY;
        a.insert(&old);
        a.insert(&other);
        let mut b = Cell::EMPTY;
        b.insert(&new);
        b.insert(&other);
        let mut delta = a;
        delta.sub(&b);
        assert_eq!(
            delta.decode(),
            Some(Decoded {
                fragment: Fragment::of(&old.id),
                count: 0
            })
        );
        // Two different ids never decode.
        let mut two = Cell::EMPTY;
        two.insert(&item(5, 1));
        two.sub(&Cell::of(&item(6, 1)));
        assert_eq!(two.decode(), None);
    }

    #[test]
    fn field_arithmetic() {
        for a in [1u64, 2, 12345, FIELD_PRIME - 1, 1 << 60] {
            assert_eq!(fmul(a, finv(a)), 1);
            assert_eq!(fadd(a, fneg(a)), 0);
        }
        assert_eq!(
            Cell::from_bytes(&Cell::of(&item(1, 1)).to_bytes()),
            Some(Cell::of(&item(1, 1)))
        );
    }

    proptest! {
        /// A delta decodes exactly when it involves one record id, and then to that id.
        #[test]
        fn decode_is_sound(only_a in proptest::collection::vec((0u64..50, 0u64..3), 0..4),
                           only_b in proptest::collection::vec((0u64..50, 3u64..6), 0..4)) {
            let mut a = Cell::EMPTY;
            let mut b = Cell::EMPTY;
            let shared = item(999, 1);
            a.insert(&shared);
            b.insert(&shared);
            let mut ids = std::collections::BTreeSet::new();
            let mut seen_a = std::collections::BTreeSet::new();
            for &(s, v) in &only_a { if seen_a.insert(s) { a.insert(&item(s, v)); ids.insert(s); } }
            let mut seen_b = std::collections::BTreeSet::new();
            for &(s, v) in &only_b { if seen_b.insert(s) { b.insert(&item(s, v)); ids.insert(s); } }
            let mut delta = a;
            delta.sub(&b);
            let decoded = delta.decode();
            if ids.len() == 1 {
                let s = *ids.iter().next().unwrap();
                let d = decoded.expect("a single-id difference decodes");
                prop_assert_eq!(d.fragment, Fragment::of(&item(s, 0).id));
                prop_assert_eq!(d.count, seen_a.len() as i64 - seen_b.len() as i64);
            } else {
                prop_assert_eq!(decoded, None);
            }
        }

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
