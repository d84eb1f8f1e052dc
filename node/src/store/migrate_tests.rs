//! Tests of store formats and migrations, against a real store of format 2 kept in
//! `node/tests/fixtures/store-format-2/` (its README says how it was made).

use std::path::{Path, PathBuf};

use credithub_protocol::codec::EncodedRecord;
use credithub_protocol::record::{Details, ListEntryDetails, RecordBody, RecordKind, Version};
use credithub_protocol::testing::body_about;
use credithub_protocol::{DivisionCode, RecordKey, SubjectId};
use rocksdb::WriteBatch;

use super::*;
use crate::store::{keys, Store, StoreError, StoreOptions, STORE_FORMAT};

/// The jurisdiction of the fixture stores.
const JURISDICTION: &str = "320500";
/// The clock of the fixture's first writes (ms since the epoch).
const T0: u64 = 1_700_000_000_000;

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).expect("division code")
}

fn black_list(n: u32, area: &str) -> RecordBody {
    let mut b = body_about(n, area);
    b.decision_no = format!("税务黑名单〔2023〕{n}号");
    b.details = Details::ListEntry(ListEntryDetails {
        list_name: "重大税收违法失信主体".into(),
        reason: "虚开增值税专用发票".into(),
        legal_basis: "《重大税收违法失信主体信息公布管理办法》".into(),
        valid_until: None,
    });
    b
}

/// The local writes of the fixture: penalties about local subjects, two about a
/// Nanjing company and two black-list entries about a Shanghai company (those four
/// also lie in subjects partitions).
fn local_bodies() -> Vec<(RecordKind, RecordBody)> {
    let mut out: Vec<(RecordKind, RecordBody)> = (0..10)
        .map(|n| (RecordKind::PENALTY, body_about(n, "320583")))
        .collect();
    out.extend((10..12).map(|n| (RecordKind::PENALTY, body_about(n, "320100"))));
    out.extend((0..4).map(|n| (RecordKind::BLACK_LIST, black_list(n, "320506"))));
    out.extend((4..6).map(|n| (RecordKind::BLACK_LIST, black_list(n, "310000"))));
    out
}

/// The records the fixture received from a peer (Kunshan, a county of Suzhou): a
/// penalty about a local subject and one about a Hangzhou company.
fn remote_records() -> Vec<EncodedRecord> {
    let origin = code("320583");
    [body_about(100, "320583"), body_about(101, "330100")]
        .into_iter()
        .map(|body| {
            let key = RecordKey::derive(origin, RecordKind::PENALTY, &body);
            let version = Version::next(None, T0 + 500);
            EncodedRecord::of_body(key, version, Some(&body))
        })
        .collect()
}

/// Writes the fixture's content into `store`: 16 local records, a correction, a
/// tombstone, two records from a peer and an audit entry.
fn write_fixture_content(store: &Store) -> Result<()> {
    store.write_local(local_bodies(), T0)?;
    let mut corrected = body_about(2, "320583");
    corrected.status = credithub_protocol::record::RecordStatus::UnderObjection;
    store.write_local(vec![(RecordKind::PENALTY, corrected)], T0 + 1_000)?;
    let gone = RecordKey::derive(
        code(JURISDICTION),
        RecordKind::PENALTY,
        &body_about(5, "320583"),
    );
    store.delete_local(&[gone], T0 + 2_000)?;
    store.apply_remote(remote_records(), T0 + 2_500)?;
    store.audit(
        T0 + 3_000,
        "auditor:审计员:320500",
        "行政许可审查",
        "query",
        "91320583MA1MEXXM00",
        1,
    )?;
    Ok(())
}

/// Writes a fixture store into the directory named by `CREDITHUB_FIXTURE_OUT` (run
/// with `--ignored`) and prints its roots. The format-2 fixture was made so at commit
/// 029dbc3, whose build wrote format 2 (and took arrivals from the machine's clock);
/// this build writes format [`STORE_FORMAT`], for a fixture of that format.
#[test]
#[ignore = "writes a fixture store; run by hand"]
fn make_store_fixture() {
    let out = std::env::var_os("CREDITHUB_FIXTURE_OUT").expect("CREDITHUB_FIXTURE_OUT");
    let out = std::path::PathBuf::from(out);
    let store = Store::open(&out, Some(code(JURISDICTION))).expect("create");
    write_fixture_content(&store).expect("write");
    store.flush().expect("flush");
    println!(
        "store root {}",
        hex::encode(store.store_root().expect("root").to_bytes())
    );
    for (p, cell) in store.partitions().expect("partitions") {
        println!(
            "partition {p} {} {}",
            cell.signed_count(),
            hex::encode(cell.to_bytes())
        );
    }
    println!(
        "count {:?}",
        store.count(DivisionCode::NATIONAL, None).expect("count")
    );
    println!("audit {:?}", store.verify_audit().expect("audit"));
    assert!(store.verify(|_| {}).expect("verify").is_clean());
}

