//! The field GF(2^61 − 1) in which cells sum their weighted fragments, and the id
//! fragments that are its elements.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::NodePath;
use crate::record::RecordId;

/// The prime 2^61 − 1 of the field in which cells sum their weighted fragments.
pub const FIELD_PRIME: u64 = (1 << 61) - 1;

/// The top 61 bits of a record id: enough to name a record inside any subtree, and
/// a field element (see [`Cell`](super::Cell)).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_arithmetic() {
        for a in [1u64, 2, 12345, FIELD_PRIME - 1, 1 << 60] {
            assert_eq!(fmul(a, finv(a)), 1);
            assert_eq!(fadd(a, fneg(a)), 0);
        }
    }
}
