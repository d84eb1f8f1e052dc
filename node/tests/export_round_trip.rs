//! Exports re-imported: the committed import fixtures (penalties and licences, codes
//! and Chinese headers, UTF-8, GB18030 and GBK) are imported into a store, exported
//! as CSV (codes and Chinese headers, UTF-8 and GB18030) and as a workbook, and each
//! export is imported into a fresh store of the same origin: the records are the same,
//! key for key and body for body.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use credithub_node::export::file::FileSink;
use credithub_node::export::{self, FileKind, HeaderStyle, Numbers, Selection};
use credithub_node::ingest::import_file;
use credithub_node::store::read::Scan;
use credithub_node::Store;
use credithub_protocol::lifecycle::{Audience, PublicationRules};
use credithub_protocol::{Date, DivisionCode, RecordBody, RecordKey};

const FIXTURES: [&str; 4] = [
    "penalties-codes-utf8.csv",
    "penalties-chinese-gb18030.csv",
    "licences-codes-gbk.csv",
    "licences-chinese-utf8-bom.csv",
];

fn suzhou() -> DivisionCode {
    DivisionCode::from_u32(320500).expect("code")
}

fn today() -> Date {
    Date::new(2024, 6, 1).expect("date")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

fn import(store: &Store, path: &Path, dir: &Path) -> (u64, u64) {
    let rejects = dir.join(format!(
        "{}.rejects.csv",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    let s = import_file(store, path, &rejects, |_, _| {}).unwrap_or_else(|e| panic!("{e}"));
    (s.valid, s.rejected)
}

/// Every live record: key → body.
fn records(store: &Store) -> BTreeMap<RecordKey, RecordBody> {
    let mut all = BTreeMap::new();
    store
        .scan(
            Scan {
                origin: DivisionCode::NATIONAL,
                kind: None,
                tombstones: false,
            },
            |r| {
                if let Some(b) = r.body {
                    all.insert(r.key, b);
                }
                true
            },
        )
        .expect("scan");
    all
}

fn selection(kind: FileKind, numbers: Numbers) -> Selection {
    Selection {
        kind,
        within: DivisionCode::NATIONAL,
        since: None,
        audience: Audience::Government,
        numbers,
    }
}

/// Writes `kind`'s records to `sink`, a page of `per_page` rows at a time.
fn write(
    store: &Store,
    sel: &Selection,
    extra: &[String],
    sink: &mut FileSink,
    per_page: u32,
) -> u64 {
    let rules = PublicationRules::default();
    let (mut rows, mut after) = (0, None);
    loop {
        let page = export::page(store, sel, extra, after, per_page, &rules, today()).expect("page");
        for row in &page.rows {
            sink.write(row).expect("row");
        }
        rows += page.rows.len() as u64;
        match page.next_after {
            Some(next) => after = Some(next),
            None => return rows,
        }
    }
}

/// The source store: every fixture imported at Suzhou.
fn source(dir: &Path) -> Store {
    let store = Store::open(&dir.join("source"), Some(suzhou())).expect("store");
    for name in FIXTURES {
        let (valid, _) = import(&store, &fixture(name), dir);
        assert!(valid > 0, "{name}: nothing valid");
    }
    store
}

/// Exports both kinds as CSV files in one style and encoding; returns their paths.
fn export_csv(
    store: &Store,
    dir: &Path,
    style: HeaderStyle,
    gb18030: bool,
    per_page: u32,
) -> Vec<PathBuf> {
    let rules = PublicationRules::default();
    let mut paths = Vec::new();
    for kind in [FileKind::Penalty, FileKind::Licence] {
        let sel = selection(kind, Numbers::Full);
        let plan = export::plan(store, &sel, &rules, today()).expect("plan");
        let path = dir.join(format!("{kind}-{style:?}-{gb18030}.csv"));
        let header = export::header(kind, style, &plan.extra_columns);
        let mut sink = FileSink::csv(&path, &header, gb18030).expect("create");
        let rows = write(store, &sel, &plan.extra_columns, &mut sink, per_page);
        assert_eq!(
            rows, plan.records,
            "{kind}: the plan counts what the pages write"
        );
        sink.finish().expect("finish");
        paths.push(path);
    }
    paths
}

fn reimported(dir: &Path, name: &str, files: &[PathBuf]) -> Store {
    let store = Store::open(&dir.join(name), Some(suzhou())).expect("store");
    for f in files {
        let (_, rejected) = import(&store, f, dir);
        assert_eq!(
            rejected,
            0,
            "{}: rows of an export are rejected",
            f.display()
        );
    }
    store
}

#[test]
fn csv_exports_reimport_to_the_same_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = source(dir.path());
    let original = records(&store);
    assert!(
        original.len() >= 10,
        "only {} records imported",
        original.len()
    );
    let kept: Vec<&String> = original.values().flat_map(|b| b.extra.keys()).collect();
    assert!(
        kept.iter().any(|k| *k == "DFBM"),
        "the fixtures keep DFBM in extra"
    );
    for (style, gb, per_page) in [
        (HeaderStyle::Codes, false, 3),
        (HeaderStyle::Chinese, true, 2_000),
    ] {
        let files = export_csv(&store, dir.path(), style, gb, per_page);
        let again = reimported(dir.path(), &format!("again-{style:?}"), &files);
        assert_eq!(records(&again), original, "{style:?} export, GB18030 {gb}");
    }
}

#[test]
fn workbook_exports_reimport_to_the_same_records() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = source(dir.path());
    let rules = PublicationRules::default();
    let mut files = Vec::new();
    for kind in [FileKind::Penalty, FileKind::Licence] {
        let sel = selection(kind, Numbers::Full);
        let plan = export::plan(&store, &sel, &rules, today()).expect("plan");
        let header = export::header(kind, HeaderStyle::Chinese, &plan.extra_columns);
        let kinds = export::cell_kinds(kind, plan.extra_columns.len());
        let path = dir.path().join(format!("{kind}.xlsx"));
        let mut sink =
            FileSink::xlsx(&path, &header, kinds, &format!("{kind} records")).expect("create");
        write(&store, &sel, &plan.extra_columns, &mut sink, 5);
        sink.finish().expect("finish");
        files.push(path);
    }
    let again = reimported(dir.path(), "again", &files);
    assert_eq!(records(&again), records(&store));
}

#[test]
fn masked_exports_hide_personal_numbers_and_public_ones_hold_less() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = source(dir.path());
    let rules = PublicationRules::default();
    let sel = selection(FileKind::Penalty, Numbers::Masked);
    let plan = export::plan(&store, &sel, &rules, today()).expect("plan");
    let page = export::page(
        &store,
        &sel,
        &plan.extra_columns,
        None,
        100,
        &rules,
        today(),
    )
    .expect("page");
    let text: String = page
        .rows
        .iter()
        .flatten()
        .cloned()
        .collect::<Vec<_>>()
        .join(",");
    for full in ["11010519491231002X", "320583198506120034"] {
        assert!(
            !text.contains(full),
            "{full} is written in full in a masked export"
        );
    }
    assert!(
        text.contains("110105********002X"),
        "the natural person is written masked"
    );
    assert!(text.contains("李**"), "the natural person's name is masked");

    let public = Selection {
        audience: Audience::Public,
        ..sel.clone()
    };
    // Two years on, the light and general penalties' publication has ended.
    let later = Date::new(2026, 6, 1).expect("date");
    let now = export::plan(&store, &public, &rules, today()).expect("plan");
    let then = export::plan(&store, &public, &rules, later).expect("plan");
    assert!(
        then.records < now.records,
        "{} then, {} now",
        then.records,
        now.records
    );
    let government = export::plan(&store, &sel, &rules, later).expect("plan");
    assert_eq!(
        government.records, plan.records,
        "government readers keep every shared record"
    );
}

#[test]
fn since_selects_the_versions_written_from_a_day() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = source(dir.path());
    let rules = PublicationRules::default();
    let all = export::plan(
        &store,
        &selection(FileKind::Penalty, Numbers::Full),
        &rules,
        today(),
    )
    .expect("plan");
    let written_today = credithub_node::clock::today();
    for (since, expected) in [
        (written_today, all.records),
        (written_today.add_days(1).expect("date"), 0),
    ] {
        let sel = Selection {
            since: Some(since),
            ..selection(FileKind::Penalty, Numbers::Full)
        };
        let plan = export::plan(&store, &sel, &rules, today()).expect("plan");
        assert_eq!(plan.records, expected, "since {since}");
    }
}
