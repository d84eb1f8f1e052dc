//! Writing bodies as national 双公示 workbooks (`.xlsx`), as the templates lay them out:
//! a title row (行政处罚信息, 行政许可信息) merged across the columns, then the header;
//! in today's Chinese layout a two-row header whose upper row groups the party's codes
//! under 行政相对人代码. Dates are date cells (serial numbers with a date format) and
//! amounts number cells; everything else is text.

use std::path::Path;

use credithub_protocol::{Date, RecordBody};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};

use super::csvfile::{write_rows, CsvOptions, CsvReport, FileKind, HeaderStyle};
use super::GenerateError;
use credithub_node::export::layout::party;

/// The party-code columns that today's Chinese template groups under one heading.
const GROUPED: std::ops::RangeInclusive<usize> = party::USCC..=7;
/// The heading over them.
const GROUP: &str = "行政相对人代码";

/// Column codes whose values are dates.
const DATE_CODES: [&str; 8] = [
    "CF_JDRQ", "CF_YXQ", "CF_GSJZQ", "XK_JDRQ", "XK_YXQZ", "XK_YXQZI", "XK_JZQ", "SJC",
];
/// Column codes whose values are amounts in 万元.
const AMOUNT_CODES: [&str; 2] = ["CF_NR_FK", "CF_NR_WFFF"];

fn xlsx(e: XlsxError) -> GenerateError {
    GenerateError::Io(std::io::Error::other(e))
}

/// How each column is written: by the code of the column in today's or the pre-2019
/// layout (the 2016 layout has the pre-2019 columns).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cell {
    Text,
    Date,
    Amount,
}

fn cell_kinds(kind: FileKind, style: HeaderStyle) -> Vec<Cell> {
    let codes = match style {
        HeaderStyle::Codes | HeaderStyle::Chinese => kind.header(HeaderStyle::Codes),
        HeaderStyle::Pre2019 | HeaderStyle::Chinese2016 => kind.header(HeaderStyle::Pre2019),
    };
    codes
        .iter()
        .map(|c| {
            if DATE_CODES.contains(c) {
                Cell::Date
            } else if AMOUNT_CODES.contains(c) {
                Cell::Amount
            } else {
                Cell::Text
            }
        })
        .collect()
}

/// Writes the header rows from `row` 0 on; returns the rows used.
fn write_header(
    sheet: &mut Worksheet,
    kind: FileKind,
    style: HeaderStyle,
) -> Result<u32, XlsxError> {
    let header = kind.header(style);
    let last = u16::try_from(header.len().saturating_sub(1)).unwrap_or(u16::MAX);
    let title = if kind == FileKind::Penalty {
        "行政处罚信息"
    } else {
        "行政许可信息"
    };
    let bold = Format::new().set_bold();
    sheet.merge_range(0, 0, 0, last, title, &bold)?;
    if style != HeaderStyle::Chinese {
        for (c, name) in header.iter().enumerate() {
            sheet.write_string(1, c as u16, *name)?;
        }
        return Ok(2);
    }
    // Two rows: the group heading over the codes, every other column merged down.
    let first = *GROUPED.start() as u16;
    let end = *GROUPED.end() as u16;
    sheet.merge_range(1, first, 1, end, GROUP, &Format::new())?;
    for (c, name) in header.iter().enumerate() {
        let col = c as u16;
        if GROUPED.contains(&c) {
            sheet.write_string(2, col, *name)?;
        } else {
            sheet.merge_range(1, col, 2, col, name, &Format::new())?;
        }
    }
    Ok(3)
}

/// The Excel serial number of a date (1900 date system).
fn serial(date: Date) -> f64 {
    f64::from(date.days_since_epoch() + 25_569)
}

/// Writes bodies of one kind as a one-sheet workbook named `sheet` and reports what
/// it wrote; the lines of [`CsvReport::bad`] are the sheet's row numbers (1-based).
/// `options.encoding` does not apply (a workbook holds Unicode text).
pub fn write_xlsx(
    kind: FileKind,
    bodies: impl IntoIterator<Item = RecordBody>,
    path: &Path,
    sheet_name: &str,
    options: &CsvOptions,
) -> Result<CsvReport, GenerateError> {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name(sheet_name).map_err(xlsx)?;
    let header_rows = write_header(sheet, kind, options.headers).map_err(xlsx)?;
    let kinds = cell_kinds(kind, options.headers);
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let mut next = header_rows;
    let mut report = write_rows(kind, bodies, options, u64::from(header_rows) + 1, |row| {
        for (c, value) in row.iter().enumerate() {
            if value.is_empty() {
                continue;
            }
            let col = c as u16;
            let kind = kinds.get(c).copied().unwrap_or(Cell::Text);
            let parsed_date = (kind == Cell::Date)
                .then(|| Date::parse(value).ok())
                .flatten();
            let amount = (kind == Cell::Amount)
                .then(|| value.parse::<f64>().ok())
                .flatten();
            match (parsed_date, amount) {
                (Some(d), _) => sheet.write_number_with_format(next, col, serial(d), &date),
                (None, Some(a)) => sheet.write_number(next, col, a),
                (None, None) => sheet.write_string(next, col, value),
            }
            .map_err(xlsx)?;
        }
        next += 1;
        Ok(())
    })?;
    book.save(path).map_err(xlsx)?;
    report.bytes = std::fs::metadata(path)?.len();
    Ok(report)
}
