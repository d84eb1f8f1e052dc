//! The reject file: the rows an import refused, for the data provider to correct.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::headers::{is_reject_meta, normalise};
use super::{ImportError, RejectedRow};

/// Writes rejected rows to a UTF-8 CSV file with a byte-order mark (so spreadsheet
/// programs show Chinese correctly): the original header, then `_line` (the row's line
/// in the source file; in a workbook its row number in its sheet, after a `_sheet`
/// column naming the sheet) and `_errors` (`FIELD: reason; FIELD: reason`).
///
/// The file is created only when the first rejected row arrives, so a clean import
/// leaves no file behind. Row values are written as they were in the source, personal
/// numbers included: the file goes back to the provider who sent them. Columns named
/// `_line` or `_errors` in the source (a corrected reject file imported again) are
/// replaced, not repeated; fields beyond the header's width follow `_errors`.
pub struct RejectWriter {
    path: PathBuf,
    header: Vec<String>,
    keep: Vec<usize>,
    source_width: usize,
    sheets: bool,
    writer: Option<csv::Writer<File>>,
    written: u64,
}

impl RejectWriter {
    /// Prepares a reject file at `path` for a source with this header. Nothing is
    /// written until [`write`](Self::write) is called.
    pub fn create(path: &Path, header: &[String]) -> RejectWriter {
        let keep: Vec<usize> = (0..header.len())
            .filter(|&i| !is_reject_meta(&normalise(&header[i])))
            .collect();
        let source_width = header.len();
        let header = keep.iter().map(|&i| header[i].clone()).collect();
        RejectWriter {
            path: path.to_path_buf(),
            header,
            keep,
            source_width,
            sheets: false,
            writer: None,
            written: 0,
        }
    }

    /// Adds the `_sheet` column, for the rows of a workbook.
    pub fn with_sheets(mut self) -> RejectWriter {
        self.sheets = true;
        self
    }

    /// Appends one rejected row, creating the file first if needed.
    pub fn write(&mut self, row: &RejectedRow) -> Result<(), ImportError> {
        let fail = |source: csv::Error| ImportError::WriteRejects {
            file: self.path.clone(),
            source,
        };
        if self.writer.is_none() {
            let mut file = File::create(&self.path).map_err(|e| fail(e.into()))?;
            file.write_all(b"\xEF\xBB\xBF")
                .map_err(|e| fail(e.into()))?;
            let mut w = csv::WriterBuilder::new().flexible(true).from_writer(file);
            let mut head = self.header.clone();
            if self.sheets {
                head.push("_sheet".to_string());
            }
            head.extend(["_line".to_string(), "_errors".to_string()]);
            w.write_record(&head).map_err(fail)?;
            self.writer = Some(w);
        }
        let mut record: Vec<&str> = self
            .keep
            .iter()
            .map(|&i| row.raw.get(i).map_or("", String::as_str))
            .collect();
        let line = row.line.to_string();
        let errors = row
            .errors
            .iter()
            .map(|e| format!("{}: {}", e.field, e.reason))
            .collect::<Vec<_>>()
            .join("; ");
        if self.sheets {
            record.push(row.sheet.as_deref().unwrap_or_default());
        }
        record.push(&line);
        record.push(&errors);
        record.extend(row.raw.iter().skip(self.source_width).map(String::as_str));
        if let Some(w) = self.writer.as_mut() {
            w.write_record(&record).map_err(fail)?;
        }
        self.written += 1;
        Ok(())
    }

    /// The number of rows written so far.
    pub fn rows_written(&self) -> u64 {
        self.written
    }

    /// Where the file is (or would be) written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Flushes the file; returns the number of rows written (0: no file was created).
    pub fn finish(self) -> Result<u64, ImportError> {
        if let Some(mut w) = self.writer {
            w.flush().map_err(|e| ImportError::WriteRejects {
                file: self.path.clone(),
                source: e.into(),
            })?;
        }
        Ok(self.written)
    }
}
