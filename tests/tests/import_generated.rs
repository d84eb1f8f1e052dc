//! Generated national-format files through the real importer into a real store:
//! exactly the rows broken on purpose are rejected, every valid row becomes one
//! record, re-importing changes nothing, the indexes verify, and subject queries find
//! every record about a subject.

use std::collections::{BTreeSet, HashMap};

use credithub_node::ingest::import_file;
use credithub_node::Store;
use credithub_protocol::{DivisionCode, RecordKind};
use credithub_scenarios::generate::{
    write_csv, CsvOptions, Encoding, FileKind, Generator, GeneratorConfig, HeaderStyle, RecordMix,
};

const ROWS: u64 = 3_000;
const SEED: u64 = 42;

fn generator(origin: DivisionCode) -> Generator {
    Generator::new(SEED, GeneratorConfig::for_count(origin, ROWS)).expect("generator")
}

#[test]
fn generated_files_import_exactly_and_verify() {
    let origin = DivisionCode::parse("320583").expect("Kunshan");
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("kunshan-penalties.csv");

    let options = CsvOptions {
        headers: HeaderStyle::Chinese,
        encoding: Encoding::Gb18030,
        bad_rows: 0.01,
        seed: SEED,
    };
    let mix = RecordMix::only(RecordKind::PENALTY);
    let mut source = generator(origin);
    let bodies = source.bodies(ROWS, &mix).map(|(_, b)| b);
    let file = std::io::BufWriter::new(std::fs::File::create(&csv).expect("create csv"));
    let report = write_csv(FileKind::Penalty, bodies, file, &options).expect("write csv");
    let bad_lines: BTreeSet<u64> = report.bad.iter().map(|b| b.line).collect();
    assert!(
        !bad_lines.is_empty(),
        "1% of 3000 rows are broken on purpose"
    );

    let store = Store::open(&dir.path().join("node"), Some(origin)).expect("store");
    let rejects = dir.path().join("rejects.csv");
    let summary = import_file(&store, &csv, &rejects, |_, _| {}).expect("import");
    assert_eq!(summary.encoding, "gb18030");
    assert_eq!(summary.rows, ROWS);
    assert_eq!(summary.rejected, bad_lines.len() as u64);
    let rejected_lines: BTreeSet<u64> = summary.first_rejects.iter().map(|r| r.line).collect();
    let listed: BTreeSet<u64> = bad_lines
        .iter()
        .copied()
        .take(rejected_lines.len())
        .collect();
    assert_eq!(
        rejected_lines, listed,
        "the first rejected lines are the first broken ones"
    );
    assert_eq!(
        summary.inserted,
        ROWS - bad_lines.len() as u64,
        "every valid row is its own record"
    );

    // Same file again: nothing changes.
    let root = store.store_root().expect("root");
    let again = import_file(&store, &csv, &rejects, |_, _| {}).expect("re-import");
    assert_eq!((again.inserted, again.updated), (0, 0));
    assert_eq!(again.unchanged, summary.inserted);
    assert_eq!(store.store_root().expect("root"), root);

    let report = store.verify(|_| {}).expect("verify");
    assert!(report.is_clean(), "{:?}", report.problems);
    assert_eq!(report.records, summary.inserted);

    // Every valid record about each subject is found by a subject query.
    let mut expected: HashMap<_, usize> = HashMap::new();
    let mut source = generator(origin);
    let bodies = source.bodies(ROWS, &mix).map(|(_, b)| b);
    for (i, body) in bodies.enumerate() {
        if !bad_lines.contains(&(i as u64 + 2)) {
            *expected.entry(body.subject.id).or_default() += 1;
        }
    }
    let (busiest, count) = expected.iter().max_by_key(|(_, n)| **n).expect("subjects");
    assert!(
        *count > 1,
        "the generator skews records towards some subjects"
    );
    let found = store.by_subject(busiest).expect("query");
    assert_eq!(
        found
            .iter()
            .filter(|r| r.body.as_ref().is_some_and(|b| b.subject.id == *busiest))
            .count(),
        *count
    );
    assert!(found.iter().all(|r| r.key.origin == origin));
}

