//! CSV files: decoding, the delimiter, the header row, and the data rows with their
//! physical line numbers.

use std::path::Path;

use csv::StringRecord;

use super::columns::ColumnMap;
use super::{encoding, row, FieldError, ImportError, RejectedRow, RowOutcome, SourceEncoding};

/// A decoded CSV file.
pub(crate) struct CsvText {
    pub encoding: SourceEncoding,
    text: String,
    delimiter: u8,
}

impl CsvText {
    /// Decodes the bytes and reads the header row (line 1).
    pub(crate) fn decode(
        path: &Path,
        bytes: Vec<u8>,
    ) -> Result<(CsvText, Vec<String>), ImportError> {
        let (text, encoding) = encoding::decode(path, bytes)?;
        let delimiter = detect_delimiter(&text);
        let not_csv = |reason: String| ImportError::NotCsv {
            file: path.to_path_buf(),
            line: 1,
            reason,
        };
        let mut reader = reader(&text, delimiter, false);
        let mut first = StringRecord::new();
        match reader.read_record(&mut first) {
            Ok(true) => {}
            Ok(false) => {
                return Err(ImportError::Empty {
                    file: path.to_path_buf(),
                })
            }
            Err(e) => return Err(not_csv(e.to_string())),
        }
        let header: Vec<String> = first.iter().map(str::to_string).collect();
        if header.len() < 2 {
            return Err(not_csv(
                "the header row has a single column (expected comma-separated columns)".into(),
            ));
        }
        let csv = CsvText {
            encoding,
            text,
            delimiter,
        };
        Ok((csv, header))
    }

    /// The length of the decoded text in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.text.len() as u64
    }

    /// The data rows, mapped with `map`.
    pub(crate) fn rows<'a>(&'a self, map: &'a ColumnMap) -> CsvRows<'a> {
        CsvRows {
            text: &self.text,
            map,
            reader: reader(&self.text, self.delimiter, true),
            record: StringRecord::new(),
            cursor: 0,
            cursor_line: 1,
            done: false,
        }
    }
}

fn reader(text: &str, delimiter: u8, has_headers: bool) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(has_headers)
        .flexible(true)
        .from_reader(text.as_bytes())
}

/// Comma, unless the first line has more tabs or semicolons than commas.
fn detect_delimiter(text: &str) -> u8 {
    let first = text.lines().next().unwrap_or_default();
    let count = |c: char| first.matches(c).count();
    [b',', b'\t', b';']
        .into_iter()
        .max_by_key(|&d| (count(char::from(d)), d == b','))
        .unwrap_or(b',')
}

/// The data rows of a CSV file, parsed one at a time.
pub(crate) struct CsvRows<'a> {
    text: &'a str,
    map: &'a ColumnMap,
    reader: csv::Reader<&'a [u8]>,
    record: StringRecord,
    cursor: usize,
    cursor_line: u64,
    done: bool,
}

impl CsvRows<'_> {
    /// The physical line of the record whose position is `start`: blank lines that the
    /// CSV reader skipped before the record are skipped here too.
    fn line_at(&mut self, start: usize) -> u64 {
        let bytes = self.text.as_bytes();
        let mut start = start.max(self.cursor).min(bytes.len());
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        let mut prev_cr = false;
        for &b in &bytes[self.cursor..start] {
            match b {
                b'\r' => self.cursor_line += 1,
                b'\n' if !prev_cr => self.cursor_line += 1,
                _ => {}
            }
            prev_cr = b == b'\r';
        }
        self.cursor = start;
        self.cursor_line
    }
}

impl Iterator for CsvRows<'_> {
    type Item = RowOutcome;

    fn next(&mut self) -> Option<RowOutcome> {
        while !self.done {
            let before = self.reader.position().byte();
            let read = self.reader.read_record(&mut self.record);
            let bytes_read = self.reader.position().byte();
            match read {
                Ok(false) => self.done = true,
                Ok(true) => {
                    let start = self.record.position().map_or(before, |p| p.byte());
                    let line = self.line_at(start as usize);
                    if row::is_repeated_header(self.map, &self.record) {
                        continue;
                    }
                    if let Some(outcome) = row::parse_row(self.map, &self.record, line, bytes_read)
                    {
                        return Some(outcome);
                    }
                }
                Err(e) => {
                    // The reader resumes after an error; stop if it makes no progress.
                    self.done = bytes_read <= before;
                    let line = self.line_at(before as usize);
                    let error = FieldError {
                        field: "(row)".into(),
                        value: String::new(),
                        reason: format!("CSV error: {e}"),
                    };
                    return Some(RowOutcome::Invalid(RejectedRow {
                        line,
                        sheet: None,
                        errors: vec![error],
                        raw: Vec::new(),
                        bytes_read,
                    }));
                }
            }
        }
        None
    }
}
