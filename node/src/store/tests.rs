//! Tests of the store: writes, indexes, order independence and verify.

use credithub_protocol::codec::EncodedRecord;
use credithub_protocol::digest::{Cell, NodePath, PartitionId, FANOUT};
use credithub_protocol::record::{Record, RecordKind, RecordStatus, Version};
use credithub_protocol::testing::sample_body;
use credithub_protocol::{DivisionCode, SubjectId};
use proptest::prelude::*;

use super::*;

const SUZHOU: u32 = 320500;
const OTHER_USCC: &str = "91310110666007217T";

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(dir.path(), Some(DivisionCode::from_u32(SUZHOU).unwrap())).unwrap()
}

fn bodies(range: std::ops::Range<u32>) -> Vec<(RecordKind, credithub_protocol::RecordBody)> {
    range
        .map(|n| (RecordKind::PENALTY, sample_body(n, "91110000600037341L")))
        .collect()
}

#[test]
fn insert_reimport_update_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let out = store.write_local(bodies(0..10), 1_000).unwrap();
    assert_eq!(ApplyStats::of(&out).inserted, 10);
    // Issued in Suzhou about a Beijing company: each record lies in its origin
    // partition and in Beijing's subjects partition, and the store root sums both.
    assert_eq!(store.store_root().unwrap().signed_count(), 20);
    let about = PartitionId::subjects(DivisionCode::parse("110000").unwrap(), RecordKind::PENALTY);
    assert_eq!(store.partition_root(&about).unwrap().signed_count(), 10);
    assert!(store.verify(|_| {}).unwrap().is_clean());

    // The same content again changes nothing, not even the roots.
    let root = store.store_root().unwrap();
    let again = store.write_local(bodies(0..10), 2_000).unwrap();
    assert_eq!(ApplyStats::of(&again).unchanged, 10);
    assert_eq!(store.store_root().unwrap(), root);

    // A correction is a new, higher version of the same record.
    let mut corrected = sample_body(3, "91110000600037341L");
    corrected.status = RecordStatus::UnderObjection;
    let WriteOutcome::Updated(key, v2) = store
        .write_local(vec![(RecordKind::PENALTY, corrected)], 3_000)
        .unwrap()[0]
    else {
        panic!("expected an update");
    };
    let WriteOutcome::Inserted(_, v1) = out[3] else {
        panic!()
    };
    assert!(v2 > v1);
    assert_eq!(
        store.get(&key).unwrap().unwrap().body.unwrap().status,
        RecordStatus::UnderObjection
    );
    assert_eq!(store.store_root().unwrap().signed_count(), 20);

    // A tombstone keeps the key (one item) but leaves the subject index.
    let subject = SubjectId::parse("91110000600037341L").unwrap();
    assert_eq!(store.by_subject(&subject).unwrap().len(), 10);
    let del = store.delete_local(&[key], 4_000).unwrap();
    assert!(matches!(del[0], WriteOutcome::Updated(..)));
    assert_eq!(store.by_subject(&subject).unwrap().len(), 9);
    assert!(store.get(&key).unwrap().unwrap().is_tombstone());
    assert_eq!(
        store.delete_local(&[key], 5_000).unwrap()[0],
        WriteOutcome::Unchanged(key)
    );
    assert_eq!(store.count(DivisionCode::NATIONAL, None).unwrap(), (9, 1));
    assert!(store.verify(|_| {}).unwrap().is_clean());
}

#[test]
fn subject_change_moves_the_index_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut body = sample_body(1, "91110000600037341L");
    store
        .write_local(vec![(RecordKind::PENALTY, body.clone())], 1)
        .unwrap();
    // Same natural key except the subject is different -> a different record; so
    // change a non-key field and add an older identifier instead.
    body.other_ids.push(SubjectId::parse(OTHER_USCC).unwrap());
    store
        .write_local(vec![(RecordKind::PENALTY, body.clone())], 2)
        .unwrap();
    assert_eq!(
        store
            .by_subject(&SubjectId::parse(OTHER_USCC).unwrap())
            .unwrap()
            .len(),
        1
    );
    body.other_ids.clear();
    store
        .write_local(vec![(RecordKind::PENALTY, body)], 3)
        .unwrap();
    assert!(store
        .by_subject(&SubjectId::parse(OTHER_USCC).unwrap())
        .unwrap()
        .is_empty());
    assert!(store.verify(|_| {}).unwrap().is_clean());
}