/// The fixture's directory in the source tree.
fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-format-2/store")
}

/// A copy of the format-2 fixture in a temporary directory (opening migrates it).
fn fixture_copy() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tmp");
    let to = dir.path().join("data");
    std::fs::create_dir(&to).expect("mkdir");
    for entry in std::fs::read_dir(fixture()).expect("fixture directory") {
        let from = entry.expect("entry").path();
        std::fs::copy(&from, to.join(from.file_name().expect("name"))).expect("copy");
    }
    (dir, to)
}

/// The time the tests' migrations run at.
const MIGRATED_AT: u64 = 1_800_000_000_000;

fn options() -> StoreOptions {
    StoreOptions {
        clock: || MIGRATED_AT,
        ..StoreOptions::default()
    }
}

fn open(path: &Path) -> Result<Store> {
    Store::open_with(path, Some(code(JURISDICTION)), &options())
}

/// An entry of the `meta` family, read without [`Store::open`] (which would migrate).
fn raw_meta(path: &Path, key: &[u8]) -> Option<String> {
    let opts = rocksdb::Options::default();
    let families = rocksdb::DB::list_cf(&opts, path).expect("families");
    let db = rocksdb::DB::open_cf_for_read_only(&opts, path, &families, false).expect("open");
    let cf = db.cf_handle(keys::CF_META).expect("meta family");
    let value = db.get_cf(cf, key).expect("read");
    value.map(|v| String::from_utf8(v).expect("text"))
}

/// Overwrites `meta/format` without any other change, as another build would have.
fn stamp_format(path: &Path, format: &str) {
    let store = open(path).expect("open");
    let cf = store.cf(keys::CF_META);
    store.db().put_cf(cf, META_FORMAT, format).expect("stamp");
}

// What the fixture held when it was made (printed by `make_store_fixture`).
const FIXTURE_STORE_ROOT: &str = "1900000000000000b82d8b09282b311add5593df13077f05344890fddc3a361783264e3e3653b34b8b44e37f17722001ca489deb957dc195130894a6d409aedf";
const FIXTURE_PARTITIONS: [(&str, i64, &str); 6] = [
    ("320500/penalty", 12, "0c0000000000000056d92410e0830618ee5d171e76d7dc187db840cff0988e07732a913d4d1a6dffdf667438c781bbaf4be9e4350666348258fced72f1db8531"),
    ("320500/black-list", 6, "060000000000000017b36cc9b6f0f90b6bf88130781c1a111b822a07bea0fe086700c821ed0a74bf148a26a1c7073ce33e1d18cfccd883addfcf0e55f67b5dd8"),
    ("320583/penalty", 2, "0200000000000000778db9a753af610e1bd1a8ec47e77519b553735a1d6a80156e6d2524a24c5dce6623ea3634e2515aede16c3af89b210d0cb11072e9f97ce8"),
    ("about-310000/black-list", 2, "02000000000000008efd5099681e3c02fa35e72f6556431583efb726763c7f1546fa28155798bbfd1111945203b16ab4ab2c9fb2e2bc03abeb1e243442099fbb"),
    ("about-320100/penalty", 2, "02000000000000003fd924095ab388157b9ffa9ba4f7ff1d532b5d1026339b16bda6d0f619a246482d908130460ec66692b30b1d2407668854cf884ea6843402"),
    ("about-330100/penalty", 1, "0100000000000000053dcae57a350a10f0586fd8d3ddce0e0f9f9c9574270e05023dcae57a350a701a0a4eb266a95ac56bc2998461e33294275bcb89dedda167"),
];
const FIXTURE_COUNT: (u64, u64) = (19, 1);
const FIXTURE_AUDIT_HEAD: &str = "488b32b24eaa0b701fdc35af902bbe94d0aee78546b8bbbaedb3fe90172729ab";

