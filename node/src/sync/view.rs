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

    fn descendants(
        &self,
        p: &PartitionId,
        path: NodePath,
        level: u8,
    ) -> Result<Vec<Cell>, StoreError> {
        self.descendant_cells(p, path, level)
    }

    fn items(&self, p: &PartitionId, path: NodePath) -> Result<Vec<DigestItem>, StoreError> {
        Store::items(self, p, path, MAX_LISTING)
    }
}

#[cfg(test)]
mod tests {
    use credithub_protocol::digest::{Cell, NodePath, PartitionId};
    use credithub_protocol::sync::DigestView;
    use credithub_protocol::testing::sample_body;
    use credithub_protocol::{DivisionCode, RecordKind};

    use crate::store::Store;

    /// The cells at `level` below `path`, child by child.
    fn one_by_one(store: &Store, p: &PartitionId, path: NodePath, level: u8) -> Vec<Cell> {
        let mut nodes = vec![path];
        for _ in path.level()..level {
            nodes = nodes
                .iter()
                .flat_map(|n| (0..16).filter_map(move |i| n.child(i)))
                .collect();
        }
        nodes
            .iter()
            .map(|n| store.node_cell(p, *n).expect("cell"))
            .collect()
    }

    #[test]
    fn whole_levels_read_in_one_scan_match_the_cells_read_one_by_one() {
        let dir = tempfile::tempdir().expect("tmp");
        let suzhou = DivisionCode::parse("320500").expect("code");
        let store = Store::open(dir.path(), Some(suzhou)).expect("store");
        let bodies = (0..3_000)
            .map(|n| (RecordKind::PENALTY, sample_body(n, "91110000600037341L")))
            .collect();
        store.write_local(bodies, 1_000).expect("write");
        let p = PartitionId::origin(suzhou, RecordKind::PENALTY);
        let mut checked = 0;
        for top in [
            NodePath::ROOT,
            NodePath::new(1, 7).expect("node"),
            NodePath::new(2, 0x5a).expect("node"),
            NodePath::new(3, 0xfff).expect("node"),
        ] {
            for level in top.level()..=5 {
                let scanned = store.descendants(&p, top, level).expect("scan");
                let expected = one_by_one(&store, &p, top, level);
                assert_eq!(scanned, expected, "level {level} below {top}");
                checked += scanned.iter().filter(|c| !c.is_empty()).count();
            }
        }
        assert!(checked > 3_000, "the comparison saw cells with records");
    }
}