#[test]
fn remote_versions_never_regress() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let body = sample_body(1, "91110000600037341L");
    let key = credithub_protocol::RecordKey::derive(
        DivisionCode::from_u32(320583).unwrap(),
        RecordKind::PENALTY,
        &body,
    );
    let v = |n| {
        EncodedRecord::encode(&Record {
            key,
            version: Version(n),
            body: Some(body.clone()),
        })
    };
    assert_eq!(
        store.apply_remote(vec![v(5)], 9_000).unwrap(),
        vec![RemoteOutcome::Applied]
    );
    assert_eq!(
        store.apply_remote(vec![v(5)], 9_000).unwrap(),
        vec![RemoteOutcome::Unchanged]
    );
    assert_eq!(
        store.apply_remote(vec![v(4)], 9_000).unwrap(),
        vec![RemoteOutcome::Stale { held: Version(5) }]
    );
    let mut forged = v(9);
    let n = forged.bytes.len();
    forged.bytes[n - 2] ^= 0x55;
    assert!(matches!(
        store.apply_remote(vec![forged], 9_000).unwrap()[0],
        RemoteOutcome::Invalid(_)
    ));
    let tomb = EncodedRecord::encode(&Record {
        key,
        version: Version(7),
        body: None,
    });
    assert_eq!(
        store.apply_remote(vec![tomb, v(6)], 9_000).unwrap(),
        vec![
            RemoteOutcome::Applied,
            RemoteOutcome::Stale { held: Version(7) }
        ]
    );
    assert!(store.get(&key).unwrap().unwrap().is_tombstone());
    assert!(store.verify(|_| {}).unwrap().is_clean());
}

#[test]
fn children_sum_to_their_parent_at_every_level() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.write_local(bodies(0..3000), 1).unwrap();
    let (p, root) = store.partitions().unwrap()[0];
    assert_eq!(root.signed_count(), 3000);
    // Follow the fullest child down to level 6.
    let mut path = NodePath::ROOT;
    while path.level() < 6 {
        let children = store.children(&p, path).unwrap();
        let mut sum = Cell::EMPTY;
        for c in &children {
            sum.add(c);
        }
        assert_eq!(sum, store.node_cell(&p, path).unwrap(), "at {path}");
        let (i, _) = children
            .iter()
            .enumerate()
            .max_by_key(|(_, c)| c.signed_count())
            .unwrap();
        path = path.child(i).unwrap();
    }
    let items = store.items(&p, NodePath::new(3, 0).unwrap(), 100).unwrap();
    let mut cell = Cell::EMPTY;
    for it in &items {
        cell.insert(it);
    }
    assert_eq!(
        cell,
        store.node_cell(&p, NodePath::new(3, 0).unwrap()).unwrap()
    );
    assert!(matches!(
        store.items(&p, NodePath::ROOT, 10),
        Err(StoreError::Index(IndexError::TooLarge { .. }))
    ));
    assert_eq!(FANOUT, 16);
}