/// Checks that `store` holds exactly the fixture's content.
fn assert_fixture_content(store: &Store) {
    assert_eq!(
        hex::encode(store.store_root().expect("root").to_bytes()),
        FIXTURE_STORE_ROOT
    );
    let partitions: Vec<(String, i64, String)> = store
        .partitions()
        .expect("partitions")
        .into_iter()
        .map(|(p, c)| (p.to_string(), c.signed_count(), hex::encode(c.to_bytes())))
        .collect();
    let expected: Vec<(String, i64, String)> = FIXTURE_PARTITIONS
        .iter()
        .map(|(p, n, c)| (p.to_string(), *n, c.to_string()))
        .collect();
    assert_eq!(partitions, expected);
    assert_eq!(
        store.count(DivisionCode::NATIONAL, None).expect("count"),
        FIXTURE_COUNT
    );
    // Every record reads back with its content and version.
    let j = code(JURISDICTION);
    let mut corrected = body_about(2, "320583");
    corrected.status = credithub_protocol::record::RecordStatus::UnderObjection;
    for (kind, body) in local_bodies() {
        let key = RecordKey::derive(j, kind, &body);
        let record = store.get(&key).expect("read").expect("held");
        if body == body_about(5, "320583") {
            assert!(record.is_tombstone(), "{key}");
            assert_eq!(record.version, Version::next(None, T0 + 2_000));
        } else if body == body_about(2, "320583") {
            assert_eq!(record.body, Some(corrected.clone()));
            assert_eq!(record.version, Version::next(None, T0 + 1_000));
        } else {
            assert_eq!(record.body, Some(body), "{key}");
            assert_eq!(record.version, Version::next(None, T0));
        }
    }
    for remote in remote_records() {
        let held = store.get_encoded(&remote.key).expect("read").expect("held");
        assert_eq!(held.bytes, remote.bytes);
        assert!(
            store
                .arrival(&remote.key, remote.item().version)
                .expect("arrival")
                > 0
        );
    }
    // The subject index: the Shanghai company's two black-list entries.
    let shanghai: SubjectId = body_about(4, "310000").subject.id;
    assert_eq!(store.by_subject(&shanghai).expect("by subject").len(), 2);
    let audit = store.verify_audit().expect("audit");
    assert_eq!(
        (audit.entries, audit.head.as_str(), audit.broken),
        (1, FIXTURE_AUDIT_HEAD, None)
    );
    let report = store.verify(|_| {}).expect("verify");
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.records, 20);
}

#[test]
fn the_format_2_fixture_migrates_to_the_current_format_with_its_content_intact() {
    let (_dir, path) = fixture_copy();
    assert_eq!(raw_meta(&path, META_FORMAT).as_deref(), Some("2"));
    let store = open(&path).expect("open migrates");
    // 3 → 4 files every live record under the organisation code inside its USCC,
    // and 4 → 5 builds the name index: count those entries, which format 3 did not
    // have.
    let count = |cf: &str, first: Option<u8>| {
        store
            .db()
            .iterator_cf(store.cf(cf), rocksdb::IteratorMode::Start)
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|(k, _)| first.is_none_or(|f| k.first() == Some(&f)))
            })
            .count() as u64
    };
    let aliases = count(keys::CF_SUBJECTS, Some(b'O'));
    let names = count(keys::CF_NAMES, None);
    assert!(aliases > 0 && names > 0);
    let steps = vec![
        Migration {
            from: 2,
            to: 3,
            at_ms: MIGRATED_AT,
            binary_version: env!("CARGO_PKG_VERSION").to_string(),
            rewritten: 2,
        },
        Migration {
            from: 3,
            to: 4,
            at_ms: MIGRATED_AT,
            binary_version: env!("CARGO_PKG_VERSION").to_string(),
            rewritten: aliases,
        },
        Migration {
            from: 4,
            to: 5,
            at_ms: MIGRATED_AT,
            binary_version: env!("CARGO_PKG_VERSION").to_string(),
            rewritten: names,
        },
        Migration {
            from: 5,
            to: 6,
            at_ms: MIGRATED_AT,
            binary_version: env!("CARGO_PKG_VERSION").to_string(),
            rewritten: count(keys::CF_CHANGES, None) + count(keys::CF_WINDOWS, None),
        },
        Migration {
            from: 6,
            to: 7,
            at_ms: MIGRATED_AT,
            binary_version: env!("CARGO_PKG_VERSION").to_string(),
            rewritten: 0,
        },
    ];
    assert_eq!(store.migrated(), steps.as_slice());
    assert_eq!(
        store.meta(),
        &StoreMeta {
            format: STORE_FORMAT,
            jurisdiction: code(JURISDICTION),
            created_at_ms: None,
            migrations: steps,
        }
    );
    assert_eq!(store.jurisdiction(), code(JURISDICTION));
    assert_fixture_content(&store);
    // A record filed under a USCC is found by the organisation code inside it.
    let shanghai: SubjectId = body_about(4, "310000").subject.id;
    let org = SubjectId::OrgCode(shanghai.embedded_org_code().expect("inside the USCC"));
    let by_alias: Vec<RecordKey> = store
        .by_subject(&org)
        .expect("by alias")
        .iter()
        .map(|r| r.key)
        .collect();
    for r in store.by_subject(&shanghai).expect("by subject") {
        assert!(by_alias.contains(&r.key), "{} not found by {org:?}", r.key);
    }
    drop(store);
    // What a format-2 binary reads: both text entries, so it refuses with its own
    // format message ("has format 4; this build reads format 2").
    assert_eq!(
        raw_meta(&path, META_FORMAT).as_deref(),
        Some(STORE_FORMAT.to_string().as_str())
    );
    assert_eq!(
        raw_meta(&path, META_JURISDICTION).as_deref(),
        Some(JURISDICTION)
    );
}

