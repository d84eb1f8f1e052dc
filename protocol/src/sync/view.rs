//! What reconciliation asks of a node's digest index, and an in-memory index that
//! answers it (for tests, simulations and benchmarks; nodes answer from their store).

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;

use crate::digest::{Cell, Digest, DigestItem, Fragment, NodePath, PartitionId, FANOUT};
use crate::record::{RecordId, Version};

/// Read access to a digest index, as reconciliation needs it.
pub trait DigestView {
    /// Why the index could not answer.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Every partition with its root cell.
    fn partitions(&self) -> Result<Vec<(PartitionId, Cell)>, Self::Error>;

    /// The root cell of one partition (empty if it holds nothing).
    fn root(&self, p: &PartitionId) -> Result<Cell, Self::Error>;

    /// The cell of any node.
    fn cell(&self, p: &PartitionId, path: NodePath) -> Result<Cell, Self::Error>;

    /// The cells of a node's 16 children.
    fn children(&self, p: &PartitionId, path: NodePath) -> Result<[Cell; FANOUT], Self::Error>;

    /// The cells of the nodes at `level` below `path`, in prefix order
    /// (16^(level − path.level()) of them). The default asks for children level by
    /// level, skipping empty subtrees; an index that stores whole levels reads them in
    /// one scan instead.
    fn descendants(
        &self,
        p: &PartitionId,
        path: NodePath,
        level: u8,
    ) -> Result<Vec<Cell>, Self::Error> {
        descendants_by_children(self, p, path, level)
    }

    /// The items below a node (asked only for small subtrees).
    fn items(&self, p: &PartitionId, path: NodePath) -> Result<Vec<DigestItem>, Self::Error>;

    /// The items whose id has the given fragment (normally one or none).
    fn items_with_fragment(
        &self,
        p: &PartitionId,
        f: Fragment,
    ) -> Result<Vec<DigestItem>, Self::Error> {
        let node = f.node(crate::digest::MAX_LEVEL);
        Ok(self
            .items(p, node)?
            .into_iter()
            .filter(|it| f.matches(&it.id))
            .collect())
    }
}

/// [`DigestView::descendants`] asked of [`DigestView::children`] level by level,
/// without reading below empty subtrees.
pub fn descendants_by_children<V: DigestView + ?Sized>(
    view: &V,
    p: &PartitionId,
    path: NodePath,
    level: u8,
) -> Result<Vec<Cell>, V::Error> {
    let mut nodes: Vec<(NodePath, Option<Cell>)> = vec![(path, None)];
    for _ in path.level()..level {
        let mut next = Vec::with_capacity(nodes.len() * FANOUT);
        for (node, cell) in nodes {
            let cells = match cell {
                Some(c) if c.is_empty() => [Cell::EMPTY; FANOUT],
                _ => view.children(p, node)?,
            };
            for (i, c) in cells.into_iter().enumerate() {
                if let Some(child) = node.child(i) {
                    next.push((child, Some(c)));
                }
            }
        }
        nodes = next;
    }
    Ok(nodes
        .into_iter()
        .map(|(_, c)| c.unwrap_or(Cell::EMPTY))
        .collect())
}

/// Trie levels whose cells [`MemIndex`] maintains; deeper cells are summed from items.
const MEM_LEVELS: u8 = 4;

/// An in-memory digest index with the same cells as a node's store.
#[derive(Debug, Clone, Default)]
pub struct MemIndex {
    items: BTreeMap<PartitionId, BTreeMap<RecordId, (Version, Digest)>>,
    cells: HashMap<(PartitionId, NodePath), Cell>,
}

impl MemIndex {
    /// An empty index.
    pub fn new() -> MemIndex {
        MemIndex::default()
    }

    /// Sets the version held of a record (replacing any other), keeping cells current.
    pub fn put(&mut self, p: PartitionId, item: DigestItem) {
        if let Some(old) = self.get(&p, &item.id) {
            self.adjust(p, &old, false);
        }
        self.items
            .entry(p)
            .or_default()
            .insert(item.id, (item.version, item.digest));
        self.adjust(p, &item, true);
    }

    /// The item held for a record id, if any.
    pub fn get(&self, p: &PartitionId, id: &RecordId) -> Option<DigestItem> {
        let (version, digest) = *self.items.get(p)?.get(id)?;
        Some(DigestItem {
            id: *id,
            version,
            digest,
        })
    }

    /// Every item of every partition.
    pub fn all(&self) -> impl Iterator<Item = (PartitionId, DigestItem)> + '_ {
        self.items.iter().flat_map(|(p, m)| {
            m.iter().map(move |(id, &(version, digest))| {
                (
                    *p,
                    DigestItem {
                        id: *id,
                        version,
                        digest,
                    },
                )
            })
        })
    }

    /// Number of items in all partitions.
    pub fn len(&self) -> usize {
        self.items.values().map(BTreeMap::len).sum()
    }

    /// Whether the index holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn adjust(&mut self, p: PartitionId, item: &DigestItem, insert: bool) {
        let cell = Cell::of(item);
        for level in 0..=MEM_LEVELS {
            let slot = self
                .cells
                .entry((p, NodePath::of(&item.id, level)))
                .or_default();
            if insert {
                slot.add(&cell);
            } else {
                slot.sub(&cell);
            }
        }
    }

    fn cell(&self, p: &PartitionId, path: NodePath) -> Cell {
        if path.level() <= MEM_LEVELS {
            return self.cells.get(&(*p, path)).copied().unwrap_or_default();
        }
        let mut sum = Cell::EMPTY;
        for it in self.range(p, path) {
            sum.insert(&it);
        }
        sum
    }

    fn range(&self, p: &PartitionId, path: NodePath) -> Vec<DigestItem> {
        let Some(m) = self.items.get(p) else {
            return Vec::new();
        };
        let start = path.first_id();
        let iter: Box<dyn Iterator<Item = (&RecordId, &(Version, Digest))>> = match path.end_id() {
            Some(end) => Box::new(m.range(start..end)),
            None => Box::new(m.range(start..)),
        };
        iter.map(|(id, &(version, digest))| DigestItem {
            id: *id,
            version,
            digest,
        })
        .collect()
    }
}

impl DigestView for MemIndex {
    type Error = Infallible;

    fn partitions(&self) -> Result<Vec<(PartitionId, Cell)>, Infallible> {
        Ok(self
            .items
            .keys()
            .map(|p| (*p, self.cell(p, NodePath::ROOT)))
            .collect())
    }

    fn root(&self, p: &PartitionId) -> Result<Cell, Infallible> {
        Ok(self.cell(p, NodePath::ROOT))
    }

    fn cell(&self, p: &PartitionId, path: NodePath) -> Result<Cell, Infallible> {
        Ok(MemIndex::cell(self, p, path))
    }

    fn children(&self, p: &PartitionId, path: NodePath) -> Result<[Cell; FANOUT], Infallible> {
        let mut out = [Cell::EMPTY; FANOUT];
        if path.level() < MEM_LEVELS {
            for (i, slot) in out.iter_mut().enumerate() {
                if let Some(child) = path.child(i) {
                    *slot = self.cell(p, child);
                }
            }
        } else {
            for it in self.range(p, path) {
                let child = NodePath::of(&it.id, path.level() + 1);
                out[(child.prefix() & (FANOUT as u64 - 1)) as usize].insert(&it);
            }
        }
        Ok(out)
    }

    fn items(&self, p: &PartitionId, path: NodePath) -> Result<Vec<DigestItem>, Infallible> {
        Ok(self.range(p, path))
    }
}