#[test]
fn verify_catches_a_corrupted_index_entry_and_subject_entry() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.write_local(bodies(0..200), 1).unwrap();
    assert!(store.verify(|_| {}).unwrap().is_clean());
    let (p, _) = store.partitions().unwrap()[0];
    // Damage one level-4 cell behind the store's back.
    let items = store.items(&p, NodePath::ROOT, 1000).unwrap();
    let leaf = NodePath::of(&items[0].id, LEAF_LEVEL);
    let digest = store.db().cf_handle(keys::CF_DIGEST).unwrap();
    let mut bogus = Cell::EMPTY;
    bogus.count = 1;
    store
        .db()
        .merge_cf(digest, keys::node_key(&p, leaf), bogus.to_bytes())
        .unwrap();
    // And drop one subject-index entry.
    let subjects = store.db().cf_handle(keys::CF_SUBJECTS).unwrap();
    let id = SubjectId::parse("91110000600037341L").unwrap();
    let record_key = store.by_subject(&id).unwrap()[0].key;
    store
        .db()
        .delete_cf(
            subjects,
            keys::subject_entry(&id.index_key(), &record_key.to_bytes()),
        )
        .unwrap();

    let report = store.verify(|_| {}).unwrap();
    // The name index's marker counts the subject's records through the subject index,
    // so the dropped entry shows there too.
    assert_eq!(report.problem_count, 3, "{:#?}", report.problems);
    assert!(report.problems.iter().any(
        |p| matches!(p, VerifyProblem::CellMismatch { node, .. } if *node == leaf.to_string())
    ));
    assert!(report
        .problems
        .iter()
        .any(|p| matches!(p, VerifyProblem::MissingSubjectEntry { .. })));
    assert!(report.problems.iter().any(|p| matches!(
        p,
        VerifyProblem::DanglingNameEntry { reason, .. } if reason.contains("199 carry")
    )));
}

#[test]
fn verify_catches_damage_to_the_name_index() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let mut items = bodies(0..20);
    items.extend((20..30).map(|n| (RecordKind::PENALTY, sample_body(n, "91310110666007217T"))));
    store.write_local(items, 1).unwrap();
    assert!(store.verify(|_| {}).unwrap().is_clean());
    let names = store.db().cf_handle(keys::CF_NAMES).unwrap();
    let entries: Vec<(Vec<u8>, Vec<u8>)> = store
        .db()
        .iterator_cf(names, rocksdb::IteratorMode::Start)
        .map(|e| {
            let (k, v) = e.unwrap();
            (k.to_vec(), v.to_vec())
        })
        .collect();
    let (posting, _) = entries
        .iter()
        .find(|(k, _)| k[0] != keys::NAME_MARKER)
        .expect("a posting");
    // A marker of the other subject than the posting's.
    let (marker, value) = entries
        .iter()
        .find(|(k, _)| k[0] == keys::NAME_MARKER && k[2..] != posting[keys::NAME_PREFIX_LEN..])
        .expect("a marker");
    // Drop a posting, and make a marker count one record too many.
    store.db().delete_cf(names, posting).unwrap();
    let mut wrong = value.clone();
    wrong[3] = wrong[3].wrapping_add(1);
    store.db().put_cf(names, marker, &wrong).unwrap();
    let report = store.verify(|_| {}).unwrap();
    let reasons: Vec<String> = report
        .problems
        .iter()
        .filter_map(|p| match p {
            VerifyProblem::DanglingNameEntry { reason, .. } => Some(reason.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(report.problem_count, reasons.len() as u64, "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("has no posting")),
        "{reasons:?}"
    );
    assert!(
        reasons.iter().any(|r| r.contains("carry the name")),
        "{reasons:?}"
    );
    // A marker dropped whole: the records carrying its name are reported.
    store.db().delete_cf(names, marker).unwrap();
    let report = store.verify(|_| {}).unwrap();
    assert!(report
        .problems
        .iter()
        .any(|p| matches!(p, VerifyProblem::MissingNameEntry { .. })));
    assert!(report.problems.iter().any(|p| matches!(
        p,
        VerifyProblem::DanglingNameEntry { reason, .. } if reason == "posting without a marker"
    )));
}

#[test]
fn reopen_keeps_jurisdiction_and_refuses_another() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(&dir));
    let again = Store::open(dir.path(), None).unwrap();
    assert_eq!(again.jurisdiction().as_u32(), SUZHOU);
    drop(again);
    let err = Store::open(dir.path(), Some(DivisionCode::from_u32(330100).unwrap()))
        .err()
        .unwrap();
    assert!(
        err.to_string().contains("belongs to jurisdiction 320500"),
        "{err}"
    );
    let empty = tempfile::tempdir().unwrap();
    assert!(matches!(
        Store::open(empty.path(), None),
        Err(StoreError::Missing(_))
    ));
}

