//! What a node tells its parent about itself at the start of every session, and,
//! recursively, what its own children last told it: a hub's view of the federation
//! below it (`credit-admin status --tree`) is made of these reports.

use serde::{Deserialize, Serialize};

use crate::ids::DivisionCode;

/// Children listed in one report at most (a province has a few dozen cities).
pub const MAX_CHILDREN: usize = 512;

/// A node's state, as reported up the hierarchy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeReport {
    /// The node's name (from its certificate).
    pub name: String,
    /// Its jurisdiction.
    pub jurisdiction: DivisionCode,
    /// Record versions held (live and tombstones).
    pub records: u64,
    /// Of which tombstones.
    pub tombstones: u64,
    /// Fingerprint of everything held.
    pub store_root: String,
    /// Record versions in the partitions its link to the parent compares.
    pub scope_count: i64,
    /// Fingerprint of those partitions' cells: equal to the parent's figure for the
    /// same scope when the two hold the same.
    pub scope_root: String,
    /// Its periodic sync interval, in milliseconds.
    pub interval_ms: u64,
    /// When the report was made (ms since the epoch, the node's clock).
    pub at_ms: u64,
    /// Its link to its parent (none for the national hub).
    pub parent: Option<LinkReport>,
    /// What its children last told it.
    pub children: Vec<ChildReport>,
}

/// The state of a node's link to its parent, as the node sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkReport {
    /// A connection is up.
    pub connected: bool,
    /// The last session found both sides holding the same (nothing moved).
    pub caught_up: bool,
    /// When the last session succeeded (ms since the epoch).
    pub last_success_ms: Option<u64>,
    /// The last failure, if the last attempt failed.
    pub last_error: Option<String>,
}

/// A child as its parent knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChildReport {
    /// The child's name (from its certificate).
    pub name: String,
    /// Its jurisdiction (from its certificate).
    pub jurisdiction: DivisionCode,
    /// When its last session ended (ms since the epoch, the parent's clock).
    pub last_session_ms: u64,
    /// Whether that session succeeded.
    pub ok: bool,
    /// Whether that session found nothing to move.
    pub caught_up: bool,
    /// Its error, if it failed.
    pub error: Option<String>,
    /// Record versions the parent holds in the link's scope beyond those the child
    /// reported holding there (negative: the child holds more, not yet sent up).
    pub behind_records: Option<i64>,
    /// Whether the parent's fingerprint of the link's scope equals the child's.
    pub roots_match: Option<bool>,
    /// What the child reported at the start of its last session.
    pub report: Option<Box<NodeReport>>,
}

impl ChildReport {
    /// Whether the child has not been heard from for longer than three of its sync
    /// intervals (and at least 10 s): its figures are then its last-known state.
    pub fn is_unreachable(&self, now_ms: u64) -> bool {
        let interval = self.report.as_ref().map_or(30_000, |r| r.interval_ms);
        now_ms.saturating_sub(self.last_session_ms) > (3 * interval).max(10_000)
    }

    /// How long since the child was last heard from, in milliseconds.
    pub fn silent_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.last_session_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_child_is_unreachable_after_three_intervals() {
        let c = ChildReport {
            last_session_ms: 100_000,
            report: Some(Box::new(NodeReport {
                interval_ms: 5_000,
                ..NodeReport::default()
            })),
            ..ChildReport::default()
        };
        assert!(!c.is_unreachable(110_000));
        assert!(c.is_unreachable(116_000));
        let report = NodeReport {
            children: vec![c],
            ..NodeReport::default()
        };
        let bytes = postcard::to_stdvec(&report).expect("encodes");
        assert_eq!(
            postcard::from_bytes::<NodeReport>(&bytes).expect("decodes"),
            report
        );
    }
}