#[test]
fn the_same_writes_in_a_new_store_give_the_fixture_roots() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(dir.path()).expect("create");
    write_fixture_content(&store).expect("write");
    assert_fixture_content(&store);
    assert_eq!(
        store
            .arrival(&remote_records()[0].key, remote_records()[0].item().version)
            .expect("arrival"),
        T0 + 2_500
    );
}

#[test]
fn reopening_a_migrated_store_does_not_migrate_again() {
    let (_dir, path) = fixture_copy();
    let first = open(&path).expect("open").meta().clone();
    let store = Store::open(&path, None).expect("reopen");
    assert!(store.migrated().is_empty());
    assert_eq!(store.meta(), &first);
    assert_fixture_content(&store);
}

#[test]
fn a_new_store_records_its_creation() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = open(dir.path()).expect("create");
    assert!(store.migrated().is_empty());
    assert_eq!(
        store.meta(),
        &StoreMeta {
            format: STORE_FORMAT,
            jurisdiction: code(JURISDICTION),
            created_at_ms: Some(MIGRATED_AT),
            migrations: Vec::new(),
        }
    );
    drop(store);
    assert_eq!(
        Store::open(dir.path(), None)
            .expect("reopen")
            .meta()
            .created_at_ms,
        Some(MIGRATED_AT)
    );
    assert_eq!(
        raw_meta(dir.path(), META_FORMAT),
        Some(STORE_FORMAT.to_string())
    );
}

#[test]
fn a_store_of_a_newer_format_is_refused_untouched() {
    let (_dir, path) = fixture_copy();
    let newer = (STORE_FORMAT + 1).to_string();
    stamp_format(&path, &newer);
    // A newer format may have families this build does not know: they do not get in
    // the way of the refusal.
    {
        let opts = rocksdb::Options::default();
        let families = rocksdb::DB::list_cf(&opts, &path).expect("families");
        let mut db = rocksdb::DB::open_cf(&opts, &path, &families).expect("open");
        db.create_cf("from-the-future", &opts)
            .expect("create family");
    }
    let err = match open(&path) {
        Err(e) => e,
        Ok(_) => panic!("a newer store opened"),
    };
    assert!(matches!(&err, StoreError::FormatTooNew { found, .. } if *found == STORE_FORMAT + 1));
    let text = err.to_string();
    for part in [
        path.display().to_string(),
        format!("has format {newer}"),
        format!("formats {OLDEST_FORMAT} to {STORE_FORMAT}"),
        "upgrade credit-node".to_string(),
        "restore a backup taken before".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    ] {
        assert!(text.contains(&part), "{text:?} lacks {part:?}");
    }
    assert_eq!(raw_meta(&path, META_FORMAT), Some(newer));
}

#[test]
fn formats_older_than_the_migrations_or_not_numbers_are_refused() {
    let (_dir, path) = fixture_copy();
    stamp_format(&path, "1");
    match open(&path) {
        Err(e @ StoreError::Format { found: 1, .. }) => {
            assert!(
                e.to_string()
                    .contains(&format!("formats 2 to {STORE_FORMAT}")),
                "{e}"
            )
        }
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("a format-1 store opened"),
    }
    let (_dir, path) = fixture_copy();
    {
        let store = Store::open(&path, None).expect("open");
        let cf = store.cf(keys::CF_META);
        store.db().put_cf(cf, META_FORMAT, "three").expect("stamp");
    }
    assert!(matches!(open(&path), Err(StoreError::Corrupt { .. })));
}