/// A random history: inserts, updates, tombstones of keys 0..n.
fn history() -> impl Strategy<Value = Vec<(u32, u8)>> {
    proptest::collection::vec((0u32..40, 0u8..4), 1..120)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    /// Roots and cells depend only on the final set of versions, not on the order or
    /// batching in which they arrived; and verify stays clean after any history.
    #[test]
    fn roots_do_not_depend_on_order_or_batching(ops in history(), split in 1usize..10, seed in any::<u64>()) {
        // Build the versions: op 0-2 write content variant, 3 writes a tombstone.
        let origin = DivisionCode::from_u32(320583).unwrap();
        let mut versions = Vec::new();
        for (i, &(n, op)) in ops.iter().enumerate() {
            let mut body = sample_body(n, "91110000600037341L");
            let key = credithub_protocol::RecordKey::derive(origin, RecordKind::PENALTY, &body);
            body.extra.insert("variant".into(), op.to_string());
            let body = (op != 3).then_some(body);
            versions.push(EncodedRecord::encode(&Record { key, version: Version(i as u64 + 1), body }));
        }
        let a_dir = tempfile::tempdir().unwrap();
        let a = open(&a_dir);
        a.apply_remote(versions.clone(), 9_000).unwrap();

        let mut shuffled = versions.clone();
        let mut rng = seed;
        for i in (1..shuffled.len()).rev() {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            shuffled.swap(i, (rng >> 33) as usize % (i + 1));
        }
        let b_dir = tempfile::tempdir().unwrap();
        let b = open(&b_dir);
        for chunk in shuffled.chunks(split) {
            b.apply_remote(chunk.to_vec(), 9_000).unwrap();
        }
        prop_assert_eq!(a.store_root().unwrap(), b.store_root().unwrap());
        prop_assert_eq!(a.partitions().unwrap(), b.partitions().unwrap());
        let (p, _) = a.partitions().unwrap()[0];
        for level in [1u8, 2, 4] {
            let path = NodePath::of(&versions[0].key.id, level);
            prop_assert_eq!(a.node_cell(&p, path).unwrap(), b.node_cell(&p, path).unwrap());
        }
        let clean_a = a.verify(|_| ()).unwrap().is_clean();
        prop_assert!(clean_a);
        let clean_b = b.verify(|_| ()).unwrap().is_clean();
        prop_assert!(clean_b);
    }
}

#[test]
fn subject_reads_in_batches_agree_with_single_reads() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    store.write_local(bodies(0..6), 1_000).unwrap();
    let subject = SubjectId::parse("91110000600037341L").unwrap();
    // One record received from a peer (Beijing's), so it has an arrival entry; one
    // local record deleted, so it leaves every subject read.
    let beijing = DivisionCode::parse("110000").unwrap();
    let body = sample_body(99, "91110000600037341L");
    let key = credithub_protocol::RecordKey::derive(beijing, RecordKind::PENALTY, &body);
    let remote = EncodedRecord::of_body(key, Version(7 << 16), Some(&body));
    store.apply_remote(vec![remote], 9_000).unwrap();
    // Its arrival is the time the caller gave, not the machine's clock.
    assert_eq!(store.arrival(&key, Version(7 << 16)).unwrap(), 9_000);
    let gone = store
        .by_subject(&subject)
        .unwrap()
        .iter()
        .map(|r| r.key)
        .find(|k| k.origin != beijing)
        .unwrap();
    store.delete_local(&[gone], 2_000).unwrap();

    let arrived = store.by_subject_arrived(&subject).unwrap();
    assert_eq!(arrived.len(), 6);
    for (record, at) in &arrived {
        assert_eq!(*at, store.arrival(&record.key, record.version).unwrap());
        assert_eq!(Some(record), store.get(&record.key).unwrap().as_ref());
    }
    let within_suzhou = store
        .by_subject_encoded(&subject, DivisionCode::from_u32(SUZHOU).unwrap())
        .unwrap();
    assert_eq!(within_suzhou.len(), 5);
    assert!(within_suzhou.iter().all(|e| e.key != gone && e.key != key));
    let everywhere = store
        .by_subject_encoded(&subject, DivisionCode::NATIONAL)
        .unwrap();
    assert_eq!(everywhere.len(), 6);
    // Keys given out of order come back in the order given.
    let mut keys: Vec<_> = arrived.iter().map(|(r, _)| (r.key, r.version)).collect();
    keys.reverse();
    let singles: Vec<u64> = keys
        .iter()
        .map(|(k, v)| store.arrival(k, *v).unwrap())
        .collect();
    assert_eq!(store.arrivals(&keys).unwrap(), singles);
}

