//! Spreadsheet cells as text, and where a sheet's header row is.
//!
//! Numbers are written as a person reads them in the spreadsheet: whole numbers without
//! a decimal point (`5`, not `5.0`), others with at most 15 significant digits (what
//! Excel keeps). Cells with a date format become `YYYY-MM-DD` (with ` HH:MM:SS` when
//! they hold a time of day), from the workbook's 1900 or 1904 date system.
//!
//! The national templates put a title row (行政处罚信息) above the header, and some a
//! two-row header whose upper row groups columns (行政相对人代码 over 统一社会信用代码,
//! 组织机构代码, …) while the columns outside a group are merged down across both rows.
//! The header row is the first row, among the first [`HEADER_SEARCH_ROWS`], with at
//! least [`HEADER_MIN_KNOWN`] cells that name known columns; when the row below it holds
//! only known column names, it is the lower half of a two-row header and the two merge
//! column by column (the lower cell where it has one).

use calamine::Data;

use super::headers::normalise;
use super::layouts;

/// Rows searched for the header row.
pub(crate) const HEADER_SEARCH_ROWS: usize = 30;
/// Known column names a header row has at least.
pub(crate) const HEADER_MIN_KNOWN: usize = 3;

/// A cell as text (see the module documentation).
pub(crate) fn text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => number(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        Data::DateTime(d) if d.is_duration() => number(d.as_f64()),
        Data::DateTime(d) => {
            let (y, mo, day, h, mi, s, ms) = d.to_ymd_hms_milli();
            if (h, mi, s, ms) == (0, 0, 0, 0) {
                format!("{y:04}-{mo:02}-{day:02}")
            } else {
                format!("{y:04}-{mo:02}-{day:02} {h:02}:{mi:02}:{s:02}")
            }
        }
        Data::Error(e) => e.to_string(),
    }
}

/// A number as the spreadsheet shows it in a general format.
fn number(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    if f == f.trunc() && f.abs() < 1e15 {
        // Exact: whole numbers below 10^15 are integers in an f64.
        return format!("{}", f as i64);
    }
    let magnitude = if f.abs() >= 1.0 {
        f.abs().log10().floor() as i32 + 1
    } else {
        0
    };
    let decimals = usize::try_from((15 - magnitude).clamp(0, 15)).unwrap_or(0);
    let s = format!("{f:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// Where a sheet's header is: its cells (merged when it spans two rows), the index of
/// its (lower) row, and the index of the first data row, among the sheet's rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeaderAt {
    pub cells: Vec<String>,
    pub row: usize,
    pub data_from: usize,
}

fn known(cells: &[String]) -> usize {
    cells
        .iter()
        .filter(|c| layouts::is_known(&normalise(c)))
        .count()
}

/// Finds the header among the first rows of a sheet (see the module documentation).
pub(crate) fn find_header(rows: &[Vec<String>]) -> Option<HeaderAt> {
    let limit = rows.len().min(HEADER_SEARCH_ROWS);
    let row = (0..limit).find(|&r| known(&rows[r]) >= HEADER_MIN_KNOWN)?;
    let upper = &rows[row];
    if let Some(lower) = rows.get(row + 1) {
        let filled = lower.iter().filter(|c| !c.trim().is_empty()).count();
        if filled > 0 && known(lower) == filled {
            let width = upper.len().max(lower.len());
            let cells = (0..width)
                .map(|c| match lower.get(c).filter(|v| !v.trim().is_empty()) {
                    Some(v) => v.clone(),
                    None => upper.get(c).cloned().unwrap_or_default(),
                })
                .collect();
            return Some(HeaderAt {
                cells,
                row: row + 1,
                data_from: row + 2,
            });
        }
    }
    Some(HeaderAt {
        cells: upper.clone(),
        row,
        data_from: row + 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{ExcelDateTime, ExcelDateTimeType};

    #[test]
    fn numbers_and_dates_read_as_shown() {
        assert_eq!(text(&Data::Float(5.0)), "5");
        assert_eq!(text(&Data::Float(0.5)), "0.5");
        assert_eq!(text(&Data::Float(0.1 + 0.2)), "0.3");
        assert_eq!(text(&Data::Float(12.3456)), "12.3456");
        assert_eq!(text(&Data::Float(320583000123452.0)), "320583000123452");
        assert_eq!(text(&Data::Int(42)), "42");
        let date = ExcelDateTime::new(45_356.0, ExcelDateTimeType::DateTime, false);
        assert_eq!(text(&Data::DateTime(date)), "2024-03-05");
        let time = ExcelDateTime::new(45_356.5, ExcelDateTimeType::DateTime, false);
        assert_eq!(text(&Data::DateTime(time)), "2024-03-05 12:00:00");
        let d1904 = ExcelDateTime::new(43_894.0, ExcelDateTimeType::DateTime, true);
        assert_eq!(text(&Data::DateTime(d1904)), "2024-03-05");
    }

    fn rows(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(|c| c.to_string()).collect())
            .collect()
    }

    #[test]
    fn title_rows_and_two_row_headers() {
        let sheet = rows(&[
            &["行政处罚信息", "", "", "", ""],
            &[
                "行政相对人名称",
                "行政相对人代码",
                "",
                "处罚机关",
                "处罚决定日期",
            ],
            &["", "统一社会信用代码", "组织机构代码", "", ""],
            &["某公司", "91110000600037341L", "", "某局", "2024-03-05"],
        ]);
        let h = find_header(&sheet).unwrap();
        assert_eq!(
            h.cells,
            [
                "行政相对人名称",
                "统一社会信用代码",
                "组织机构代码",
                "处罚机关",
                "处罚决定日期"
            ]
        );
        assert_eq!((h.row, h.data_from), (2, 3));
        let plain = rows(&[
            &["CF_XDR_MC", "CF_WSH", "CF_CFJG"],
            &["某公司", "文号", "某局"],
        ]);
        let h = find_header(&plain).unwrap();
        assert_eq!((h.row, h.data_from), (0, 1));
        assert_eq!(find_header(&rows(&[&["说明"], &["a", "b"]])), None);
    }
}
