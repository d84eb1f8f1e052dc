//! File-level errors, line numbering and layout variants, on texts built in the test.

use std::path::Path;

use super::*;

fn open_text(name: &str, bytes: &[u8]) -> Result<ImportFile, ImportError> {
    ImportFile::from_bytes(Path::new(name), bytes)
}

const PENALTY_HEADER: &str =
    "CF_XDR_MC,CF_XDR_LB,CF_XDR_SHXYM,CF_WSH,CF_JDRQ,CF_CFJG,CF_CFLB,CF_NR";

#[test]
fn file_level_errors_name_the_file_and_the_problem() {
    let err = open_text(
        "short.csv",
        b"CF_XDR_MC,CF_XDR_LB,CF_XDR_SHXYM,CF_WSH,CF_JDRQ,CF_CFJG,CF_CFLB\n",
    )
    .unwrap_err();
    assert!(
        matches!(&err, ImportError::MissingColumns { missing, .. } if missing == &["CF_NR (处罚内容)"]),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("short.csv: line 1: missing required column(s) CF_NR"),
        "{err}"
    );

    let err = open_text(
        "typo.csv",
        b"CF_XDR_MC,CF_XDR_LB,CF_XDR_SHXYM,CF_WSH,CF_JDRQ,CF_CFJG,CF_CFLB,CF_NRR\n",
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("unrecognised columns: CF_NRR"),
        "{err}"
    );

    let dup = format!("{PENALTY_HEADER},处罚机关\n");
    let err = open_text("dup.csv", dup.as_bytes()).unwrap_err();
    assert!(
        matches!(
            err,
            ImportError::DuplicateColumn {
                first: 6,
                second: 9,
                ..
            }
        ),
        "{err}"
    );

    assert!(matches!(
        open_text("empty.csv", b""),
        Err(ImportError::Empty { .. })
    ));
    assert!(matches!(
        open_text("blank.csv", b"\r\n\r\n"),
        Err(ImportError::Empty { .. })
    ));
    let err = open_text(
        "garbage.bin",
        &[0x13, 0xFF, 0xFE, 0x00, 0x81, 0x30, 0xFF, 0x07, 0x80, 0xFF],
    )
    .unwrap_err();
    assert!(
        matches!(err, ImportError::Undecodable { offset: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().starts_with("garbage.bin:"), "{err}");
    assert!(matches!(
        open_text("nul.bin", b"CF_WSH,\0\0\0"),
        Err(ImportError::NotText { .. })
    ));
    // A ZIP that is no workbook.
    assert!(matches!(
        open_text("book.xlsx", b"PK\x03\x04\x14\0\x06\0"),
        Err(ImportError::Workbook { .. })
    ));
    assert!(matches!(
        open_text("one.csv", "行政处罚决定书文号\n1\n".as_bytes()),
        Err(ImportError::NotCsv { .. })
    ));
    assert!(matches!(
        open_text("what.csv", b"a,b,c\n1,2,3\n"),
        Err(ImportError::UnknownKind { .. })
    ));
    let missing = ImportFile::open(Path::new("/nonexistent/x.csv")).unwrap_err();
    assert!(
        matches!(missing, ImportError::Read { .. })
            && missing.to_string().contains("/nonexistent/x.csv")
    );
}

/// Physical line numbers with CRLF line ends, blank lines, quoted line breaks, a
/// repeated header row and a tab-separated file.
#[test]
fn line_numbers_and_layout_variants() {
    let row = "某公司,法人及非法人组织,91110000600037341L,文号{n},2024-03-05,某局,罚款,罚款一万元";
    let text = format!(
        "{PENALTY_HEADER}\r\n\r\n{}\r\n{PENALTY_HEADER}\r\n\"多行\r\n名称\",法人及非法人组织,91110000600037341L,文号2,2024-03-05,某局,罚款,内容\r\n\r\n\r\n{}\r\n,,,\r\n",
        row.replace("{n}", "1"),
        row.replace("{n}", "3").replace("2024-03-05", "2024-13-05"),
    );
    let file = open_text("crlf.csv", text.as_bytes()).unwrap();
    let got: Vec<(u64, bool)> = file
        .rows()
        .map(Result::unwrap)
        .map(|o| (o.line(), matches!(o, RowOutcome::Valid(_))))
        .collect();
    assert_eq!(got, [(3, true), (5, true), (9, false)]);

    let tabbed = format!(
        "{}\n{}\n",
        PENALTY_HEADER.replace(',', "\t"),
        row.replace("{n}", "1").replace(',', "\t")
    );
    let file = open_text("tabs.tsv", tabbed.as_bytes()).unwrap();
    assert!(matches!(
        file.rows().map(Result::unwrap).next(),
        Some(RowOutcome::Valid(_))
    ));

    // Too many fields in a row is an error naming the row; too few means empty values.
    let text = format!(
        "{PENALTY_HEADER}\n{},extra\n某公司,法人及非法人组织\n",
        row.replace("{n}", "1")
    );
    let file = open_text("width.csv", text.as_bytes()).unwrap();
    let outcomes: Vec<RowOutcome> = file.rows().map(Result::unwrap).collect();
    let RowOutcome::Invalid(wide) = &outcomes[0] else {
        panic!("{:?}", outcomes[0])
    };
    assert_eq!(
        (wide.errors[0].field.as_str(), wide.raw.len()),
        ("(row)", 9)
    );
    let RowOutcome::Invalid(narrow) = &outcomes[1] else {
        panic!("{:?}", outcomes[1])
    };
    assert_eq!(narrow.errors.len(), 6, "{:?}", narrow.errors);
}

#[test]
fn money_edge_cases() {
    assert_eq!(wan_yuan_to_fen("0.5"), Ok(500_000));
    assert_eq!(wan_yuan_to_fen("12.3456"), Ok(12_345_600));
    assert_eq!(wan_yuan_to_fen("1,000"), Ok(1_000_000_000));
    assert_eq!(wan_yuan_to_fen("0.000001"), Ok(1));
    assert!(wan_yuan_to_fen("0.0000005").is_err());
    assert!(wan_yuan_to_fen("-0.5").is_err());
    assert!(wan_yuan_to_fen("1e3").is_err());
}

/// The pre-2019 codes and the 2016 Chinese headers give the same bodies; the party
/// kind is inferred; 处罚类别1/2 combine; 地方编码 and 数据更新时间戳 stay in `extra`.
#[test]
fn older_penalty_layouts_map_to_todays_fields() {
    use credithub_protocol::ids::{SubjectId, SubjectKind, Uscc};
    use credithub_protocol::record::{Details, Severity};
    let business = Uscc::with_checks("9232050000000001").expect("a 92 USCC");
    let rows = [
        "苏罚〔2016〕1号,未按规定公示,罚款,警告,违法事实,《条例》第1条,某公司,91110000600037341L,,,,,张三,罚款一万元,2016-05-03,某局,正常,320500,2016-05-04 10:00:00,备注".to_string(),
        "苏罚〔2016〕2号,,吊销许可证,,,,李四,,,,,11010519491231002X,,吊销,2016/05/03,某局,,320500,,".to_string(),
        format!("苏罚〔2016〕3号,,罚款,,,,某店,{business},,,,,,罚款,20160503,某局,,,,"),
        "苏罚〔2016〕4号,,罚款,,,,某厂,91110000600037341L,,,,,,罚款,2016-13-03,某局,,,,".to_string(),
    ];
    let codes = "CF_WSH,CF_CFMC,CF_CFLB1,CF_CFLB2,CF_SY,CF_YJ,CF_XDR_MC,CF_XDR_SHXYM,CF_XDR_ZDM,CF_XDR_GSDJ,CF_XDR_SWDJ,CF_XDR_SFZ,CF_FR,CF_JG,CF_JDRQ,CF_XZJG,CF_ZT,DFBM,SJC,BZ";
    let chinese = "行政处罚决定书文号,处罚名称,处罚类别1,处罚类别2,处罚事由,处罚依据,行政相对人名称,行政相对人代码_1(统一社会信用代码),行政相对人代码_2(组织机构代码),行政相对人代码_3(工商登记码),行政相对人代码_4(税务登记号),行政相对人代码_5(居民身份证号),法定代表人姓名,处罚结果,处罚决定日期,处罚机关,当前状态,地方编码,数据更新时间戳,备注";
    let mut bodies = Vec::new();
    for (header, layout) in [(codes, Layout::Pre2019), (chinese, Layout::Chinese2016)] {
        let text = format!("{header}\n{}\n", rows.join("\n"));
        let file = open_text("old.csv", text.as_bytes()).unwrap();
        assert_eq!((file.kind(), file.layout()), (FileKind::Penalty, layout));
        let outcomes: Vec<RowOutcome> = file.rows().map(Result::unwrap).collect();
        let valid: Vec<&ParsedRow> = outcomes
            .iter()
            .filter_map(|o| match o {
                RowOutcome::Valid(r) => Some(r),
                RowOutcome::Invalid(_) => None,
            })
            .collect();
        assert_eq!(valid.len(), 3, "{outcomes:?}");
        let kinds: Vec<SubjectKind> = valid.iter().map(|r| r.body.subject.kind).collect();
        assert_eq!(
            kinds,
            [
                SubjectKind::LegalPerson,
                SubjectKind::NaturalPerson,
                SubjectKind::IndividualBusiness
            ]
        );
        assert!(matches!(valid[1].body.subject.id, SubjectId::ResidentId(_)));
        let first = &valid[0].body;
        let Details::Penalty(p) = &first.details else {
            panic!("{first:?}")
        };
        assert_eq!(p.categories, ["罚款", "警告"]);
        assert_eq!(
            (p.content.as_str(), p.facts.as_str()),
            ("罚款一万元", "违法事实")
        );
        assert_eq!(first.authority.name, "某局");
        assert_eq!(
            first.representative.as_ref().map(|r| r.name.as_str()),
            Some("张三")
        );
        let extra: Vec<(&str, &str)> = first
            .extra
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            extra,
            [
                ("BZ", "备注"),
                ("CF_CFMC", "未按规定公示"),
                ("CF_ZT", "正常"),
                ("DFBM", "320500"),
                ("SJC", "2016-05-04 10:00:00")
            ]
        );
        assert_eq!(valid[1].body.severity, Severity::Serious);
        let RowOutcome::Invalid(bad) = &outcomes[3] else {
            panic!("{:?}", outcomes[3])
        };
        assert_eq!(bad.line, 5);
        let field = if layout == Layout::Pre2019 {
            "CF_JDRQ"
        } else {
            "处罚决定日期"
        };
        assert_eq!(bad.errors[0].field, field);
        bodies.push(valid.iter().map(|r| r.body.clone()).collect::<Vec<_>>());
    }
    assert_eq!(
        bodies[0], bodies[1],
        "codes and Chinese headers give equal bodies"
    );

    // A missing column is named in the file's layout.
    let err = open_text("short.csv", codes.replace(",CF_JG", "").as_bytes()).unwrap_err();
    assert!(err.to_string().contains("CF_JG (处罚结果)"), "{err}");
}

#[test]
fn older_licence_layout_maps_to_todays_fields() {
    use credithub_protocol::record::{Details, LicenceCategory};
    let text = "XK_WSH,XK_XMMC,XK_SPLB,XK_NR,XK_XDR,XK_XDR_SHXYM,XK_XDR_ZDM,XK_XDR_GSDJ,XK_XDR_SWDJ,XK_XDR_SFZ,XK_FR,XK_JDRQ,XK_JZQ,XK_XZJG,XK_ZT,DFBM,SJC,BZ\n\
        苏许〔2016〕1号,食品经营许可,普通,准予许可,某公司,91110000600037341L,,,,,张三,2016-05-03,2021-05-02,某局,正常,320500,2016-05-04,\n";
    let file = open_text("old-licence.csv", text.as_bytes()).unwrap();
    assert_eq!(
        (file.kind(), file.layout()),
        (FileKind::Licence, Layout::Pre2019)
    );
    let Some(RowOutcome::Valid(row)) = file.rows().map(Result::unwrap).next() else {
        panic!("not valid")
    };
    let Details::Licence(l) = &row.body.details else {
        panic!("{:?}", row.body)
    };
    assert_eq!(l.category, LicenceCategory::Ordinary);
    assert_eq!(l.document_name, "食品经营许可");
    assert_eq!(
        l.valid_to.map(|d| d.to_string()).as_deref(),
        Some("2021-05-02")
    );
    assert_eq!(l.state.as_deref(), Some("正常"));
    assert_eq!(
        row.body.extra.get("DFBM").map(String::as_str),
        Some("320500")
    );
}

/// A file larger than the read chunk, ASCII for its first megabyte and GB18030 after:
/// decoded as GB18030 throughout, streamed from disk, with the physical line numbers
/// of its rejects before and after the chunk boundary.
#[test]
fn streamed_file_with_a_late_gb18030_row() {
    use std::fmt::Write as _;
    let row = |n: usize, date: &str| {
        format!("Company {n},1,91110000600037341L,No-{n},{date},Bureau,fine,content\r\n")
    };
    let mut text = format!("{PENALTY_HEADER}\r\n");
    let mut n = 0;
    while text.len() <= super::encoding::CHUNK + 1000 {
        n += 1;
        let date = if n == 5 { "2024-13-05" } else { "2024-03-05" };
        text.push_str(&row(n, date));
    }
    let ascii_rows = n;
    let _ = write!(
        text,
        "苏州某公司,1,91110000600037341L,苏罚-1,2024-03-05,苏州市某局,罚款,罚款一万元\r\n\r\n{}",
        row(n + 2, "2024-02-30")
    );
    let (bytes, _, _) = encoding_rs::GB18030.encode(&text);
    assert!(bytes.len() > super::encoding::CHUNK);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("late.csv");
    std::fs::write(&path, &bytes).unwrap();
    let file = ImportFile::open(&path).unwrap();
    assert_eq!(file.encoding(), SourceEncoding::Gb18030);
    assert_eq!(file.total_bytes(), text.len() as u64);
    let outcomes: Vec<RowOutcome> = file.rows().map(Result::unwrap).collect();
    assert_eq!(outcomes.len(), ascii_rows + 2);
    let rejected: Vec<u64> = outcomes
        .iter()
        .filter(|o| matches!(o, RowOutcome::Invalid(_)))
        .map(RowOutcome::line)
        .collect();
    // Line 1 is the header; the GB18030 row is line ascii_rows + 2, a blank line, then
    // the last row.
    assert_eq!(rejected, [6, ascii_rows as u64 + 4]);
    let RowOutcome::Valid(chinese) = &outcomes[ascii_rows] else {
        panic!("{:?}", outcomes[ascii_rows])
    };
    assert_eq!(chinese.line, ascii_rows as u64 + 2);
    assert_eq!(chinese.body.subject.name, "苏州某公司");
    assert_eq!(chinese.body.authority.name, "苏州市某局");
    assert!(outcomes
        .iter()
        .all(|o| o.bytes_read() <= file.total_bytes()));
}