#[test]
fn drafts_stay_out_of_every_index_until_published_in_one_write() {
    use credithub_protocol::record::{Details, ReviewAction};
    use credithub_protocol::review;
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let (kind, mut body) = credithub_protocol::testing::form2_bodies()
        .into_iter()
        .find(|(k, _)| *k == RecordKind::BLACK_LIST)
        .unwrap();
    review::propose(kind, &mut body, "alice", "", 1_000).unwrap();
    let root = store.store_root().unwrap();
    let (key, v1) = store.put_draft(kind, &body, 1_000).unwrap();
    // A draft is in no index: no root changes, no subject read finds it.
    assert_eq!(store.store_root().unwrap(), root);
    assert!(store.by_subject(&body.subject.id).unwrap().is_empty());
    assert!(store.get(&key).unwrap().is_none());
    assert_eq!(store.drafts(Some(kind)).unwrap().len(), 1);
    let day = credithub_protocol::Date::new(2026, 12, 3).unwrap();
    review::advance(
        kind,
        &mut body,
        ReviewAction::Reviewed,
        "bob",
        "",
        2_000,
        day,
    )
    .unwrap();
    let (_, v2) = store.put_draft(kind, &body, 2_000).unwrap();
    assert!(v2 > v1);
    review::advance(
        kind,
        &mut body,
        ReviewAction::Confirmed,
        "bob",
        "",
        3_000,
        day,
    )
    .unwrap();
    let WriteOutcome::Inserted(published, v3) = store.publish_draft(kind, body, 3_000).unwrap()
    else {
        panic!("expected the entry to be written");
    };
    assert_eq!(published, key);
    assert!(v3 > v2);
    assert!(store.draft(&key).unwrap().is_none());
    let record = store.get(&key).unwrap().unwrap();
    let Some(Details::Listing(l)) = record.body.as_ref().map(|b| &b.details) else {
        panic!("a listing");
    };
    assert!(l.is_published());
    assert_eq!(
        store
            .by_subject(&record.body.unwrap().subject.id)
            .unwrap()
            .len(),
        1
    );
    assert!(store.verify(|_| {}).unwrap().is_clean());
}

#[test]
fn records_of_form_2_are_stored_and_found_by_every_code() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir);
    let bodies = credithub_protocol::testing::form2_bodies();
    store.write_local(bodies.clone(), 1_000).unwrap();
    for (kind, body) in &bodies {
        let key = credithub_protocol::RecordKey::derive(store.jurisdiction(), *kind, body);
        let held = store.get_encoded(&key).unwrap().unwrap();
        assert_eq!(held.form(), credithub_protocol::codec::FORMAT_V2, "{kind}");
        for id in std::iter::once(&body.subject.id).chain(&body.other_ids) {
            assert!(
                store.by_subject(id).unwrap().iter().any(|r| r.key == key),
                "{kind} under {id:?}"
            );
        }
    }
    assert!(store.verify(|_| {}).unwrap().is_clean());
}
