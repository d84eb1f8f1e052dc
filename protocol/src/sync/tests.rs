//! Two reconcilers over in-memory indexes: they always converge, within a bound on
//! messages, whatever the two sets are.

use proptest::prelude::*;

use super::*;
use crate::digest::{Digest, DigestItem, NodePath, PartitionId, FANOUT};
use crate::ids::DivisionCode;
use crate::record::{RecordId, RecordKind, Version};

/// Result of driving two reconcilers to the end.
struct Run {
    a: Outcome,
    b: Outcome,
    messages: usize,
    bytes_ab: usize,
    bytes_ba: usize,
}

const LIMIT: usize = 64 << 20;

fn run(a: &MemIndex, b: &MemIndex, scope: impl Fn(&PartitionId) -> bool + Copy) -> Run {
    run_with(a, b, scope, Limits::default(), 7)
}

fn run_with(
    a: &MemIndex,
    b: &MemIndex,
    scope: impl Fn(&PartitionId) -> bool + Copy,
    limits: Limits,
    salt: u64,
) -> Run {
    let mut left = Reconciler::new(a, scope, limits).with_salt(salt);
    let mut right = Reconciler::new(b, scope, limits);
    let mut msg = left.start().expect("start");
    let (mut messages, mut bytes_ab, mut bytes_ba) = (1, 0, 0);
    let mut to_right = true;
    loop {
        let wire = msg.encode().expect("encodes");
        if to_right {
            bytes_ab += wire.len()
        } else {
            bytes_ba += wire.len()
        }
        let decoded = Message::decode(&wire, LIMIT).expect("decodes");
        let side = if to_right { &mut right } else { &mut left };
        match side.receive(decoded).expect("receive") {
            Some(reply) => {
                msg = reply;
                messages += 1;
                to_right = !to_right;
            }
            None => break,
        }
    }
    assert!(left.is_finished() && right.is_finished());
    Run {
        a: left.outcome().clone(),
        b: right.outcome().clone(),
        messages,
        bytes_ab,
        bytes_ba,
    }
}

/// Carries out an outcome: the versions each side must send or fetch cross over.
fn transfer(a: &mut MemIndex, b: &mut MemIndex, run: &Run) {
    let (a0, b0) = (a.clone(), b.clone());
    for (p, path) in run.a.send_ranges.iter().chain(&run.b.fetch_ranges) {
        for item in a0.items(p, *path).unwrap_or_default() {
            b.put(*p, item);
        }
    }
    for (p, path) in run.b.send_ranges.iter().chain(&run.a.fetch_ranges) {
        for item in b0.items(p, *path).unwrap_or_default() {
            a.put(*p, item);
        }
    }
    for (p, id) in run.a.send.iter().chain(&run.b.fetch) {
        if let Some(item) = a0.get(p, id) {
            b.put(*p, item);
        }
    }
    for (p, id) in run.b.send.iter().chain(&run.a.fetch) {
        if let Some(item) = b0.get(p, id) {
            a.put(*p, item);
        }
    }
}

fn partition(n: u8) -> PartitionId {
    let origin =
        DivisionCode::from_u32(320500 + u32::from(n % 4)).unwrap_or(DivisionCode::NATIONAL);
    PartitionId {
        scope: crate::digest::Scope::Origin(origin),
        kind: if n < 4 {
            RecordKind::PENALTY
        } else {
            RecordKind::LICENCE
        },
    }
}

fn item(seed: u64, version: u64) -> DigestItem {
    let h = blake3::hash(&seed.to_le_bytes());
    let mut id = [0u8; 16];
    id.copy_from_slice(&h.as_bytes()[..16]);
    let digest = Digest(
        *blake3::hash(&[&seed.to_le_bytes()[..], &version.to_le_bytes()[..]].concat()).as_bytes(),
    );
    DigestItem {
        id: RecordId(id),
        version: Version(version),
        digest,
    }
}

fn all_scope(_: &PartitionId) -> bool {
    true
}

#[test]
fn equal_sets_cost_one_round_trip_and_little() {
    let mut a = MemIndex::new();
    for s in 0..5000 {
        a.put(partition((s % 8) as u8), item(s, 1));
    }
    let b = a.clone();
    let r = run(&a, &b, all_scope);
    assert_eq!(r.messages, 2, "hello and an empty round");
    assert!(
        r.bytes_ab + r.bytes_ba < 200,
        "{} + {} bytes",
        r.bytes_ab,
        r.bytes_ba
    );
    assert_eq!(r.a, Outcome::default());
}

