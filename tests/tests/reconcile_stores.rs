//! Two real stores reconciled with the protocol's state machine: after the records
//! the outcome names cross over, both hold the same versions and the same roots.

use credithub_node::store::ApplyStats;
use credithub_node::Store;
use credithub_protocol::sync::{Limits, Message, Reconciler};
use credithub_protocol::{DivisionCode, PartitionId};
use credithub_scenarios::generate::{Generator, GeneratorConfig, RecordMix};

fn reconcile(a: &Store, b: &Store, limits: Limits) -> usize {
    let scope = |_: &PartitionId| true;
    let mut left = Reconciler::new(a, scope, limits).with_salt(99);
    let mut right = Reconciler::new(b, scope, limits);
    let mut msg = left.start().expect("start");
    let (mut messages, mut to_right) = (1, true);
    loop {
        let wire = Message::decode(&msg.encode().expect("encodes"), 64 << 20).expect("decode");
        let side = if to_right { &mut right } else { &mut left };
        match side.receive(wire).expect("receive") {
            Some(reply) => {
                msg = reply;
                messages += 1;
                to_right = !to_right;
            }
            None => break,
        }
    }
    credithub_node::sync::settle(a, b, left.outcome(), right.outcome()).expect("settle");
    messages
}

#[test]
fn stores_converge_after_one_reconciliation() {
    let suzhou = DivisionCode::parse("320500").expect("code");
    let dir = tempfile::tempdir().expect("tempdir");
    // Both hold the same origin's records (as a city and its province do).
    let a = Store::open(&dir.path().join("a"), Some(suzhou)).expect("a");
    let b = Store::open(&dir.path().join("b"), Some(suzhou)).expect("b");
    let mut generator =
        Generator::new(5, GeneratorConfig::for_count(suzhou, 6_000)).expect("generator");
    let bodies: Vec<_> = generator.bodies(6_000, &RecordMix::default()).collect();
    let shared = bodies[..5_000].to_vec();
    assert_eq!(
        ApplyStats::of(&a.write_local(shared.clone(), 1_000).expect("a")).inserted,
        5_000
    );
    b.write_local(shared, 1_000).expect("b");
    // New records on each side, a correction on one side and a deletion on the other.
    a.write_local(bodies[5_000..5_400].to_vec(), 2_000)
        .expect("a new");
    b.write_local(bodies[5_400..].to_vec(), 2_000)
        .expect("b new");
    let mut corrected = bodies[10].clone();
    corrected.1.extra.insert("BZ".into(), "更正".into());
    b.write_local(vec![corrected], 3_000).expect("correction");
    let victim = credithub_protocol::RecordKey::derive(suzhou, bodies[20].0, &bodies[20].1);
    a.delete_local(&[victim], 3_000).expect("tombstone");

    for limits in [
        Limits::default(),
        Limits {
            sketch_from: 64,
            ..Limits::default()
        },
    ] {
        let messages = reconcile(&a, &b, limits);
        assert!(messages <= 14, "{messages} messages");
        assert_eq!(a.store_root().expect("root"), b.store_root().expect("root"));
        assert_eq!(
            a.partitions().expect("parts"),
            b.partitions().expect("parts")
        );
        assert!(a.verify(|_| {}).expect("verify").is_clean());
        assert!(b.verify(|_| {}).expect("verify").is_clean());
        assert!(b.get(&victim).expect("get").expect("held").is_tombstone());
        // Nothing left: the next reconciliation is one round trip.
        assert_eq!(reconcile(&a, &b, limits), 2);
        // Diverge again for the second pass.
        let more: Vec<_> = bodies[100..150]
            .iter()
            .map(|(k, body)| {
                let mut body = body.clone();
                body.extra.insert("BZ".into(), format!("第二轮 {k}"));
                (*k, body)
            })
            .collect();
        a.write_local(more, 4_000).expect("update");
    }
}

#[test]
fn a_bulk_first_sync_moves_whole_partitions() {
    let suzhou = DivisionCode::parse("320500").expect("code");
    let dir = tempfile::tempdir().expect("tempdir");
    let full = Store::open(&dir.path().join("full"), Some(suzhou)).expect("full");
    let empty = Store::open(&dir.path().join("empty"), Some(suzhou)).expect("empty");
    let mut generator =
        Generator::new(8, GeneratorConfig::for_count(suzhou, 5_000)).expect("generator");
    full.write_local(
        generator.bodies(5_000, &RecordMix::default()).collect(),
        1_000,
    )
    .expect("write");
    // Few messages, no listings: every partition moves as one range.
    let messages = reconcile(&empty, &full, Limits::default());
    assert!(messages <= 4, "{messages} messages");
    assert_eq!(
        empty.store_root().expect("root"),
        full.store_root().expect("root")
    );
    assert!(empty.verify(|_| {}).expect("verify").is_clean());
}
