//! Coded sketches of trie buckets: a compact way to find which buckets of a subtree
//! differ between two nodes, in one message, without sending the buckets that agree.
//!
//! A sketch is an invertible Bloom lookup table whose entries are *buckets* (cells of
//! trie nodes at one level): each bucket is added to three of the sketch's `m`
//! symbols (one in each third). A symbol sums its buckets' cells and two more field
//! sums that name the bucket: `t1 = Σ s1·(b+1)` and `t2 = Σ s1·(b+1)²`, where `b` is
//! the bucket's prefix. Subtracting the peer's sketch from one's own leaves a sketch
//! of the bucket *differences*; a symbol holding a single differing bucket names it
//! (`b+1 = t1/s1`, confirmed by `t2·s1 = t1²`), is removed from the other two symbols
//! of that bucket, and so on (peeling). About 1.3 symbols per differing bucket
//! suffice; each recovered bucket difference is a [`Cell`] delta, which
//! [`Cell::decode`] usually resolves to a single record.

use serde::{Deserialize, Serialize};

use crate::digest::{fadd, finv, fmul, fneg, Cell, NodePath, FIELD_PRIME};

/// One symbol of a sketch, on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Symbol {
    /// Sum of the buckets' counts.
    pub count: i64,
    /// Field sums: `s1`, `s2`, `s4` of the cells, then `t1`, `t2` (little-endian).
    pub sums: [[u8; 8]; 5],
}

/// A symbol in working form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Acc {
    count: u64,
    f: [u64; 5],
}

impl Acc {
    fn of(bucket: u64, cell: &Cell) -> Acc {
        let b = (bucket + 1) % FIELD_PRIME;
        let t1 = fmul(cell.s1, b);
        Acc {
            count: cell.count,
            f: [cell.s1, cell.s2, cell.s4, t1, fmul(t1, b)],
        }
    }

    fn add(&mut self, o: &Acc) {
        self.count = self.count.wrapping_add(o.count);
        for (a, b) in self.f.iter_mut().zip(o.f) {
            *a = fadd(*a, b);
        }
    }

    fn sub(&mut self, o: &Acc) {
        self.count = self.count.wrapping_sub(o.count);
        for (a, b) in self.f.iter_mut().zip(o.f) {
            *a = fadd(*a, fneg(b));
        }
    }

    fn is_zero(&self) -> bool {
        self.count == 0 && self.f == [0; 5]
    }

    /// The bucket this symbol holds alone, if it holds exactly one.
    fn pure_bucket(&self) -> Option<u64> {
        let [s1, _, _, t1, t2] = self.f;
        if s1 == 0 || fmul(t2, s1) != fmul(t1, t1) {
            return None;
        }
        let b = fmul(t1, finv(s1));
        b.checked_sub(1)
    }

    fn cell(&self) -> Cell {
        Cell {
            count: self.count,
            s1: self.f[0],
            s2: self.f[1],
            s4: self.f[2],
            hash: [0; 32],
        }
    }
}

/// The three symbol positions of a bucket in a sketch of `m` symbols (`m` a multiple
/// of 3), salted so that an unlucky collision does not repeat across sessions.
fn positions(bucket: u64, m: usize, salt: u64) -> [usize; 3] {
    let third = (m / 3).max(1) as u64;
    let mut out = [0usize; 3];
    for (j, slot) in out.iter_mut().enumerate() {
        let mut z = bucket ^ salt.rotate_left(17 * j as u32 + 1) ^ ((j as u64 + 1) << 59);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        *slot = (z % third) as usize + j * third as usize;
    }
    out
}

/// Rounds a wanted number of symbols up to a valid sketch size (a multiple of 3).
pub fn sketch_size(wanted: usize) -> usize {
    wanted.max(3).div_ceil(3) * 3
}

/// Builds the sketch of buckets (`(bucket prefix, cell)` pairs, empty cells ignored).
pub fn encode(buckets: &[(NodePath, Cell)], m: usize, salt: u64) -> Vec<Symbol> {
    let mut acc = vec![Acc::default(); sketch_size(m)];
    let len = acc.len();
    for (path, cell) in buckets.iter().filter(|(_, c)| !c.is_empty()) {
        let a = Acc::of(path.prefix(), cell);
        for p in positions(path.prefix(), len, salt) {
            acc[p].add(&a);
        }
    }
    acc.into_iter()
        .map(|a| Symbol {
            count: a.count as i64,
            sums: a.f.map(u64::to_le_bytes),
        })
        .collect()
}

