//! Cells: the linear, decodable summaries of a set of items that trie nodes hold.

use std::fmt;

use super::field::{fadd, finv, fmul, fneg, Fragment, FIELD_PRIME};
use super::DigestItem;

/// Length of [`Cell::to_bytes`].
pub const CELL_LEN: usize = 64;

/// The summary of a set of items. Cells form a group under [`Cell::add`] and
/// [`Cell::sub`]; see the [module documentation](crate::digest).
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
    use crate::digest::test_item as item;
    use proptest::prelude::*;

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
    fn cell_bytes_round_trip() {
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
