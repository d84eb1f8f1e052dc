//! Spreadsheet files (`.xlsx`, `.xls`), read with the `calamine` crate.
//!
//! Every sheet is imported, or only the one named. A sheet whose first rows hold no
//! header row of a known file (instructions, an empty sheet) is skipped with a
//! warning, unless it was named. The sheets imported together must have the same
//! header (a long export split over sheets); otherwise they are imported one at a time
//! with `--sheet`. Row numbers are the sheet's own (1-based, as the spreadsheet shows
//! them), and column positions the sheet's columns (A is the first). A workbook is read
//! one sheet at a time into memory; CSV files are the way to stream files of any size.

use std::io::{Read, Seek};
use std::path::Path;
use std::sync::Arc;

use calamine::{Data, Range, Reader, Sheets, Xls, Xlsx};
use csv::StringRecord;

use super::cells::{self, HeaderAt};
use super::columns::ColumnMap;
use super::headers::normalise;
use super::{row, ImportError, Place, RowOutcome};

/// What a workbook starts with: ZIP (`.xlsx`) or OLE2 (`.xls`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Office Open XML, a ZIP archive.
    Xlsx,
    /// The older binary format, an OLE2 compound document.
    Xls,
}

impl Format {
    /// The format a file's first bytes announce, if a spreadsheet's.
    pub(crate) fn sniff(head: &[u8]) -> Option<Format> {
        if head.starts_with(b"PK\x03\x04") {
            Some(Format::Xlsx)
        } else if head.starts_with(b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1") {
            Some(Format::Xls)
        } else {
            None
        }
    }
}

/// One sheet to import: its name, its cells as text, and where its header is.
struct Sheet {
    name: Arc<str>,
    /// The sheet's rows from its first used row on, each from column A.
    rows: Vec<Vec<String>>,
    /// The 0-based row number of `rows[0]`.
    first_row: u64,
    header: HeaderAt,
}

impl Sheet {
    fn place(&self, index: usize) -> Place {
        Place::Row {
            sheet: self.name.to_string(),
            row: self.first_row + index as u64 + 1,
        }
    }
}

/// An opened workbook: the sheets to import and the header they share.
pub(crate) struct Workbook {
    sheets: Vec<Sheet>,
}

/// The workbook, its header, where the header is, and notes about skipped sheets.
pub(crate) type Opened = (Workbook, Vec<String>, Place, Vec<String>);

/// Reads a workbook and finds the sheets to import (all, or `wanted`).
pub(crate) fn open<RS: Read + Seek>(
    path: &Path,
    reader: RS,
    format: Format,
    wanted: Option<&str>,
) -> Result<Opened, ImportError> {
    let fail = |reason: String| ImportError::Workbook {
        file: path.to_path_buf(),
        reason,
    };
    let mut book: Sheets<RS> = match format {
        Format::Xlsx => Sheets::Xlsx(Xlsx::new(reader).map_err(|e| fail(e.to_string()))?),
        Format::Xls => Sheets::Xls(Xls::new(reader).map_err(|e| fail(e.to_string()))?),
    };
    let names = book.sheet_names();
    let targets: Vec<String> = match wanted {
        Some(w) if names.iter().any(|n| n == w) => vec![w.to_string()],
        Some(w) => {
            return Err(ImportError::NoSheet {
                file: path.to_path_buf(),
                sheet: w.to_string(),
                available: names,
            })
        }
        None => names,
    };
    let mut sheets: Vec<Sheet> = Vec::new();
    let mut warnings = Vec::new();
    let mut first_unknown: Option<(String, Vec<Vec<String>>, u64)> = None;
    for name in targets {
        let range = book
            .worksheet_range(&name)
            .map_err(|e| fail(format!("sheet {name}: {e}")))?;
        let (rows, first_row) = text_rows(&range);
        match cells::find_header(&rows) {
            Some(header) => sheets.push(Sheet {
                name: name.into(),
                rows,
                first_row,
                header,
            }),
            None if rows.is_empty() => {
                warnings.push(format!("sheet {name} is empty; skipped"));
            }
            None => {
                warnings.push(format!(
                    "sheet {name} has no header row of a known file in its first {} rows; skipped",
                    cells::HEADER_SEARCH_ROWS
                ));
                first_unknown.get_or_insert((name, rows, first_row));
            }
        }
    }
    let Some(first) = sheets.first() else {
        // Nothing recognised: map the first row of the first non-empty sheet, so that
        // the error says what its header lacks.
        let Some((name, rows, first_row)) = first_unknown else {
            return Err(ImportError::Empty {
                file: path.to_path_buf(),
            });
        };
        let at = Place::Row {
            sheet: name,
            row: first_row + 1,
        };
        ColumnMap::new(path, &at, &rows[0], &mut Vec::new())?;
        return Err(fail("no header row found".into()));
    };
    let header = first.header.cells.clone();
    let at = first.place(first.header.row);
    let key = |cells: &[String]| -> Vec<String> {
        let mut n: Vec<String> = cells.iter().map(|c| normalise(c)).collect();
        while n.last().is_some_and(String::is_empty) {
            n.pop();
        }
        n
    };
    let expected = key(&header);
    if let Some(other) = sheets.iter().find(|s| key(&s.header.cells) != expected) {
        return Err(ImportError::SheetsDiffer {
            file: path.to_path_buf(),
            first: first.name.to_string(),
            at: other.place(other.header.row),
        });
    }
    Ok((Workbook { sheets }, header, at, warnings))
}

