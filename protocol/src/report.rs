//! What a node tells its parent about itself at the start of every session, and,
//! recursively, what its own children last told it: a hub's view of the federation
//! below it (`credit-admin status --tree`) is made of these reports.

use serde::{Deserialize, Serialize};

use crate::ids::DivisionCode;

/// Children listed in one report at most (a province has a few dozen cities).
pub const MAX_CHILDREN: usize = 512;

/// Levels of reports nested in a report at most (a child's report holds its children's,
/// and theirs; the hierarchy has four levels). Deeper reports are left out when a
/// report is written and refused when one is read: decoding recurses once per level,
/// and a small frame of deeply nested reports would otherwise overflow the stack of the
/// thread reading it.
pub const MAX_NESTED_REPORTS: usize = 16;

/// A node's state, as reported up the hierarchy.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeReport {
    /// The node's name (from its certificate).
    pub name: String,
    /// Its jurisdiction.
    pub jurisdiction: DivisionCode,
    /// Record versions held (live and tombstones).
    pub records: u64,
    /// Of which tombstones, where counted (reports made for every round leave it at 0:
    /// counting needs a scan of every record; `stats` counts them).
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
    /// What the child reported at the start of its last session (at most
    /// [`MAX_NESTED_REPORTS`] levels deep).
    #[serde(default, with = "nested")]
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

/// (De)serialisation of a child's nested report, counting the levels being read or
/// written on this thread.
mod nested {
    use std::cell::Cell;
    use std::fmt;

    use serde::de::{self, Deserializer, Visitor};
    use serde::{Deserialize, Serializer};

    use super::{NodeReport, MAX_NESTED_REPORTS};

    thread_local! {
        static DEPTH: Cell<usize> = const { Cell::new(0) };
    }

    /// One level entered; left when dropped.
    struct Level;

    impl Level {
        fn enter() -> Option<Level> {
            DEPTH.with(|d| {
                let n = d.get();
                (n < MAX_NESTED_REPORTS).then(|| {
                    d.set(n + 1);
                    Level
                })
            })
        }
    }

    impl Drop for Level {
        fn drop(&mut self) {
            DEPTH.with(|d| d.set(d.get().saturating_sub(1)));
        }
    }

    pub(super) fn serialize<S: Serializer>(
        report: &Option<Box<NodeReport>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match (report, Level::enter()) {
            (Some(r), Some(_level)) => s.serialize_some(r),
            // Too deep: left out.
            _ => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Box<NodeReport>>, D::Error> {
        d.deserialize_option(Nested)
    }

    struct Nested;

    impl<'de> Visitor<'de> for Nested {
        type Value = Option<Box<NodeReport>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an optional node report")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            let Some(_level) = Level::enter() else {
                return Err(de::Error::custom(format_args!(
                    "node reports nested more than {MAX_NESTED_REPORTS} levels deep"
                )));
            };
            Box::<NodeReport>::deserialize(d).map(Some)
        }
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

    /// A report with `depth` levels of child reports below it.
    fn nested(depth: usize) -> NodeReport {
        let mut r = NodeReport::default();
        for _ in 0..depth {
            r = NodeReport {
                children: vec![ChildReport {
                    report: Some(Box::new(r)),
                    ..ChildReport::default()
                }],
                ..NodeReport::default()
            };
        }
        r
    }

    fn depth(r: &NodeReport) -> usize {
        r.children
            .iter()
            .filter_map(|c| c.report.as_deref())
            .map(|c| 1 + depth(c))
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn nested_reports_round_trip_up_to_the_limit_and_are_cut_beyond() {
        let deepest = nested(MAX_NESTED_REPORTS);
        let bytes = postcard::to_stdvec(&deepest).expect("encodes");
        assert_eq!(postcard::from_bytes::<NodeReport>(&bytes), Ok(deepest));
        // A parent's report holds its child's: the level beyond the limit is left out,
        // so the parent's own parent still reads it.
        let deeper = nested(MAX_NESTED_REPORTS + 3);
        let bytes = postcard::to_stdvec(&deeper).expect("encodes");
        let read: NodeReport = postcard::from_bytes(&bytes).expect("decodes");
        assert_eq!(depth(&read), MAX_NESTED_REPORTS);
        let json = serde_json::to_string(&deeper).expect("json");
        let read: NodeReport = serde_json::from_str(&json).expect("json decodes");
        assert_eq!(depth(&read), MAX_NESTED_REPORTS);
    }

    /// Found by reading what the `frame_decode` fuzz target decodes: a 2 MB frame of
    /// reports nested 100 000 deep overflowed the stack of the thread decoding it
    /// (about 40 kB were enough for a 2 MiB thread stack) and aborted the node.
    #[test]
    fn deeply_nested_reports_are_refused_without_overflowing_the_stack() {
        // The wire form of one level, built from the encoding of empty reports:
        // a report whose only child has a report.
        let leaf = postcard::to_stdvec(&NodeReport::default()).expect("encodes");
        let child = postcard::to_stdvec(&ChildReport::default()).expect("encodes");
        let (report_head, child_head) = (&leaf[..leaf.len() - 1], &child[..child.len() - 1]);
        assert_eq!((leaf.last(), child.last()), (Some(&0), Some(&0)));
        let levels = 100_000;
        let mut bytes = Vec::with_capacity(levels * 24 + leaf.len());
        for _ in 0..levels {
            bytes.extend_from_slice(report_head);
            bytes.push(1); // one child
            bytes.extend_from_slice(child_head);
            bytes.push(1); // Some(report)
        }
        bytes.extend_from_slice(&leaf);
        let small_stack = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(move || {
                let deep = postcard::from_bytes::<NodeReport>(&bytes).map(|r| depth(&r));
                // The levels counted are left again after the error.
                let shallow = postcard::to_stdvec(&nested(MAX_NESTED_REPORTS)).expect("encodes");
                let after = postcard::from_bytes::<NodeReport>(&shallow).map(|r| depth(&r));
                (deep, after)
            })
            .expect("thread");
        let (deep, after) = small_stack.join().expect("no stack overflow");
        assert!(deep.is_err(), "{deep:?}");
        assert_eq!(after, Ok(MAX_NESTED_REPORTS));
    }
}
