//! The store as a digest view for the reconciliation state machine.

use credithub_protocol::digest::{Cell, DigestItem, NodePath, PartitionId, FANOUT};
use credithub_protocol::sync::DigestView;

use crate::store::{Store, StoreError};

/// Listings the state machine asks for are small (a subtree both sides hold few
/// items of, or one id fragment); this bounds them anyway.
const MAX_LISTING: usize = 1 << 16;

impl DigestView for Store {
    type Error = StoreError;

    fn partitions(&self) -> Result<Vec<(PartitionId, Cell)>, StoreError> {
        Store::partitions(self)
    }

    fn root(&self, p: &PartitionId) -> Result<Cell, StoreError> {
        self.partition_root(p)
    }

    fn cell(&self, p: &PartitionId, path: NodePath) -> Result<Cell, StoreError> {
        self.node_cell(p, path)
    }

    fn children(&self, p: &PartitionId, path: NodePath) -> Result<[Cell; FANOUT], StoreError> {
        Store::children(self, p, path)
    }

    fn items(&self, p: &PartitionId, path: NodePath) -> Result<Vec<DigestItem>, StoreError> {
        Store::items(self, p, path, MAX_LISTING)
    }
}
