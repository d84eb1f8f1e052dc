//! The invariants, checked as the run goes (every write, every apply, every
//! reconciliation) and at its end (what every node holds).

use std::collections::BTreeMap;

use crate::codec::EncodedRecord;
use crate::digest::Digest;
use crate::link::{LinkScope, Refusal};
use crate::record::{RecordKey, Version};
use crate::sync::{Message, Part};

use super::model::{Applied, NodeCell, SimNode};

/// The message bound of one reconciliation without loss, as the README states it.
pub(crate) const MESSAGE_BOUND: u32 = 14;

/// Fault-free rounds (one session per link each, all interleaved) within which the
/// federation converges after its last write: a record climbs and descends at most
/// `2 × DEPTH` links, and every round moves it at least one link.
pub(crate) const ROUND_BOUND: u32 = 2 * super::scheduler::DEPTH;

/// Violations kept per run (the first ones tell the story).
const KEPT: usize = 20;

/// Counts of what happened to received record versions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Receipts {
    /// Versions stored.
    pub applied: u64,
    /// Versions already held.
    pub unchanged: u64,
    /// Refusals in frames as sent, by reason: honest runs have none.
    pub refused: BTreeMap<Refusal, u64>,
    /// Refusals in injected duplicate frames, by reason (stale copies are expected).
    pub refused_duplicates: BTreeMap<Refusal, u64>,
}

/// What the reconciliations' messages carried, to show which paths of the
/// [`Reconciler`](crate::sync::Reconciler) a run exercised.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PartCounts {
    /// Root lists.
    pub roots: u64,
    /// Child cells of a node.
    pub children: u64,
    /// Item listings of a small node.
    pub items: u64,
    /// Decoded single differences.
    pub fragments: u64,
    /// Estimates of a large partition.
    pub estimates: u64,
    /// Sketches.
    pub sketches: u64,
    /// Whole subtrees to send (outcomes' ranges).
    pub ranges: u64,
}

impl PartCounts {
    /// Counts the parts of a message.
    pub(crate) fn count(&mut self, msg: &Message) {
        let Message::Round(parts) = msg else { return };
        for part in parts {
            let n = match part {
                Part::Roots(_) => &mut self.roots,
                Part::Children { .. } => &mut self.children,
                Part::Items { .. } => &mut self.items,
                Part::Fragment { .. } => &mut self.fragments,
                Part::Estimate { .. } => &mut self.estimates,
                Part::Sketch { .. } => &mut self.sketches,
            };
            *n += 1;
        }
    }
}

/// The invariant checker of one run.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    /// What went wrong, in order (at most a few).
    pub violations: Vec<String>,
    /// The latest version of every record ever written, and its digest.
    truth: BTreeMap<RecordKey, (Version, Digest)>,
    /// The highest version each node ever held of each record.
    seen: BTreeMap<(usize, RecordKey), Version>,
    /// What became of received versions.
    pub receipts: Receipts,
    /// Messages of each reconciliation that ran to its end, largest first.
    pub max_messages: u32,
    /// Reconciliations that ran to their end.
    pub reconciliations: u64,
    /// What their messages carried.
    pub parts: PartCounts,
}

impl Checker {
    /// A checker with nothing written yet.
    pub(crate) fn new() -> Checker {
        Checker::default()
    }

    /// Records a violation.
    pub(crate) fn fail(&mut self, what: impl Into<String>) {
        if self.violations.len() < KEPT {
            self.violations.push(what.into());
        }
    }

    /// A node wrote a version of its own record.
    pub(crate) fn wrote(&mut self, at: usize, node: &SimNode, record: &EncodedRecord) {
        let h = record.header();
        if let Some((v, _)) = self.truth.get(&record.key) {
            if *v >= h.version {
                self.fail(format!(
                    "{} wrote {} at {} not above the latest {}",
                    node.name, record.key, h.version, v
                ));
            }
        }
        self.truth.insert(record.key, (h.version, h.digest));
        self.held(at, node, &record.key, h.version);
    }