/// A sheet's rows as text, each from column A, and the 0-based number of the first.
fn text_rows(range: &Range<Data>) -> (Vec<Vec<String>>, u64) {
    let Some((row0, col0)) = range.start() else {
        return (Vec::new(), 0);
    };
    let pad = col0 as usize;
    let rows = range
        .rows()
        .map(|cells| {
            let mut out = vec![String::new(); pad];
            out.extend(cells.iter().map(cells::text));
            while out.last().is_some_and(String::is_empty) {
                out.pop();
            }
            out
        })
        .collect();
    (rows, u64::from(row0))
}

impl Workbook {
    /// The names of the sheets imported, in order.
    pub(crate) fn sheet_names(&self) -> Vec<String> {
        self.sheets.iter().map(|s| s.name.to_string()).collect()
    }

    /// The number of data rows (an upper bound: blank rows are skipped).
    pub(crate) fn len(&self) -> u64 {
        self.sheets
            .iter()
            .map(|s| s.rows.len().saturating_sub(s.header.data_from) as u64)
            .sum()
    }

    /// The data rows of every sheet in turn, mapped with `map`.
    pub(crate) fn rows<'a>(&'a self, map: &'a ColumnMap) -> SheetRows<'a> {
        SheetRows {
            book: self,
            map,
            sheet: 0,
            row: self.sheets.first().map_or(0, |s| s.header.data_from),
            done: 0,
            record: StringRecord::new(),
        }
    }
}

/// The data rows of a workbook's sheets, parsed one at a time.
pub(crate) struct SheetRows<'a> {
    book: &'a Workbook,
    map: &'a ColumnMap,
    sheet: usize,
    row: usize,
    /// Data rows passed so far (the progress measure).
    done: u64,
    record: StringRecord,
}

impl Iterator for SheetRows<'_> {
    type Item = RowOutcome;

    fn next(&mut self) -> Option<RowOutcome> {
        loop {
            let sheet = self.book.sheets.get(self.sheet)?;
            let Some(cells) = sheet.rows.get(self.row) else {
                self.sheet += 1;
                self.row = self
                    .book
                    .sheets
                    .get(self.sheet)
                    .map_or(0, |s| s.header.data_from);
                continue;
            };
            let index = self.row;
            self.row += 1;
            self.done += 1;
            self.record.clear();
            for c in cells {
                self.record.push_field(c);
            }
            if row::is_repeated_header(self.map, &self.record) {
                continue;
            }
            let line = sheet.first_row + index as u64 + 1;
            match row::parse_row(self.map, &self.record, line, self.done) {
                Some(RowOutcome::Invalid(mut r)) => {
                    r.sheet = Some(sheet.name.to_string());
                    return Some(RowOutcome::Invalid(r));
                }
                Some(valid) => return Some(valid),
                None => continue,
            }
        }
    }
}
