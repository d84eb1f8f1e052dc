//! The scheduler: a three-tier federation, a busy phase of local writes interleaved
//! with sessions (some broken by loss and crashes), then a quiet phase of fault-free
//! rounds until every node holds what it should.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::ids::DivisionCode;
use crate::record::{RecordBody, RecordKey, RecordKind};
use crate::sync::Limits;
use crate::testing::body_about;

use super::check::{Checker, ROUND_BOUND};
use super::model::{NodeCell, SimNode};
use super::network::{Faults, Network};
use super::session::{End, LinkRun, SimConfig};
use super::{Config, Failure, Report};
use crate::session::SessionConfig;

/// One node of the federation.
struct NodeSpec {
    name: &'static str,
    jurisdiction: &'static str,
    /// The division its local subjects are registered in.
    local: &'static str,
    subscriptions: &'static [RecordKind],
    parent: Option<usize>,
}

const fn spec(
    name: &'static str,
    jurisdiction: &'static str,
    local: &'static str,
    subscriptions: &'static [RecordKind],
    parent: Option<usize>,
) -> NodeSpec {
    NodeSpec {
        name,
        jurisdiction,
        local,
        subscriptions,
        parent,
    }
}

/// The federation. Cities' subscriptions are subsets of their province's, as the
/// README asks; Ningbo subscribes to nothing (it takes only what is about its
/// subjects).
const NODES: [NodeSpec; 7] = [
    spec("national", "000000", "110105", &[], None),
    spec("jiangsu", "320000", "320000", &[BLACK, DEBTOR], Some(0)),
    spec("zhejiang", "330000", "330000", &[BLACK, DEBTOR], Some(0)),
    spec("suzhou", "320500", "320583", &[BLACK, DEBTOR], Some(1)),
    spec("nanjing", "320100", "320102", &[BLACK], Some(1)),
    spec("hangzhou", "330100", "330106", &[DEBTOR, BLACK], Some(2)),
    spec("ningbo", "330200", "330203", &[], Some(2)),
];
const BLACK: RecordKind = RecordKind::BLACK_LIST;
const DEBTOR: RecordKind = RecordKind::DISHONEST_DEBTOR;

/// Links from the national hub down to the deepest city.
pub(crate) const DEPTH: u32 = 2;

/// Kinds of the records written.
const KINDS: [RecordKind; 4] = [RecordKind::PENALTY, RecordKind::LICENCE, BLACK, DEBTOR];

/// Divisions of the subjects of records written about another place than the writer's.
const ELSEWHERE: [&str; 11] = [
    "320583", "320506", "320102", "330106", "330203", "320000", "330000", "110105", "440305",
    "320115", "330212",
];

/// Builds the federation's nodes, empty.
pub(crate) fn federation(bug: Option<super::Bug>) -> Vec<NodeCell> {
    NODES
        .iter()
        .map(|n| {
            let code = DivisionCode::parse(n.jurisdiction).unwrap_or(DivisionCode::NATIONAL);
            let node = SimNode::new(n.name, code, n.subscriptions.to_vec(), n.parent, bug);
            NodeCell(RefCell::new(node))
        })
        .collect()
}

/// The writers' memory: the bodies of records they issued, to update them.
#[derive(Default)]
struct Workload {
    next: u32,
    bodies: BTreeMap<RecordKey, RecordBody>,
    own: BTreeMap<usize, Vec<RecordKey>>,
}

impl Workload {
    /// One local write at node `at`: a new record (about a local subject or one
    /// elsewhere, of a random kind), an update of one of its records (same natural
    /// key, another body, a higher version), or a tombstone.
    /// `new` is the chance of a new record when the node has records of its own.
    fn write(
        &mut self,
        at: usize,
        new: f64,
        nodes: &[NodeCell],
        net: &mut Network,
        check: &mut Checker,
    ) {
        let mut node = nodes[at].0.borrow_mut();
        let own = self.own.entry(at).or_default();
        let (key, body) = if own.is_empty() || net.chance(new) {
            let division = if net.chance(0.5) {
                NODES[at].local
            } else {
                ELSEWHERE[net.below(ELSEWHERE.len())]
            };
            self.next += 1;
            let body = body_about(self.next, division);
            let kind = KINDS[net.below(KINDS.len())];
            let key = RecordKey::derive(node.jurisdiction, kind, &body);
            own.push(key);
            self.bodies.insert(key, body.clone());
            (key, Some(body))
        } else {
            let key = own[net.below(own.len())];
            if net.chance(0.7) {
                let body = self.bodies.get_mut(&key).map(|b| {
                    self.next += 1;
                    b.extra.insert("revision".into(), self.next.to_string());
                    b.clone()
                });
                (key, body)
            } else {
                (key, None)
            }
        };
        let now = u64::from(self.next) + 1_700_000_000_000;
        let (record, _) = node.write_local(key, body, now);
        check.wrote(at, &node, &record);
    }
}