    /// A node was given a received version of `key` at `version` and did `applied`
    /// with it.
    pub(crate) fn received(
        &mut self,
        at: usize,
        node: &SimNode,
        key: &RecordKey,
        version: Version,
        applied: Applied,
        duplicate: bool,
    ) {
        let refusal = match applied {
            Applied::Stored { old } => {
                self.receipts.applied += 1;
                if old.is_some_and(|o| o >= version) {
                    self.fail(format!(
                        "{} replaced {key} at {old:?} by {version}",
                        node.name
                    ));
                }
                self.held(at, node, key, version);
                return;
            }
            Applied::Unchanged => {
                self.receipts.unchanged += 1;
                return;
            }
            Applied::Stale => Refusal::Stale,
            Applied::Conflict => Refusal::Conflict,
            Applied::Invalid => Refusal::Invalid,
        };
        self.refused(node, key, refusal, duplicate);
    }

    /// A node refused a received version.
    pub(crate) fn refused(
        &mut self,
        node: &SimNode,
        key: &RecordKey,
        why: Refusal,
        duplicate: bool,
    ) {
        let counts = if duplicate {
            &mut self.receipts.refused_duplicates
        } else {
            &mut self.receipts.refused
        };
        *counts.entry(why).or_default() += 1;
        let injected_stale = duplicate && why == Refusal::Stale;
        if !injected_stale {
            self.fail(format!(
                "{} refused {key} ({why}){}",
                node.name,
                if duplicate {
                    " in a duplicate frame"
                } else {
                    ""
                }
            ));
        }
    }

    /// Every version a node comes to hold: it never regresses, and the node must be
    /// entitled to the record.
    fn held(&mut self, at: usize, node: &SimNode, key: &RecordKey, version: Version) {
        let seen = self.seen.entry((at, *key)).or_insert(version);
        if version < *seen {
            let was = *seen;
            self.fail(format!(
                "{} regressed {key} from {was} to {version}",
                node.name
            ));
        } else {
            *seen = version;
        }
        if node.parent.is_some() && !node.uplink_scope().holds(key) {
            self.fail(format!("{} holds {key}, which it may not", node.name));
        }
    }

    /// A reconciliation ran to its end in `messages` messages.
    pub(crate) fn reconciled(&mut self, link: &str, messages: u32) {
        self.reconciliations += 1;
        self.max_messages = self.max_messages.max(messages);
        if messages > MESSAGE_BOUND {
            self.fail(format!(
                "reconciliation on link {link} took {messages} messages (bound {MESSAGE_BOUND})"
            ));
        }
    }

    /// What a node should hold once converged: everything at the national hub; at
    /// any other node, the records its link scope says it holds, at their latest
    /// version.
    pub(crate) fn expected(&self, node: &SimNode) -> BTreeMap<RecordKey, (Version, Digest)> {
        let scope: Option<LinkScope> = node.parent.map(|_| node.uplink_scope());
        self.truth
            .iter()
            .filter(|(k, _)| scope.as_ref().is_none_or(|s| s.holds(k)))
            .map(|(k, v)| (*k, *v))
            .collect()
    }

    /// The differences between what a node holds and what it should (empty once
    /// converged), at most `limit` of them.
    pub(crate) fn differences(&self, node: &SimNode, limit: usize) -> Vec<String> {
        let expected = self.expected(node);
        let mut out = Vec::new();
        for (k, (v, d)) in &expected {
            match node.get(k).map(EncodedRecord::header) {
                None => out.push(format!("{} lacks {k} (v {v})", node.name)),
                Some(h) if h.version != *v || h.digest != *d => out.push(format!(
                    "{} holds {k} at {} instead of {v}",
                    node.name, h.version
                )),
                Some(_) => {}
            }
        }
        for k in node.records().keys() {
            if !expected.contains_key(k) {
                out.push(format!("{} holds {k}, which it should not", node.name));
            }
        }
        out.truncate(limit);
        out
    }

    /// Whether every node holds exactly what it should.
    pub(crate) fn converged(&self, nodes: &[NodeCell]) -> bool {
        nodes
            .iter()
            .all(|n| self.differences(&n.0.borrow(), 1).is_empty())
    }

    /// The final checks: every node holds exactly what it should, and its digest
    /// index is exactly the one its records give.
    pub(crate) fn finish(&mut self, nodes: &[NodeCell]) {
        for n in nodes {
            let node = n.0.borrow();
            for d in self.differences(&node, 5) {
                self.fail(d);
            }
            if !node.index_is_consistent() {
                self.fail(format!(
                    "{}: digest index differs from its records",
                    node.name
                ));
            }
        }
    }

    /// Records written in all (distinct keys).
    pub(crate) fn records(&self) -> usize {
        self.truth.len()
    }
}