/// What peeling a sketch difference gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peeled {
    /// The differing buckets (prefix at the sketch's level) and their cell deltas,
    /// `mine − theirs`.
    pub buckets: Vec<(u64, Cell)>,
    /// Whether every difference was recovered (otherwise the sketch was too small).
    pub complete: bool,
}

/// Subtracts the peer's sketch from the sketch of `mine` and peels it. `accept`
/// says whether a recovered bucket prefix may occur (lies in the sketched subtrees).
pub fn decode(
    mine: &[(NodePath, Cell)],
    theirs: &[Symbol],
    salt: u64,
    accept: impl Fn(u64) -> bool,
) -> Option<Peeled> {
    let m = theirs.len();
    if m == 0 || !m.is_multiple_of(3) {
        return None;
    }
    let mut acc: Vec<Acc> = encode(mine, m, salt)
        .iter()
        .map(|s| Acc {
            count: s.count as u64,
            f: s.sums.map(u64::from_le_bytes),
        })
        .collect();
    for (a, t) in acc.iter_mut().zip(theirs) {
        let f = t.sums.map(u64::from_le_bytes);
        if f.iter().any(|&x| x >= FIELD_PRIME) {
            return None;
        }
        a.sub(&Acc {
            count: t.count as u64,
            f,
        });
    }
    let mut buckets = Vec::new();
    let mut queue: Vec<usize> = (0..m).collect();
    while let Some(i) = queue.pop() {
        let Some(b) = acc[i].pure_bucket() else {
            continue;
        };
        let pos = positions(b, m, salt);
        if !accept(b) || !pos.contains(&i) {
            continue;
        }
        let found = acc[i];
        for p in pos {
            acc[p].sub(&found);
            queue.push(p);
        }
        buckets.push((b, found.cell()));
        if buckets.len() > m {
            return None;
        }
    }
    let complete = acc.iter().all(Acc::is_zero);
    Some(Peeled { buckets, complete })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::{Digest, DigestItem, Fragment};
    use crate::record::{RecordId, Version};

    fn item(seed: u64) -> DigestItem {
        let h = blake3::hash(&seed.to_le_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&h.as_bytes()[..16]);
        DigestItem {
            id: RecordId(id),
            version: Version(1),
            digest: Digest([7; 32]),
        }
    }

    fn buckets(items: &[DigestItem]) -> Vec<(NodePath, Cell)> {
        let mut map = std::collections::BTreeMap::new();
        for it in items {
            map.entry(NodePath::of(&it.id, 4))
                .or_insert(Cell::EMPTY)
                .insert(it);
        }
        map.into_iter().collect()
    }

    #[test]
    fn differing_buckets_are_recovered_and_decode_to_records() {
        let shared: Vec<DigestItem> = (0..20_000).map(item).collect();
        let only_a: Vec<DigestItem> = (100_000..100_040).map(item).collect();
        let only_b: Vec<DigestItem> = (200_000..200_040).map(item).collect();
        let a: Vec<DigestItem> = shared.iter().chain(&only_a).copied().collect();
        let b: Vec<DigestItem> = shared.iter().chain(&only_b).copied().collect();
        let sketch_b = encode(&buckets(&b), 120, 9);
        let peeled = decode(&buckets(&a), &sketch_b, 9, |_| true).unwrap();
        assert!(peeled.complete);
        let mut found: Vec<Fragment> = peeled
            .buckets
            .iter()
            .filter_map(|(_, c)| c.decode())
            .map(|d| d.fragment)
            .collect();
        found.sort();
        let mut want: Vec<Fragment> = only_a
            .iter()
            .chain(&only_b)
            .map(|it| Fragment::of(&it.id))
            .collect();
        want.sort();
        assert_eq!(found, want);
    }

    #[test]
    fn too_small_a_sketch_says_so() {
        let a: Vec<DigestItem> = (0..500).map(item).collect();
        let sketch_b = encode(&[], 9, 1);
        let peeled = decode(&buckets(&a), &sketch_b, 1, |_| true).unwrap();
        assert!(!peeled.complete);
    }
}