#[test]
fn another_jurisdictions_store_is_refused_before_it_is_migrated() {
    let (_dir, path) = fixture_copy();
    let other = Store::open_with(&path, Some(code("110000")), &options());
    assert!(matches!(
        other,
        Err(StoreError::JurisdictionMismatch { stored, .. }) if stored == code(JURISDICTION)
    ));
    assert_eq!(raw_meta(&path, META_FORMAT).as_deref(), Some("2"));
    assert!(raw_meta(&path, META_STORE).is_none());
}

/// The first step past this build's format in
/// [`an_interrupted_migration_resumes_from_the_last_whole_format`]: writes a marker
/// entry.
fn test_step_next(store: &Store, batch: &mut WriteBatch) -> Result<(u64, StoreMeta)> {
    batch.put_cf(store.cf(keys::CF_META), b"step-next", b"done");
    Ok((1, read_meta(store, STORE_FORMAT)?))
}

/// The second step, interrupted: its entry is in the batch when the step fails (as in
/// a crash before the batch is written).
fn test_step_after_crashing(store: &Store, batch: &mut WriteBatch) -> Result<(u64, StoreMeta)> {
    batch.put_cf(store.cf(keys::CF_META), b"step-after", b"done");
    Err(store.corrupt("metadata", "simulated crash".into()))
}

/// The second step.
fn test_step_after(store: &Store, batch: &mut WriteBatch) -> Result<(u64, StoreMeta)> {
    batch.put_cf(store.cf(keys::CF_META), b"step-after", b"done");
    Ok((1, read_meta(store, STORE_FORMAT + 1)?))
}

#[test]
fn an_interrupted_migration_resumes_from_the_last_whole_format() {
    // Two steps beyond this build's format: the first goes in, the second crashes.
    const NEXT: u32 = STORE_FORMAT + 1;
    const AFTER: u32 = STORE_FORMAT + 2;
    let (_dir, path) = fixture_copy();
    let store = open(&path).expect("open migrates to the current format");
    let crashing = [
        Step {
            from: STORE_FORMAT,
            run: test_step_next,
        },
        Step {
            from: NEXT,
            run: test_step_after_crashing,
        },
    ];
    let clock = || MIGRATED_AT + 1;
    assert!(run(&store, &crashing, STORE_FORMAT, AFTER, clock).is_err());
    // The store is whole at the next format: the first step is in, nothing of the
    // second.
    let Found::Format(found) = read_format(&store).expect("format") else {
        panic!("no format");
    };
    assert_eq!(found, NEXT);
    let meta = read_meta(&store, NEXT).expect("meta");
    let steps: Vec<(u32, u32)> = meta.migrations.iter().map(|m| (m.from, m.to)).collect();
    let expected: Vec<(u32, u32)> = (OLDEST_FORMAT..NEXT).map(|f| (f, f + 1)).collect();
    assert_eq!(steps, expected);
    let cf = store.cf(keys::CF_META);
    assert!(store
        .db()
        .get_cf(cf, b"step-after")
        .expect("read")
        .is_none());
    // Resuming runs only what is left.
    let working = [
        Step {
            from: STORE_FORMAT,
            run: test_step_next,
        },
        Step {
            from: NEXT,
            run: test_step_after,
        },
    ];
    let done = run(&store, &working, found, AFTER, clock).expect("resume");
    assert_eq!(done.len(), 1);
    assert_eq!(
        (done[0].from, done[0].to, done[0].rewritten),
        (NEXT, AFTER, 1)
    );
    let meta = read_meta(&store, AFTER).expect("meta");
    assert_eq!(meta.migrations.len(), expected.len() + 1);
    assert!(store
        .db()
        .get_cf(cf, b"step-after")
        .expect("read")
        .is_some());
    drop(store);
    // This build does not read a newer format.
    assert!(matches!(
        open(&path),
        Err(StoreError::FormatTooNew { found: AFTER, .. })
    ));
}