/// Generated list, court and mapping files import without a reject: list and court
/// rows become drafts proposed by the importer, mappings become records; a second
/// import changes nothing; the store verifies.
#[test]
fn generated_list_court_and_mapping_files_import_cleanly() {
    use credithub_node::ingest::import_file_as;
    use credithub_scenarios::generate::{write_list_csv, ListFile};
    let origin = DivisionCode::parse("320500").expect("Suzhou");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("node"), Some(origin)).expect("store");
    let cases = [
        (
            ListFile::Lists,
            vec![RecordKind::BLACK_LIST, RecordKind::RED_LIST],
            "list",
        ),
        (
            ListFile::Court,
            vec![RecordKind::DISHONEST_DEBTOR],
            "dishonest-debtor",
        ),
        (ListFile::Mapping, vec![RecordKind::PENALTY], "code-mapping"),
    ];
    let mut drafts = 0;
    for (i, (file, kinds, name)) in cases.into_iter().enumerate() {
        let mut source = generator(origin);
        let mut seen = std::collections::HashSet::new();
        let bodies: Vec<_> = (0..200)
            .map(|n| {
                let kind = kinds[n % kinds.len()];
                (kind, source.record(kind))
            })
            // A mapping file has one row per organisation.
            .filter(|(_, b)| file != ListFile::Mapping || seen.insert(b.subject.id))
            .collect();
        let csv = dir.path().join(format!("{name}.csv"));
        let out = std::io::BufWriter::new(std::fs::File::create(&csv).expect("create"));
        let (rows, _) = write_list_csv(file, bodies, out, i == 1).expect("write");
        assert!(rows > 0);
        let rejects = dir.path().join(format!("{name}.rejects.csv"));
        // List files need the administrator who proposes them.
        if file != ListFile::Mapping {
            assert!(import_file(&store, &csv, &rejects, |_, _| {}).is_err());
        }
        let s = import_file_as(&store, &csv, &rejects, Some("alice"), |_, _| {}).expect("import");
        assert_eq!(s.kind, name);
        assert_eq!(s.rows, rows);
        assert_eq!(s.rejected, 0, "{name}: {:?}", s.first_rejects);
        assert!(s.inserted > 0);
        assert_eq!(s.inserted + s.unchanged, rows, "{name}");
        let again =
            import_file_as(&store, &csv, &rejects, Some("alice"), |_, _| {}).expect("again");
        assert_eq!((again.inserted, again.updated), (0, 0), "{name}");
        if file != ListFile::Mapping {
            drafts += s.inserted as usize;
        }
    }
    assert_eq!(store.drafts(None).expect("drafts").len(), drafts);
    // Drafts are not records: only the mappings were written.
    let report = store.verify(|_| {}).expect("verify");
    assert!(report.is_clean(), "{:?}", report.problems);
    let (mappings, _) = store
        .count(origin, Some(RecordKind::SUBJECT_MAPPING))
        .expect("count");
    assert_eq!(report.records, mappings);
}

/// Files in the older layouts (pre-2019 codes, 2016 Chinese headers), penalties and
/// licences: the layout is told, exactly the rows broken on purpose are rejected with
/// the older column's name, every other row is stored, and a second import changes
/// nothing.
#[test]
fn generated_older_layouts_import_exactly() {
    let origin = DivisionCode::parse("320583").expect("Kunshan");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(&dir.path().join("node"), Some(origin)).expect("store");
    let cases = [
        (FileKind::Penalty, HeaderStyle::Pre2019, "pre-2019", "CF_"),
        (FileKind::Penalty, HeaderStyle::Chinese2016, "2016", "处罚"),
        (FileKind::Licence, HeaderStyle::Pre2019, "pre-2019", "XK_"),
        (FileKind::Licence, HeaderStyle::Chinese2016, "2016", "许可"),
    ];
    const N: u64 = 600;
    for (i, (kind, layout, name, prefix)) in cases.into_iter().enumerate() {
        let csv = dir.path().join(format!("older-{i}.csv"));
        let options = CsvOptions {
            headers: layout,
            encoding: if i % 2 == 0 {
                Encoding::Utf8
            } else {
                Encoding::Gb18030
            },
            bad_rows: 0.02,
            seed: SEED + i as u64,
        };
        let mut source = Generator::new(SEED + i as u64, GeneratorConfig::for_count(origin, N))
            .expect("generator");
        let bodies = source
            .bodies(N, &RecordMix::only(kind.record_kind()))
            .map(|(_, b)| b);
        let file = std::io::BufWriter::new(std::fs::File::create(&csv).expect("create"));
        let report = write_csv(kind, bodies, file, &options).expect("write");
        let bad: BTreeSet<u64> = report.bad.iter().map(|b| b.line).collect();
        assert!(!bad.is_empty());
        let rejects = dir.path().join(format!("older-{i}.rejects.csv"));
        let s = import_file(&store, &csv, &rejects, |_, _| {}).expect("import");
        assert_eq!((s.layout.as_str(), s.rows), (name, N), "{name}");
        let listed: BTreeSet<u64> = s.first_rejects.iter().map(|r| r.line).collect();
        assert_eq!(listed, bad, "{name} {kind}: {:?}", s.first_rejects);
        assert!(
            s.first_rejects.iter().all(|r| r
                .errors
                .iter()
                .all(|e| e.starts_with(prefix) || e.starts_with("行政相对人代码"))),
            "{:?}",
            s.first_rejects
        );
        assert_eq!(
            s.inserted + s.unchanged,
            N - bad.len() as u64,
            "{name} {kind}"
        );
        let again = import_file(&store, &csv, &rejects, |_, _| {}).expect("again");
        assert_eq!((again.inserted, again.updated), (0, 0), "{name} {kind}");
    }
    let report = store.verify(|_| {}).expect("verify");
    assert!(report.is_clean(), "{:?}", report.problems);
}

