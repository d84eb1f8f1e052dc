//! The import parser against the committed fixtures (see
//! `tests/fixtures/import/README.md` for what each row holds).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use credithub_node::import::{
    FileKind, ImportFile, ParsedRow, RejectWriter, RejectedRow, RowOutcome, SourceEncoding,
};
use credithub_protocol::ids::{OrgCode, RegNo, ResidentId, Subject, SubjectId, SubjectKind, Uscc};
use credithub_protocol::record::{
    Authority, Details, LicenceCategory, PenaltyDetails, RecordBody, RecordKind, RecordStatus,
    Representative, Severity,
};
use credithub_protocol::Date;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/import")
        .join(name)
}

fn parse(name: &str) -> (ImportFile, Vec<ParsedRow>, Vec<RejectedRow>) {
    let file = ImportFile::open(&fixture(name)).unwrap_or_else(|e| panic!("{e}"));
    let (mut valid, mut rejected) = (Vec::new(), Vec::new());
    for outcome in file.rows().map(Result::unwrap) {
        match outcome {
            RowOutcome::Valid(r) => valid.push(r),
            RowOutcome::Invalid(r) => rejected.push(r),
        }
    }
    (file, valid, rejected)
}

fn lines(valid: &[ParsedRow]) -> Vec<u64> {
    valid.iter().map(|r| r.line).collect()
}

fn rejections(rejected: &[RejectedRow]) -> Vec<(u64, Vec<&str>)> {
    rejected
        .iter()
        .map(|r| (r.line, r.errors.iter().map(|e| e.field.as_str()).collect()))
        .collect()
}

fn row(valid: &[ParsedRow], line: u64) -> &ParsedRow {
    valid
        .iter()
        .find(|r| r.line == line)
        .unwrap_or_else(|| panic!("no valid row at line {line}"))
}