/// Counts of sessions by how they ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SessionCounts {
    /// Ran to their end.
    pub completed: u64,
    /// Broken by a lost message or a crash.
    pub aborted: u64,
    /// Ended on a receiver's count mismatch that an injected duplicate explains.
    pub duplicate_mismatch: u64,
}

impl SessionCounts {
    fn ended(&mut self, end: &End, check: &mut Checker) {
        match end {
            End::Completed { .. } => self.completed += 1,
            End::Aborted => self.aborted += 1,
            End::Failed { injected: true, .. } => self.duplicate_mismatch += 1,
            End::Failed { reason, .. } => check.fail(format!("session failed: {reason}")),
        }
    }
}

/// Runs one seed; see [`super::run`].
pub(crate) fn run(seed: u64, config: &Config) -> Result<Report, Box<Failure>> {
    let mut net = Network::new(seed, config.faults);
    let nodes = federation(config.bug);
    let mut check = Checker::new();
    let mut work = Workload::default();
    let frame_records = 1 + net.below(6);
    let want_chunk = 1 + net.below(6);
    let in_flight = 1 + net.below(3);
    let limits = Limits {
        list_threshold: if net.chance(0.5) {
            Limits::default().list_threshold
        } else {
            1 + net.below(3) as i64
        },
        sketch_from: if net.chance(0.5) {
            Limits::default().sketch_from
        } else {
            2 + net.below(14) as i64
        },
        ..Limits::default()
    };
    // Small partitions take every path of the reconciliation only with small
    // thresholds: descents below `list_threshold`, estimates and sketches from
    // `sketch_from` items. Every refusal is reported, for the checker.
    let session = SimConfig {
        session: SessionConfig {
            frame_records,
            want_chunk,
            limits,
            logged_events: usize::MAX,
            ..SessionConfig::default()
        },
        in_flight,
    };
    for at in 0..nodes.len() {
        for _ in 0..net.below(config.initial + 1) {
            work.write(at, 1.0, &nodes, &mut net, &mut check);
        }
    }

    // The busy phase: writes, sessions on every link (at most one per link at a
    // time) advancing a delivery at a time in random order, losses, crashes.
    let mut counts = SessionCounts::default();
    let mut slots: Vec<Option<LinkRun<'_>>> = (0..nodes.len()).map(|_| None).collect();
    let mut down_until = vec![0usize; nodes.len()];
    let mut writes_left = config.writes;
    for step in 0..config.steps {
        for (i, until) in down_until.iter().enumerate() {
            if *until == step {
                nodes[i].0.borrow_mut().up = true;
            }
        }
        let up = |i: usize| nodes[i].0.borrow().up;
        if net.crash() {
            let victim = net.below(nodes.len());
            if up(victim) {
                nodes[victim].0.borrow_mut().up = false;
                down_until[victim] = step + 5 + net.below(40);
                for slot in slots.iter_mut() {
                    if slot.as_ref().is_some_and(|s| s.ends().contains(&victim)) {
                        *slot = None;
                        counts.aborted += 1;
                    }
                }
            }
        }
        let steps_left = config.steps - step;
        if writes_left > 0 && net.chance(writes_left as f64 / steps_left as f64) {
            // Sometimes a burst of corrections: several records of a partition
            // change between two sessions, which is what sends reconciliations
            // down the estimate-and-sketch path.
            let at = net.below(nodes.len());
            let (burst, new) = if net.chance(0.15) {
                (2 + net.below(5), 0.1)
            } else {
                (1, config.new_records)
            };
            for _ in 0..burst.min(writes_left) {
                if up(at) {
                    work.write(at, new, &nodes, &mut net, &mut check);
                    writes_left -= 1;
                }
            }
            continue;
        }
        let idle: Vec<usize> = (1..nodes.len())
            .filter(|&c| slots[c].is_none() && up(c) && nodes[c].0.borrow().parent.is_some_and(up))
            .collect();
        let active: Vec<usize> = (1..nodes.len()).filter(|&c| slots[c].is_some()).collect();
        if !idle.is_empty() && (active.is_empty() || net.chance(config.session_start)) {
            let c = idle[net.below(idle.len())];
            let salt = net.salt();
            slots[c] = Some(LinkRun::open(&nodes, c, session, config.bug, salt));
        } else if !active.is_empty() {
            let c = active[net.below(active.len())];
            if let Some(end) = slots[c].as_mut().and_then(|s| s.step(&mut net, &mut check)) {
                counts.ended(&end, &mut check);
                slots[c] = None;
            }
        }
    }

    // The quiet phase: every node back, no more faults. Sessions in flight either
    // finish or break; then rounds of one session per link until convergence.
    net.set_faults(Faults::NONE);
    for n in &nodes {
        n.0.borrow_mut().up = true;
    }
    let drain = net.chance(0.5);
    run_all(&mut slots, drain, &mut net, &mut check, &mut counts);
    let mut rounds = 0;
    while !check.converged(&nodes) {
        rounds += 1;
        if rounds > ROUND_BOUND + 6 {
            break;
        }
        for (c, slot) in slots.iter_mut().enumerate().skip(1) {
            *slot = Some(LinkRun::open(&nodes, c, session, config.bug, net.salt()));
        }
        let ends = run_all(&mut slots, true, &mut net, &mut check, &mut counts);
        for end in ends {
            if !matches!(end, End::Completed { .. }) {
                check.fail(format!("quiet round {rounds}: session ended {end:?}"));
            }
        }
    }
    if rounds > ROUND_BOUND {
        check.fail(format!(
            "{rounds} quiet rounds to converge (bound {ROUND_BOUND})"
        ));
    }
    // Converged: one more round moves nothing and costs one round trip per link.
    for (c, slot) in slots.iter_mut().enumerate().skip(1) {
        *slot = Some(LinkRun::open(&nodes, c, session, config.bug, net.salt()));
    }
    for end in run_all(&mut slots, true, &mut net, &mut check, &mut counts) {
        if end
            != (End::Completed {
                messages: 2,
                records: 0,
            })
        {
            check.fail(format!(
                "idle round after convergence: session ended {end:?}"
            ));
        }
    }
    check.finish(&nodes);

    let report = Report {
        seed,
        records: check.records(),
        rounds,
        max_messages: check.max_messages,
        reconciliations: check.reconciliations,
        parts: check.parts,
        sessions: counts,
        injected: net.injected,
        receipts: check.receipts.clone(),
    };
    if check.violations.is_empty() {
        Ok(report)
    } else {
        Err(Box::new(Failure {
            seed,
            config: config.name,
            bug: config.bug,
            violations: check.violations,
            report,
        }))
    }
}

/// Runs the sessions in `slots` to their ends (`finish`), delivering in random
/// order across links, or breaks them all; returns how each ended.
fn run_all(
    slots: &mut [Option<LinkRun<'_>>],
    finish: bool,
    net: &mut Network,
    check: &mut Checker,
    counts: &mut SessionCounts,
) -> Vec<End> {
    let mut ends = Vec::new();
    if !finish {
        for slot in slots.iter_mut().filter(|s| s.is_some()) {
            *slot = None;
            counts.aborted += 1;
        }
        return ends;
    }
    loop {
        let active: Vec<usize> = (0..slots.len()).filter(|&c| slots[c].is_some()).collect();
        if active.is_empty() {
            return ends;
        }
        let c = active[net.below(active.len())];
        if let Some(end) = slots[c].as_mut().and_then(|s| s.step(net, check)) {
            counts.ended(&end, check);
            ends.push(end);
            slots[c] = None;
        }
    }
}
