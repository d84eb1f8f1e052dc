//! Paths of a partition's 16-ary trie, whose nodes are named by the leading nibbles
//! of record ids.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::record::RecordId;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::test_item as item;

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
}
