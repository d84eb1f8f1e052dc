//! Workbooks built in the test: header rows below a title, numbers and dates, sheets
//! chosen, skipped and refused, and rejects numbered by their sheet rows.

use std::path::Path;

use rust_xlsxwriter::{Format, Workbook};

use super::*;

const HEADER: [&str; 8] = [
    "行政相对人名称",
    "行政相对人类别",
    "统一社会信用代码",
    "行政处罚决定书文号",
    "处罚决定日期",
    "处罚机关",
    "处罚类别",
    "处罚内容",
];

/// A data sheet: title row, header row, then rows of (decision number, date serial or
/// text, fine written as a number in a ninth column).
fn data_sheet(book: &mut Workbook, name: &str, rows: &[(&str, Result<f64, &str>)]) {
    let sheet = book.add_worksheet();
    sheet.set_name(name).unwrap();
    sheet
        .merge_range(0, 0, 0, 8, "行政处罚信息", &Format::new())
        .unwrap();
    for (c, h) in HEADER.iter().chain(["罚款金额（万元）"].iter()).enumerate() {
        sheet.write_string(1, c as u16, *h).unwrap();
    }
    let date = Format::new().set_num_format("yyyy-mm-dd");
    for (i, (no, when)) in rows.iter().enumerate() {
        let r = i as u32 + 2;
        let texts = ["某公司", "法人及非法人组织", "91110000600037341L", no];
        for (c, t) in texts.iter().enumerate() {
            sheet.write_string(r, c as u16, *t).unwrap();
        }
        match when {
            Ok(serial) => sheet.write_number_with_format(r, 4, *serial, &date),
            Err(text) => sheet.write_string(r, 4, *text),
        }
        .unwrap();
        for (c, t) in [(5, "某局"), (6, "罚款"), (7, "罚款五万元")] {
            sheet.write_string(r, c, t).unwrap();
        }
        sheet.write_number(r, 8, 5.0).unwrap();
    }
}

fn open(book: &mut Workbook, sheet: Option<&str>) -> Result<ImportFile, ImportError> {
    let bytes = book.save_to_buffer().unwrap();
    let path = Path::new("book.xlsx");
    let options = ImportOptions {
        sheet: sheet.map(str::to_string),
    };
    ImportFile::from_vec(path, bytes, &options)
}

#[test]
fn sheets_rows_dates_and_numbers() {
    let mut book = Workbook::new();
    let notes = book.add_worksheet();
    notes.set_name("说明").unwrap();
    notes.write_string(0, 0, "填表说明：每行一条处罚").unwrap();
    data_sheet(
        &mut book,
        "一月",
        &[("文号1", Ok(45_356.0)), ("文号2", Err("2024-13-05"))],
    );
    data_sheet(&mut book, "二月", &[("文号3", Ok(45_357.0))]);
    let file = open(&mut book, None).unwrap();
    assert_eq!(file.sheets(), ["一月", "二月"]);
    assert!(
        file.warnings().iter().any(|w| w.contains("sheet 说明")),
        "{:?}",
        file.warnings()
    );
    let outcomes: Vec<RowOutcome> = file.rows().map(Result::unwrap).collect();
    assert_eq!(outcomes.len(), 3);
    let RowOutcome::Valid(first) = &outcomes[0] else {
        panic!("{:?}", outcomes[0])
    };
    assert_eq!(
        (first.line, first.body.decision_date.to_string().as_str()),
        (3, "2024-03-05")
    );
    let credithub_protocol::record::Details::Penalty(p) = &first.body.details else {
        panic!()
    };
    assert_eq!(p.fine_fen, Some(5 * FEN_PER_WAN_YUAN));
    let RowOutcome::Invalid(bad) = &outcomes[1] else {
        panic!("{:?}", outcomes[1])
    };
    assert_eq!((bad.line, bad.sheet.as_deref()), (4, Some("一月")));
    assert_eq!(bad.errors[0].field, "处罚决定日期");
    assert_eq!(outcomes[2].line(), 3);

    let only = open(&mut book, Some("二月")).unwrap();
    assert_eq!(
        (only.sheets(), only.rows().map(Result::unwrap).count()),
        (vec!["二月".to_string()], 1)
    );
    let err = open(&mut book, Some("三月")).unwrap_err();
    assert!(matches!(err, ImportError::NoSheet { .. }), "{err}");
    let err = open(&mut book, Some("说明")).unwrap_err();
    assert!(
        err.to_string().contains("book.xlsx: sheet 说明 row 1:"),
        "{err}"
    );
}

#[test]
fn sheets_with_other_headers_are_refused_together() {
    let mut book = Workbook::new();
    data_sheet(&mut book, "处罚", &[("文号1", Ok(45_356.0))]);
    let other = book.add_worksheet();
    other.set_name("许可").unwrap();
    for (c, h) in ["行政相对人名称", "统一社会信用代码", "许可机关", "许可内容"]
        .iter()
        .enumerate()
    {
        other.write_string(0, c as u16, *h).unwrap();
    }
    let err = open(&mut book, None).unwrap_err();
    assert!(
        err.to_string()
            .contains("sheet 许可 row 1: the header differs from that of sheet 处罚"),
        "{err}"
    );
    assert!(open(&mut book, Some("处罚")).is_ok());
}
