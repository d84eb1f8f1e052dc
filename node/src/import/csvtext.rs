//! CSV files, streamed: the encoding pass, the delimiter, the header row, and the data
//! rows with their physical line numbers, decoded chunk by chunk as they are parsed.
//! Memory does not grow with the file: a chunk of bytes, the CSV reader's buffer and
//! one record.

use std::fs::File;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use csv::StringRecord;

use super::columns::ColumnMap;
use super::encoding::{self, Scan};
use super::stream::Decoded;
use super::{row, FieldError, ImportError, RejectedRow, RowOutcome, RowUnits, SourceEncoding};

/// The CSV reader's buffer.
const CSV_BUFFER: usize = 1 << 16;
/// Decoded bytes looked at for the delimiter (the first line's).
const FIRST_LINE: usize = 1 << 16;

/// Where a file's bytes are: the file (read again for each pass), or memory.
#[derive(Clone)]
pub(crate) enum Bytes {
    /// A file on disk.
    File(PathBuf),
    /// Bytes in memory.
    Memory(Arc<[u8]>),
}

impl Bytes {
    /// A reader from the first byte.
    pub(crate) fn open(&self) -> std::io::Result<Box<dyn Read + Send>> {
        Ok(match self {
            Bytes::File(path) => Box::new(File::open(path)?),
            Bytes::Memory(bytes) => Box::new(Cursor::new(Arc::clone(bytes))),
        })
    }
}

/// A CSV file: where its bytes are, their encoding and the delimiter.
pub(crate) struct CsvText {
    path: PathBuf,
    bytes: Bytes,
    scan: Scan,
    delimiter: u8,
}

impl CsvText {
    /// Runs the encoding pass and reads the header row (line 1).
    pub(crate) fn open(path: &Path, bytes: Bytes) -> Result<(CsvText, Vec<String>), ImportError> {
        let scan = encoding::scan(path, || bytes.open())?;
        let mut csv = CsvText {
            path: path.to_path_buf(),
            bytes,
            scan,
            delimiter: b',',
        };
        let mut first = Vec::with_capacity(FIRST_LINE);
        csv.decoded()?
            .take(FIRST_LINE as u64)
            .read_to_end(&mut first)
            .map_err(|e| csv.read_error(e))?;
        csv.delimiter = detect_delimiter(&String::from_utf8_lossy(&first));
        let not_csv = |reason: String| ImportError::NotCsv {
            file: path.to_path_buf(),
            line: 1,
            reason,
        };
        let mut reader = csv.reader(false)?;
        let mut record = StringRecord::new();
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => {
                return Err(ImportError::Empty {
                    file: path.to_path_buf(),
                })
            }
            Err(e) => return Err(not_csv(e.to_string())),
        }
        let header: Vec<String> = record.iter().map(str::to_string).collect();
        if header.len() < 2 {
            return Err(not_csv(
                "the header row has a single column (expected comma-separated columns)".into(),
            ));
        }
        Ok((csv, header))
    }

    /// The encoding the pass found.
    pub(crate) fn encoding(&self) -> SourceEncoding {
        self.scan.encoding
    }

    /// The length of the decoded text in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.scan.decoded_len
    }

    fn read_error(&self, source: std::io::Error) -> ImportError {
        ImportError::Read {
            file: self.path.clone(),
            source,
        }
    }

    fn decoded(&self) -> Result<Decoded<Box<dyn Read + Send>>, ImportError> {
        let input = self.bytes.open().map_err(|e| self.read_error(e))?;
        Ok(Decoded::new(input, self.scan.encoding))
    }

    fn reader(
        &self,
        has_headers: bool,
    ) -> Result<csv::Reader<Decoded<Box<dyn Read + Send>>>, ImportError> {
        Ok(csv::ReaderBuilder::new()
            .delimiter(self.delimiter)
            .has_headers(has_headers)
            .flexible(true)
            .buffer_capacity(CSV_BUFFER)
            .from_reader(self.decoded()?))
    }

    /// The data rows, mapped with `map`, read from the first byte again.
    pub(crate) fn rows<'a>(&'a self, map: &'a ColumnMap) -> Result<CsvRows<'a>, ImportError> {
        Ok(CsvRows {
            csv: self,
            map,
            reader: self.reader(true)?,
            record: StringRecord::new(),
            done: false,
        })
    }
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

/// The data rows of a CSV file, parsed one at a time as the file is read.
pub(crate) struct CsvRows<'a> {
    csv: &'a CsvText,
    map: &'a ColumnMap,
    reader: csv::Reader<Decoded<Box<dyn Read + Send>>>,
    record: StringRecord,
    done: bool,
}

impl CsvRows<'_> {
    fn line_at(&mut self, start: u64) -> u64 {
        self.reader.get_mut().line_at(start)
    }
}

impl Iterator for CsvRows<'_> {
    type Item = Result<RowOutcome, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            let before = self.reader.position().byte();
            let read = self.reader.read_record(&mut self.record);
            let bytes_read = self.reader.position().byte();
            match read {
                Ok(false) => self.done = true,
                Ok(true) => {
                    let start = self.record.position().map_or(before, |p| p.byte());
                    let line = self.line_at(start);
                    if row::is_repeated_header(self.map, &self.record) {
                        continue;
                    }
                    if let Some(outcome) = row::parse_row(self.map, &self.record, line, bytes_read)
                    {
                        return Some(Ok(outcome));
                    }
                }
                Err(e) => {
                    if let csv::ErrorKind::Io(_) = e.kind() {
                        self.done = true;
                        let source = match e.into_kind() {
                            csv::ErrorKind::Io(io) => io,
                            other => std::io::Error::other(format!("{other:?}")),
                        };
                        return Some(Err(self.csv.read_error(source)));
                    }
                    // The reader resumes after an error; stop if it makes no progress.
                    self.done = bytes_read <= before;
                    let line = self.line_at(before);
                    let error = FieldError {
                        field: "(row)".into(),
                        value: String::new(),
                        reason: format!("CSV error: {e}"),
                    };
                    return Some(Ok(RowOutcome::Invalid(RejectedRow {
                        line,
                        sheet: None,
                        errors: vec![error],
                        raw: Vec::new(),
                        bytes_read,
                        units: RowUnits {
                            kind: Some(self.map.kind.record_kind()),
                            ..RowUnits::default()
                        },
                    })));
                }
            }
        }
        None
    }
}