fn date(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn penalty(body: &RecordBody) -> &PenaltyDetails {
    match &body.details {
        Details::Penalty(p) => p,
        other => panic!("not a penalty: {other:?}"),
    }
}

/// No personal number may appear in full in any message.
fn assert_no_personal_numbers(valid: &[ParsedRow], rejected: &[RejectedRow]) {
    let ids = [
        "360426199113010079",
        "11010519491231002X",
        "320583198506120034",
        "19911301",
    ];
    let mut texts: Vec<&str> = valid
        .iter()
        .flat_map(|r| r.warnings.iter().map(String::as_str))
        .collect();
    for r in rejected {
        texts.extend(
            r.errors
                .iter()
                .flat_map(|e| [e.value.as_str(), e.reason.as_str()]),
        );
    }
    for t in texts {
        assert!(
            !ids.iter().any(|id| t.contains(id)),
            "personal number in {t:?}"
        );
    }
}

#[test]
fn import_penalties_with_codes_in_utf8() {
    let (file, valid, rejected) = parse("penalties-codes-utf8.csv");
    assert_eq!(file.encoding(), SourceEncoding::Utf8);
    assert_eq!(file.kind(), FileKind::Penalty);
    assert_eq!(lines(&valid), [2, 3, 9, 10, 11, 12, 15, 16]);
    assert_eq!(
        rejections(&rejected),
        [
            (4, vec!["CF_XDR_SHXYM"]),
            (5, vec!["CF_XDR_ZJHM"]),
            (6, vec!["cf_jdrq"]),
            (7, vec!["CF_NR_FK"]),
            (8, vec!["CF_WSH", "CF_CFJG"]),
            (14, vec!["CF_GSJZQ"]),
        ]
    );
    assert_no_personal_numbers(&valid, &rejected);

    let expected = RecordBody {
        subject: Subject {
            kind: SubjectKind::LegalPerson,
            name: "昆山示例精密机械有限公司".into(),
            id: SubjectId::Uscc(Uscc::parse("91320583MA1MXQ7K8J").unwrap()),
        },
        other_ids: vec![
            SubjectId::RegNo(RegNo::parse("320583000123451").unwrap()),
            SubjectId::OrgCode(OrgCode::parse("MA1MXQ7K8").unwrap()),
        ],
        representative: Some(Representative {
            name: "张伟".into(),
            id_type: Some("身份证".into()),
            id_number: Some("320583198506120034".into()),
        }),
        authority: Authority {
            name: "昆山市市场监督管理局".into(),
            uscc: Uscc::parse("11320583014123458G").ok(),
        },
        source_unit: Some(Authority {
            name: "苏州市公共信用信息中心".into(),
            uscc: Uscc::parse("123205004665012376").ok(),
        }),
        decision_no: "昆市监罚〔2024〕101号".into(),
        decision_date: date("2024-03-05"),
        published_on: None,
        publication_end: Some(date("2025-03-05")),
        severity: Severity::General,
        status: RecordStatus::Active,
        details: Details::Penalty(PenaltyDetails {
            violation_type: "虚假宣传".into(),
            facts: "在其网店发布虚假广告".into(),
            legal_basis: "《中华人民共和国广告法》第五十五条".into(),
            categories: vec!["罚款".into()],
            content: "罚款人民币五千元".into(),
            fine_fen: Some(500_000),
            confiscated_fen: None,
            licence_affected: None,
            valid_until: None,
        }),
        extra: BTreeMap::from([
            ("BZ".into(), "首次违法".into()),
            ("DFBM".into(), "320583".into()),
        ]),
    };
    let first = row(&valid, 2);
    assert_eq!(first.body, expected);
    assert_eq!(first.kind, RecordKind::PENALTY);
    assert!(first.warnings.is_empty(), "{:?}", first.warnings);

    // A warning-only penalty; the source unit equal to the authority is not repeated.
    let light = row(&valid, 3);
    assert_eq!(
        (light.body.severity, light.body.source_unit.clone()),
        (Severity::Light, None)
    );
    assert_eq!(light.body.decision_date, date("2024-03-08"));
    let pilot = row(&valid, 9);
    assert!(
        pilot
            .warnings
            .iter()
            .any(|w| w.contains("pilot USCC accepted under policy")),
        "{:?}",
        pilot.warnings
    );
    assert_eq!(pilot.body.authority.uscc, None);
    let person = row(&valid, 10);
    assert_eq!(person.body.subject.kind, SubjectKind::NaturalPerson);
    assert_eq!(
        person.body.subject.id,
        SubjectId::ResidentId(ResidentId::parse("11010519491231002X").unwrap())
    );
    let shop = row(&valid, 11);
    assert_eq!(shop.body.subject.kind, SubjectKind::IndividualBusiness);
    let p = penalty(&shop.body);
    assert_eq!(
        (p.fine_fen, p.confiscated_fen),
        (Some(12_345_600), Some(1_000_000_000))
    );
    assert_eq!(p.categories, ["罚款", "没收违法所得"]);
    let serious = row(&valid, 12);
    assert_eq!(serious.body.severity, Severity::Serious);
    assert_eq!(
        penalty(&serious.body).facts,
        "该公司未按规定处置危险废物，\n造成环境污染"
    );
    assert_eq!(penalty(&serious.body).valid_until, Some(date("2027-06-17")));
    let old = row(&valid, 15);
    assert_eq!(
        old.body.subject.id,
        SubjectId::RegNo(RegNo::parse("320500000678903").unwrap())
    );

    let reason = |line: u64| {
        rejected
            .iter()
            .find(|r| r.line == line)
            .map(|r| r.errors[0].clone())
            .unwrap()
    };
    assert_eq!(reason(5).value, "360426************");
    assert!(
        reason(5).reason.contains("birth date"),
        "{}",
        reason(5).reason
    );
    assert!(
        reason(4).reason.contains("check character at position 18"),
        "{}",
        reason(4).reason
    );
    assert_eq!(reason(7).value, "1.2345678");
    assert!(
        reason(14).reason.contains("before the decision date"),
        "{}",
        reason(14).reason
    );
    // A passport holder is named by the passport.
    let passport = valid.iter().find(|r| r.line == 16).expect("line 16");
    assert_eq!(
        passport.body.subject.id,
        SubjectId::Document(
            credithub_protocol::ids::PersonDocument::parse(
                credithub_protocol::ids::DocumentKind::Passport,
                "E12345678"
            )
            .unwrap()
        )
    );

    // Progress offsets grow and stay within the decoded text.
    let mut offsets: Vec<u64> = file
        .rows()
        .map(Result::unwrap)
        .map(|o| o.bytes_read())
        .collect();
    assert!(offsets.windows(2).all(|w| w[0] < w[1]));
    assert!(offsets.pop().unwrap() <= file.total_bytes());
}

#[test]
fn import_penalties_with_chinese_headers_in_gb18030() {
    let (file, valid, rejected) = parse("penalties-chinese-gb18030.csv");
    assert_eq!(file.encoding(), SourceEncoding::Gb18030);
    assert_eq!(file.kind(), FileKind::Penalty);
    assert_eq!(lines(&valid), [2, 3, 4, 5, 12]);
    assert_eq!(
        rejections(&rejected),
        [
            (7, vec!["行政相对人代码_1(统一社会信用代码)"]),
            (8, vec!["罚款金额（万元）"]),
            (9, vec!["行政相对人类别"]),
            (
                10,
                vec![
                    "行政相对人代码_2(工商注册号)",
                    "行政相对人代码_3(组织机构代码)"
                ]
            ),
        ]
    );
    assert_no_personal_numbers(&valid, &rejected);
    assert!(rejected[1].errors[0].reason.contains("negative"));
    // A 15-digit registration number is not mistaken for a legacy identity number.
    assert_eq!(rejected[3].errors[0].value, "320583000123452");
    assert_eq!(penalty(&row(&valid, 12).body).fine_fen, Some(1_000_500_000));
    assert_eq!(
        penalty(&row(&valid, 5).body).facts,
        "该公司未按规定处置危险废物，\r\n造成环境污染"
    );
}

/// The same data under code and Chinese headers gives equal bodies (unknown local
/// columns are kept under their own header text).
#[test]
fn import_code_and_chinese_headers_give_equal_bodies() {
    let pairs = [
        (
            "penalties-codes-utf8.csv",
            "penalties-chinese-gb18030.csv",
            [(2, 2), (3, 3), (10, 4)],
        ),
        (
            "licences-codes-gbk.csv",
            "licences-chinese-utf8-bom.csv",
            [(2, 2), (3, 3), (4, 4)],
        ),
    ];
    for (codes, chinese, lines) in pairs {
        let (_, a, _) = parse(codes);
        let (_, b, _) = parse(chinese);
        for (la, lb) in lines {
            // 地方编码 is the column DFBM, kept under its code from either header.
            let (x, y) = (&row(&a, la).body, &row(&b, lb).body);
            assert_eq!(x, y, "{codes}:{la} vs {chinese}:{lb}");
        }
    }
}

#[test]
fn import_licences_with_codes_in_gbk() {
    let (file, valid, rejected) = parse("licences-codes-gbk.csv");
    assert_eq!(file.encoding(), SourceEncoding::Gb18030);
    assert_eq!(file.kind(), FileKind::Licence);
    assert_eq!(lines(&valid), [2, 3, 4, 8]);
    assert_eq!(
        rejections(&rejected),
        [
            (5, vec!["XK_XKLB"]),
            (6, vec!["XK_YXQZI"]),
            (7, vec!["XK_XKJGDM"]),
            (9, vec!["XK_NR"])
        ]
    );
    assert!(rejected[1].errors[0]
        .reason
        .contains("before the valid-from date"));
    assert_no_personal_numbers(&valid, &rejected);
    let licence = |line| match &row(&valid, line).body.details {
        Details::Licence(l) => l.clone(),
        other => panic!("{other:?}"),
    };
    let a = licence(2);
    assert_eq!(
        (a.category, a.valid_from, a.valid_to),
        (
            LicenceCategory::Ordinary,
            date("2024-03-01"),
            Some(date("2029-02-28"))
        )
    );
    assert_eq!(a.licence_no.as_deref(), Some("JY13205830012345"));
    let b = licence(3);
    assert_eq!(
        (b.category, b.valid_from, b.valid_to),
        (LicenceCategory::Registration, date("2024-04-02"), None)
    );
    assert_eq!(licence(4).category, LicenceCategory::Approval);
    assert_eq!(licence(8).category, LicenceCategory::Ordinary);
    for r in &valid {
        assert_eq!(
            (r.kind, r.body.severity),
            (RecordKind::LICENCE, Severity::NotApplicable)
        );
    }
}

#[test]
fn import_licences_with_chinese_headers_in_utf8_with_bom() {
    let (file, valid, rejected) = parse("licences-chinese-utf8-bom.csv");
    assert_eq!(file.encoding(), SourceEncoding::Utf8);
    assert_eq!(file.kind(), FileKind::Licence);
    assert_eq!(file.header()[0], "行政许可决定文书名称");
    assert_eq!(lines(&valid), [2, 3, 4]);
    assert_eq!(
        rejections(&rejected),
        [(5, vec!["许可决定日期"]), (6, vec!["有效期至"])]
    );
}

#[test]
fn import_reject_file_round_trip() {
    let (file, _, rejected) = parse("penalties-codes-utf8.csv");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rejects.csv");
    let mut writer = RejectWriter::create(&path, file.header());
    for r in &rejected {
        writer.write(r).unwrap();
    }
    assert_eq!(writer.finish().unwrap(), 6);

    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"));
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(&header[..file.header().len()], file.header());
    assert_eq!(&header[file.header().len()..], ["_line", "_errors"]);
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 6);
    for (rec, r) in records.iter().zip(&rejected) {
        let n = file.header().len();
        assert_eq!(
            rec.iter().take(n).collect::<Vec<_>>(),
            r.raw.iter().map(String::as_str).collect::<Vec<_>>()
        );
        assert_eq!(&rec[n], r.line.to_string());
    }
    assert_eq!(
        &records[4][file.header().len() + 1],
        "CF_WSH: required value is empty; CF_CFJG: required value is empty"
    );

    // The reject file imports again, refusing the same fields of the same rows.
    let (again, valid, rejected_again) = {
        let f = ImportFile::open(&path).unwrap();
        let outcomes: Vec<RowOutcome> = f.rows().map(Result::unwrap).collect();
        let (v, r): (Vec<_>, Vec<_>) = outcomes
            .into_iter()
            .partition(|o| matches!(o, RowOutcome::Valid(_)));
        (f, v, r)
    };
    assert_eq!(
        (again.kind(), again.encoding(), valid.len()),
        (FileKind::Penalty, SourceEncoding::Utf8, 0)
    );
    let fields = |r: &RejectedRow| r.errors.iter().map(|e| e.field.clone()).collect::<Vec<_>>();
    for (o, r) in rejected_again.iter().zip(&rejected) {
        let RowOutcome::Invalid(o) = o else {
            unreachable!()
        };
        assert_eq!(fields(o), fields(r));
    }

    // No rejected row, no file.
    let empty = dir.path().join("none.csv");
    assert_eq!(
        RejectWriter::create(&empty, file.header())
            .finish()
            .unwrap(),
        0
    );
    assert!(!empty.exists());
}

