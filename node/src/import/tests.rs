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
    assert!(matches!(
        open_text("book.xlsx", b"PK\x03\x04\x14\0\x06\0"),
        Err(ImportError::NotText { .. })
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
        .map(|o| (o.line(), matches!(o, RowOutcome::Valid(_))))
        .collect();
    assert_eq!(got, [(3, true), (5, true), (9, false)]);

    let tabbed = format!(
        "{}\n{}\n",
        PENALTY_HEADER.replace(',', "\t"),
        row.replace("{n}", "1").replace(',', "\t")
    );
    let file = open_text("tabs.tsv", tabbed.as_bytes()).unwrap();
    assert!(matches!(file.rows().next(), Some(RowOutcome::Valid(_))));

    // Too many fields in a row is an error naming the row; too few means empty values.
    let text = format!(
        "{PENALTY_HEADER}\n{},extra\n某公司,法人及非法人组织\n",
        row.replace("{n}", "1")
    );
    let file = open_text("width.csv", text.as_bytes()).unwrap();
    let outcomes: Vec<RowOutcome> = file.rows().collect();
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