/// Generated workbooks (a title row above the header; today's Chinese layout with its
/// two-row header, and the pre-2019 codes): exactly the broken rows are rejected, at
/// their sheet row numbers and naming the sheet; dates and amounts come through as in
/// the CSV file (the same records); a second import changes nothing.
#[test]
fn generated_workbooks_import_exactly() {
    use credithub_node::import::{ImportFile, ImportOptions, RowOutcome};
    use credithub_node::ingest::import_with;
    use credithub_scenarios::generate::write_xlsx;
    let origin = DivisionCode::parse("320583").expect("Kunshan");
    let dir = tempfile::tempdir().expect("tempdir");
    const N: u64 = 400;
    for (i, (kind, layout, header_rows)) in [
        (FileKind::Penalty, HeaderStyle::Chinese, 3),
        (FileKind::Licence, HeaderStyle::Pre2019, 2),
    ]
    .into_iter()
    .enumerate()
    {
        let options = CsvOptions {
            headers: layout,
            encoding: Encoding::Utf8,
            bad_rows: 0.03,
            seed: SEED + i as u64,
        };
        let bodies = |seed| {
            let mut g =
                Generator::new(seed, GeneratorConfig::for_count(origin, N)).expect("generator");
            g.bodies(N, &RecordMix::only(kind.record_kind()))
                .map(|(_, b)| b)
                .collect::<Vec<_>>()
        };
        let xlsx = dir.path().join(format!("book-{i}.xlsx"));
        let report = write_xlsx(kind, bodies(SEED), &xlsx, "数据", &options).expect("write xlsx");
        let bad: BTreeSet<u64> = report.bad.iter().map(|b| b.line).collect();
        assert!(!bad.is_empty());
        assert!(bad.iter().all(|&l| l > header_rows + 1), "{bad:?}");

        // The same rows as CSV: the same record bodies.
        let csv = dir.path().join(format!("book-{i}.csv"));
        let file = std::io::BufWriter::new(std::fs::File::create(&csv).expect("create"));
        write_csv(kind, bodies(SEED), file, &options).expect("write csv");
        let valid = |path: &std::path::Path| -> Vec<_> {
            let file = ImportFile::open(path).expect("open");
            file.rows()
                .map(Result::unwrap)
                .filter_map(|o| match o {
                    RowOutcome::Valid(r) => Some(r.body),
                    RowOutcome::Invalid(_) => None,
                })
                .collect()
        };
        let from_csv = valid(&csv);
        assert_eq!(
            valid(&xlsx),
            from_csv,
            "a workbook and its CSV give the same records"
        );

        let store =
            Store::open(&dir.path().join(format!("xlsx-{i}")), Some(origin)).expect("store");
        let rejects = dir.path().join(format!("book-{i}.rejects.csv"));
        let options = ImportOptions::default();
        let s = import_with(&store, &xlsx, &options, &rejects, None, |_, _| {}).expect("import");
        assert_eq!(s.sheets, ["数据"]);
        assert_eq!(s.rows, N);
        let listed: BTreeSet<u64> = s.first_rejects.iter().map(|r| r.line).collect();
        assert_eq!(listed, bad, "{:?}", s.first_rejects);
        assert!(s
            .first_rejects
            .iter()
            .all(|r| r.sheet.as_deref() == Some("数据")));
        assert_eq!(s.inserted + s.unchanged, from_csv.len() as u64);
        let reject_text = std::fs::read_to_string(&rejects).expect("reject file");
        assert!(reject_text
            .lines()
            .next()
            .is_some_and(|h| h.ends_with("_sheet,_line,_errors")));

        // A named sheet; a sheet the workbook lacks.
        let named = ImportOptions {
            sheet: Some("数据".into()),
        };
        let again = import_with(&store, &xlsx, &named, &rejects, None, |_, _| {}).expect("again");
        assert_eq!((again.inserted, again.updated), (0, 0));
        let missing = ImportOptions {
            sheet: Some("Sheet9".into()),
        };
        let err = import_with(&store, &xlsx, &missing, &rejects, None, |_, _| {}).unwrap_err();
        assert!(
            err.to_string().contains("no sheet named \"Sheet9\""),
            "{err}"
        );
    }
}
