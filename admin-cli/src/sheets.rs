//! Tables of a report card as sheets, written to the terminal, to CSV files (UTF-8
//! with a byte-order mark, which spreadsheet programs need to read Chinese text) and to
//! one XLSX workbook (a worksheet per table, shares as percentages, frozen header).

use std::path::Path;

use anyhow::Context;
use rust_xlsxwriter::{Format, Workbook};

use crate::output::table;

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    /// Text.
    Text(String),
    /// A count.
    Count(u64),
    /// A share (0 to 1), absent when nothing was measured.
    Share(Option<f64>),
    /// A number of days, absent when nothing was measured.
    Days(Option<u32>),
    /// A score (0 to 100), absent when nothing applied.
    Score(Option<f64>),
}

impl Value {
    /// The value as the terminal and the CSV file show it.
    pub(crate) fn text(&self) -> String {
        match self {
            Value::Text(t) => t.clone(),
            Value::Count(n) => n.to_string(),
            Value::Share(Some(s)) => format!("{:.1}%", s * 100.0),
            Value::Days(Some(d)) => d.to_string(),
            Value::Score(Some(s)) => format!("{s:.1}"),
            Value::Share(None) | Value::Days(None) | Value::Score(None) => String::new(),
        }
    }
}

/// One table.
#[derive(Debug, Clone)]
pub(crate) struct Sheet {
    /// The worksheet's name (31 characters at most) and the CSV file's suffix.
    pub name: &'static str,
    /// The file suffix (`units`, `cities`, …).
    pub file: &'static str,
    /// Column headings.
    pub header: Vec<&'static str>,
    /// Rows.
    pub rows: Vec<Vec<Value>>,
}

impl Sheet {
    /// Prints the sheet as a table, under its name.
    pub(crate) fn print(&self) {
        say!("{} ({} rows)", self.name, self.rows.len());
        if self.rows.is_empty() {
            return;
        }
        let mut t = table(&self.header);
        for r in &self.rows {
            t.add_row(r.iter().map(Value::text).collect::<Vec<_>>());
        }
        say!("{t}");
    }

    /// Writes the sheet as a CSV file.
    pub(crate) fn write_csv(&self, path: &Path) -> anyhow::Result<()> {
        let mut bytes = "\u{feff}".as_bytes().to_vec();
        {
            let mut w = csv::Writer::from_writer(&mut bytes);
            w.write_record(&self.header)?;
            for r in &self.rows {
                w.write_record(r.iter().map(Value::text))?;
            }
            w.flush()?;
        }
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
    }
}

/// Writes the sheets as one workbook, under a title row.
pub(crate) fn write_xlsx(sheets: &[Sheet], title: &str, path: &Path) -> anyhow::Result<()> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    let share = Format::new().set_num_format("0.0%");
    let score = Format::new().set_num_format("0.0");
    for s in sheets {
        let ws = book.add_worksheet();
        ws.set_name(s.name)?;
        ws.write_string_with_format(0, 0, format!("{title} — {}", s.name), &bold)?;
        for (c, h) in s.header.iter().enumerate() {
            ws.write_string_with_format(1, c as u16, *h, &bold)?;
        }
        ws.set_freeze_panes(2, 0)?;
        for (i, r) in s.rows.iter().enumerate() {
            let row = i as u32 + 2;
            for (c, v) in r.iter().enumerate() {
                let col = c as u16;
                match v {
                    Value::Text(t) => {
                        ws.write_string(row, col, t)?;
                    }
                    Value::Count(n) => {
                        ws.write_number(row, col, *n as f64)?;
                    }
                    Value::Share(Some(x)) => {
                        ws.write_number_with_format(row, col, *x, &share)?;
                    }
                    Value::Days(Some(d)) => {
                        ws.write_number(row, col, f64::from(*d))?;
                    }
                    Value::Score(Some(x)) => {
                        ws.write_number_with_format(row, col, *x, &score)?;
                    }
                    Value::Share(None) | Value::Days(None) | Value::Score(None) => {}
                }
            }
        }
        for c in 0..s.header.len() {
            ws.set_column_width(c as u16, 14)?;
        }
    }
    book.save(path)
        .with_context(|| format!("writing {}", path.display()))
}