#[test]
fn single_differences_are_named_without_descending() {
    let mut a = MemIndex::new();
    for s in 0..20_000 {
        a.put(partition(0), item(s, 1));
    }
    let mut b = a.clone();
    b.put(partition(0), item(7, 2)); // an update on b
    let r = run(&a, &b, all_scope);
    assert!(r.messages <= 5, "{} messages", r.messages);
    let key = (partition(0), item(7, 1).id);
    assert!(r.a.fetch.contains(&key) || r.b.send.contains(&key));
    let (mut a2, mut b2) = (a.clone(), b.clone());
    transfer(&mut a2, &mut b2, &r);
    assert_eq!(a2.get(&key.0, &key.1), b2.get(&key.0, &key.1));
}

#[test]
fn out_of_scope_partitions_are_neither_compared_nor_accepted() {
    let mut a = MemIndex::new();
    let mut b = MemIndex::new();
    a.put(partition(0), item(1, 1));
    b.put(partition(5), item(2, 1));
    let only_first = |p: &PartitionId| *p == partition(0);
    let r = run(&a, &b, only_first);
    // b holds nothing of the in-scope partition: the whole of it moves, and nothing else.
    let ranges: Vec<_> = r.a.send_ranges.iter().chain(&r.b.fetch_ranges).collect();
    assert_eq!(ranges, vec![&(partition(0), crate::digest::NodePath::ROOT)]);
    assert!(r.a.fetch.is_empty() && r.b.send.is_empty() && r.a.fetch_ranges.is_empty());

    // A peer naming a partition outside the scope is refused.
    let mut right = Reconciler::new(&b, only_first, Limits::default());
    let bad = Message::Round(vec![Part::Items {
        partition: partition(5),
        path: crate::digest::NodePath::ROOT,
        items: vec![],
    }]);
    right
        .receive(Message::Hello {
            salt: 0,
            version: PROTOCOL_VERSION,
            summary: message::RootSummary::of(&crate::digest::Cell::EMPTY),
        })
        .unwrap();
    assert!(matches!(right.receive(bad), Err(SyncError::Protocol(_))));
}

#[test]
fn an_interrupted_bulk_load_resumes_with_ranges() {
    let mut a = MemIndex::new();
    for s in 0..50_000 {
        a.put(partition(0), item(s, 1));
    }
    // b received the first 60 % of a's partition in key order, then the link broke.
    let mut b = MemIndex::new();
    let all: Vec<_> = a.all().collect();
    for (p, it) in &all[..30_000] {
        b.put(*p, *it);
    }
    let r = run(&a, &b, all_scope);
    let ranged: usize =
        r.a.send_ranges
            .iter()
            .chain(&r.b.fetch_ranges)
            .map(|(p, path)| a.items(p, *path).unwrap_or_default().len())
            .sum();
    let single = r.a.send.len() + r.b.fetch.len();
    assert_eq!(ranged + single, 20_000);
    assert!(
        single < 2_000,
        "most of the rest moves as whole subtrees ({single} listed one by one)"
    );
    assert!(
        r.bytes_ab + r.bytes_ba < 64 * 1024,
        "{} bytes",
        r.bytes_ab + r.bytes_ba
    );
    let (mut a2, mut b2) = (a.clone(), b.clone());
    transfer(&mut a2, &mut b2, &r);
    assert_eq!(a2.all().collect::<Vec<_>>(), b2.all().collect::<Vec<_>>());
}

#[test]
fn large_partitions_are_compared_through_a_sketch() {
    let mut a = MemIndex::new();
    for s in 0..40_000 {
        a.put(partition(0), item(s, 1));
    }
    let mut b = a.clone();
    for s in 0..30 {
        a.put(partition(0), item(500_000 + s, 1)); // only on a
        b.put(partition(0), item(600_000 + s, 1)); // only on b
        b.put(partition(0), item(s * 97, 2)); // newer on b
    }
    let r = run(&a, &b, all_scope);
    assert!(r.messages <= 6, "{} messages", r.messages);
    let found = r.a.send.len() + r.a.fetch.len() + r.b.send.len() + r.b.fetch.len();
    assert_eq!(found, 90);
    // Far fewer bytes than the 256 level-2 cells a descent would send.
    assert!(
        r.bytes_ab + r.bytes_ba < 90 * 120,
        "{} bytes",
        r.bytes_ab + r.bytes_ba
    );
    let (mut a2, mut b2) = (a.clone(), b.clone());
    transfer(&mut a2, &mut b2, &r);
    assert_eq!(a2.all().collect::<Vec<_>>(), b2.all().collect::<Vec<_>>());
}