#[test]
fn import_penalties_from_an_xls_workbook() {
    // The rows of penalties-codes-utf8.csv in an Excel 97-2003 workbook, below a
    // merged title row and beside a sheet of notes: the same bodies and the same
    // rejects, each one sheet row lower than its CSV line, except after the field with
    // a line break (CSV lines 12-13), which takes one row of the sheet.
    let row_of = |line: u64| if line < 13 { line + 1 } else { line };
    let (csv, csv_valid, csv_rejected) = parse("penalties-codes-utf8.csv");
    let (xls, xls_valid, xls_rejected) = parse("penalties-codes.xls");
    assert_eq!(xls.kind(), csv.kind());
    assert_eq!(xls.sheets(), ["行政处罚"]);
    assert_eq!(
        lines(&xls_valid),
        lines(&csv_valid)
            .into_iter()
            .map(row_of)
            .collect::<Vec<_>>()
    );
    for (x, c) in xls_valid.iter().zip(&csv_valid) {
        assert_eq!(x.body, c.body, "sheet row {}", x.line);
    }
    let shifted: Vec<(u64, Vec<&str>)> = rejections(&csv_rejected)
        .into_iter()
        .map(|(line, fields)| (row_of(line), fields))
        .collect();
    assert_eq!(rejections(&xls_rejected), shifted);
    assert!(xls_rejected
        .iter()
        .all(|r| r.sheet.as_deref() == Some("行政处罚")));
}