#[test]
fn a_store_left_at_format_2_by_a_crash_migrates_on_the_next_open() {
    // The 2 → 3 step is one batch, so a crash during it leaves the store as it was
    // before: format 2, no store entry. Put a migrated copy back in that state (undo
    // the step's batch) and open it again: it migrates, once.
    let (_dir, path) = fixture_copy();
    {
        let store = open(&path).expect("open");
        let cf = store.cf(keys::CF_META);
        let mut batch = WriteBatch::default();
        batch.put_cf(cf, META_FORMAT, "2");
        batch.delete_cf(cf, META_STORE);
        store.db().write(batch).expect("back to the old state");
    }
    assert_eq!(raw_meta(&path, META_FORMAT).as_deref(), Some("2"));
    let store = open(&path).expect("reopen resumes");
    assert_eq!(store.migrated().len(), 5);
    assert_eq!(store.meta().migrations.len(), 5);
    assert_fixture_content(&store);
}

#[test]
fn a_name_index_of_format_4_is_rebuilt_by_subject() {
    // Format 4 filed each record under each pair of its subject's name, with no
    // markers. Put a migrated copy back in that state and open it again: 4 → 5
    // empties the family and files each (subject, name) once.
    let (_dir, path) = fixture_copy();
    let before: Vec<(Vec<u8>, Vec<u8>)>;
    {
        let store = open(&path).expect("open");
        let names = store.cf(keys::CF_NAMES);
        before = name_entries(&store);
        assert!(!before.is_empty());
        let mut batch = WriteBatch::default();
        for (k, _) in &before {
            batch.delete_cf(names, k);
        }
        for r in store
            .by_subject(&body_about(0, "320583").subject.id)
            .expect("records")
        {
            let mut old = keys::name_prefix(['示', '例'], keys::NAME_ORGANISATION).to_vec();
            old.extend_from_slice(&r.key.to_bytes());
            batch.put_cf(names, old, []);
        }
        let mut meta = store.meta().clone();
        meta.format = 4;
        meta.migrations.truncate(2);
        put_meta(&store, &meta, &mut batch).expect("meta");
        store.db().write(batch).expect("back to format 4");
        assert!(!store.verify(|_| {}).expect("verify").is_clean());
    }
    assert_eq!(raw_meta(&path, META_FORMAT).as_deref(), Some("4"));
    let store = open(&path).expect("reopen migrates");
    let step = store
        .migrated()
        .iter()
        .find(|m| (m.from, m.to) == (4, 5))
        .expect("4 → 5 ran");
    assert_eq!(step.rewritten, before.len() as u64);
    assert_eq!(name_entries(&store), before);
    assert!(store.verify(|_| {}).expect("verify").is_clean());
    assert_fixture_content(&store);
}

/// Every entry of the `names` family.
fn name_entries(store: &Store) -> Vec<(Vec<u8>, Vec<u8>)> {
    store
        .db()
        .iterator_cf(store.cf(keys::CF_NAMES), rocksdb::IteratorMode::Start)
        .map(|e| {
            let (k, v) = e.expect("entry");
            (k.to_vec(), v.to_vec())
        })
        .collect()
}

#[test]
fn a_migrated_store_counts_refused_rows_and_verify_checks_them() {
    use credithub_protocol::accounts::{Month, UnitRole};

    use crate::store::refusals::RefusalTally;
    // 6 → 7 adds the `refusals` family empty; the next imports count in it.
    let (_dir, path) = fixture_copy();
    let store = open(&path).expect("open migrates");
    let march = Month::new(2026, 3).expect("month");
    assert!(store.refusals(march).expect("tallies").is_empty());
    let tally = RefusalTally {
        month: march,
        role: UnitRole::Source,
        origin: code(JURISDICTION),
        name: "苏州市交通运输局".into(),
        uscc: None,
        rows: 2,
        by_kind: [(RecordKind::PENALTY.code(), 2)].into_iter().collect(),
        reasons: [("CF_WSH: required value is empty".to_string(), 2)]
            .into_iter()
            .collect(),
    };
    store.add_refusals(&[tally.clone()]).expect("counted");
    assert_eq!(store.refusals(march).expect("tallies"), [tally.clone()]);
    let report = store.verify(|_| {}).expect("verify");
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.refusal_entries, 1);
    // A tally filed under another unit's key is reported.
    let mut moved = tally.clone();
    moved.name = "苏州市生态环境局".into();
    let bytes = postcard::to_stdvec(&tally).expect("encodes");
    store
        .db()
        .put_cf(store.cf(keys::CF_REFUSALS), moved.key(), bytes)
        .expect("damaged");
    let report = store.verify(|_| {}).expect("verify");
    assert_eq!(report.problem_count, 1, "{:?}", report.problems);
    assert!(report.problems[0].to_string().contains("another key"));
}