/// Found by the `reconciler` fuzz target's replay test (`tests/tests/fuzz_corpus.rs`): a
/// peer's root cell with a count near ±2^63 made the comparison of the two counts
/// overflow (a panic with overflow checks, a wrong comparison without).
#[test]
fn extreme_counts_from_the_peer_do_not_overflow() {
    let mut a = MemIndex::new();
    for s in 0..20 {
        a.put(partition(0), item(s, 1));
    }
    for count in [i64::MIN, i64::MIN + 1, -(1 << 62), -1, 1 << 62, i64::MAX] {
        let mut side = Reconciler::new(&a, all_scope, Limits::default());
        let roots = Message::Round(vec![Part::Roots(vec![PartitionRoot {
            partition: partition(0),
            cell: WireCell {
                count,
                sums: [1u64, 2, 3].map(u64::to_le_bytes),
            },
        }])]);
        // Counts far from this side's 20: it descends.
        match side.receive(roots) {
            Ok(Some(Message::Round(parts))) => {
                assert!(
                    matches!(parts.as_slice(), [Part::Children { .. }]),
                    "count {count}: {parts:?}"
                );
            }
            other => panic!("count {count}: {other:?}"),
        }
    }
}

#[test]
fn a_message_that_repeats_a_part_is_refused() {
    let mut a = MemIndex::new();
    for s in 0..20 {
        a.put(partition(0), item(s, 1));
    }
    let children = || Part::Children {
        partition: partition(0),
        path: NodePath::ROOT,
        cells: vec![
            WireCell {
                count: 1,
                sums: [1u64, 2, 3].map(u64::to_le_bytes),
            };
            FANOUT
        ],
    };
    // Once is an honest question, answered.
    let mut side = Reconciler::new(&a, all_scope, Limits::default());
    assert!(side.receive(Message::Round(vec![children()])).is_ok());
    // Twice in one message is refused, naming the part.
    let mut side = Reconciler::new(&a, all_scope, Limits::default());
    match side.receive(Message::Round(vec![children(), children()])) {
        Err(SyncError::Protocol(why)) => assert!(why.contains("sent twice"), "{why}"),
        other => panic!("a repeated part was taken: {other:?}"),
    }
}

#[derive(Debug, Clone)]
enum Change {
    OnlyA(u64),
    OnlyB(u64),
    NewerOnA(u64),
    NewerOnB(u64),
}

fn changes() -> impl Strategy<Value = Vec<Change>> {
    proptest::collection::vec(
        prop_oneof![
            (0u64..100_000).prop_map(Change::OnlyA),
            (0u64..100_000).prop_map(Change::OnlyB),
            (0u64..3_000).prop_map(Change::NewerOnA),
            (0u64..3_000).prop_map(Change::NewerOnB),
        ],
        0..300,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Random shared sets with random differences on both sides (records only on one
    /// side, newer versions on either side — tombstones are versions too) always
    /// converge in one reconciliation, within a bounded number of messages.
    #[test]
    fn reconciliation_converges(base in 0u64..3_000, partitions in 1u8..8, changes in changes(),
                                sketch_from in prop_oneof![Just(4096i64), 1i64..200], salt in any::<u64>()) {
        let limits = Limits { sketch_from, ..Limits::default() };
        let mut a = MemIndex::new();
        for s in 0..base {
            a.put(partition((s % u64::from(partitions)) as u8), item(s, 1));
        }
        let mut b = a.clone();
        for c in &changes {
            match *c {
                Change::OnlyA(s) => a.put(partition((s % 8) as u8), item(1_000_000 + s, 1)),
                Change::OnlyB(s) => b.put(partition((s % 8) as u8), item(1_000_000 + s, 1)),
                Change::NewerOnA(s) => a.put(partition((s % u64::from(partitions)) as u8), item(s, 2 + s % 3)),
                Change::NewerOnB(s) => b.put(partition((s % u64::from(partitions)) as u8), item(s, 5 + s % 3)),
            }
        }
        let r = run_with(&a, &b, all_scope, limits, salt);
        prop_assert!(r.messages <= 14, "{} messages", r.messages);
        prop_assert!(r.a.conflicts.is_empty() && r.b.conflicts.is_empty());
        transfer(&mut a, &mut b, &r);
        let left: Vec<_> = a.all().collect();
        let right: Vec<_> = b.all().collect();
        prop_assert_eq!(left, right);
        // A second reconciliation finds nothing left.
        let again = run_with(&a, &b, all_scope, limits, salt);
        prop_assert_eq!(again.messages, 2);
    }
}
