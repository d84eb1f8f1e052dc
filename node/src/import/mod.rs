//! Parsing of 双公示 import files (administrative penalties and licences) into
//! [`RecordBody`] values. Nothing here writes to a store.
//!
//! [`ImportFile::open`] reads a CSV file, detects its encoding ([`SourceEncoding`]) and
//! kind ([`FileKind`]) and maps its header row; [`ImportFile::rows`] then yields one
//! [`RowOutcome`] per data row, in file order: a [`ParsedRow`] with its body, or a
//! [`RejectedRow`] listing every [`FieldError`] found. [`RejectWriter`] writes the
//! rejected rows to a CSV file for the data provider.
//!
//! # Headers
//! Columns are recognised by their national codes (`CF_XDR_MC`, `XK_WSH`, `BZ`, …) or
//! the Chinese names of national and provincial templates (`行政相对人名称`,
//! `罚款金额（万元）`, …), see the `headers` module. Required columns:
//! - penalties: party name, party kind, decision number (`CF_WSH`), decision date
//!   (`CF_JDRQ`), authority (`CF_CFJG`), penalty category (`CF_CFLB`) and content
//!   (`CF_NR`);
//! - licences: party name, party kind, decision number (`XK_WSH`), decision date
//!   (`XK_JDRQ`), authority (`XK_XKJG`) and content (`XK_NR`);
//! - both: at least one subject identifier column (USCC, registration number,
//!   organisation code or identity document number).
//!
//! Files in the older layouts — the pre-2019 codes (`CF_CFMC`, `CF_XZJG`, `XK_XMMC`, …)
//! and the 2016 layout with Chinese headers (处罚名称, 处罚类别1, 审批类别, …) — are
//! recognised by headers only they use and read through one mapping table to today's
//! fields (the `layouts` module, `docs/import-layouts.md`); they have no party-kind
//! column, so the party kind is inferred from the identifiers. [`Layout`] says which
//! layout a file has.
//!
//! The values of those columns are required in every row too. Unknown columns are kept
//! in [`RecordBody::extra`] under their header text; `BZ` and the older codes without a
//! typed field (tax registration, public institution and social organisation numbers)
//! under their column codes, so that code and Chinese headers give equal bodies.
//!
//! # Rows
//! Values are trimmed; empty values are absent; rows whose fields are all empty, and
//! repetitions of the header row, are skipped. Severity follows [`penalty_severity`],
//! amounts [`wan_yuan_to_fen`]. Subjects: organisations and individual businesses need a
//! valid USCC (Fujian pilot codes pass with a warning), else a valid registration number
//! or organisation code; natural persons a valid resident identity number with document
//! type 身份证 or none (other types are refused for now). Valid older codes beside the
//! identifier go to `other_ids`, invalid ones are warnings.
//! A data source unit identical to the authority is not repeated in `source_unit`.
//! Personal identity numbers never appear unmasked in errors or warnings.
//!
//! # Line numbers
//! Lines are counted from the decoded text (a line break is `\n`, `\r\n` or `\r`),
//! not taken from `csv::Position::line`, which is off by one after `\r\n` line ends and
//! blank lines. A row's line is the physical line where it starts.

mod columns;
mod details;
mod encoding;
mod error;
mod headers;
mod layouts;
mod listing;
mod reject;
mod row;
mod subject;
#[cfg(test)]
mod tests;
mod values;

use std::fmt;
use std::path::{Path, PathBuf};

use credithub_protocol::record::{RecordBody, RecordKind};
use csv::StringRecord;

pub use error::ImportError;
pub use layouts::Layout;
pub use reject::RejectWriter;
pub use values::{
    penalty_severity, split_categories, wan_yuan_to_fen, AmountError, FEN_PER_WAN_YUAN,
    LIGHT_CATEGORIES, SERIOUS_CATEGORIES,
};

use columns::ColumnMap;
use headers::Field;

/// What a file holds, detected from its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileKind {
    /// Administrative penalties (`CF_` columns, 行政处罚).
    Penalty,
    /// Administrative licences (`XK_` columns, 行政许可).
    Licence,
    /// Red- and black-list entries (名单名称, 认定单位, 列入事由, …); each row's list
    /// type (名单类型, or its list's name) says which. Rows become list entries to be
    /// reviewed before publication.
    List,
    /// Dishonest judgment debtors as courts publish them (执行法院, 案号, 立案时间, …).
    /// Rows become list entries to be reviewed before publication.
    CourtList,
    /// Old and new codes (新旧代码映射): a USCC and the organisation code, registration
    /// and tax numbers it replaced.
    Mapping,
}

impl FileKind {
    /// The record kind of the file's rows (a list file's red-list rows are
    /// [`RecordKind::RED_LIST`] instead).
    pub fn record_kind(self) -> RecordKind {
        match self {
            FileKind::Penalty => RecordKind::PENALTY,
            FileKind::Licence => RecordKind::LICENCE,
            FileKind::List => RecordKind::BLACK_LIST,
            FileKind::CourtList => RecordKind::DISHONEST_DEBTOR,
            FileKind::Mapping => RecordKind::SUBJECT_MAPPING,
        }
    }

    /// Whether the rows are list entries, proposed for review rather than written.
    pub fn is_list(self) -> bool {
        matches!(self, FileKind::List | FileKind::CourtList)
    }

    /// The name in summaries and messages.
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Penalty => "penalty",
            FileKind::Licence => "licence",
            FileKind::List => "list",
            FileKind::CourtList => "dishonest-debtor",
            FileKind::Mapping => "code-mapping",
        }
    }
}

/// The encoding a file was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceEncoding {
    /// UTF-8, with or without a byte-order mark.
    Utf8,
    /// GB18030 (which includes GBK and GB2312).
    Gb18030,
}

/// An opened import file: decoded text, encoding, kind and header mapping.
pub struct ImportFile {
    path: PathBuf,
    encoding: SourceEncoding,
    text: String,
    delimiter: u8,
    header: Vec<String>,
    map: ColumnMap,
    warnings: Vec<String>,
}

impl ImportFile {
    /// Reads and decodes a file and maps its header row.
    pub fn open(path: &Path) -> Result<ImportFile, ImportError> {
        let bytes = std::fs::read(path).map_err(|source| ImportError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        Self::from_vec(path, bytes)
    }

    /// Like [`open`](Self::open) for bytes already in memory; `path` names the source in
    /// messages.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<ImportFile, ImportError> {
        Self::from_vec(path, bytes.to_vec())
    }

    fn from_vec(path: &Path, bytes: Vec<u8>) -> Result<ImportFile, ImportError> {
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
        let mut warnings = Vec::new();
        let map = ColumnMap::new(path, &header, &mut warnings)?;
        Ok(ImportFile {
            path: path.to_path_buf(),
            encoding,
            text,
            delimiter,
            header,
            map,
            warnings,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Penalties or licences.
    pub fn kind(&self) -> FileKind {
        self.map.kind
    }

    /// The header layout: today's codes or Chinese templates, or an older layout.
    pub fn layout(&self) -> Layout {
        self.map.layout
    }

    /// The encoding the file was decoded from.
    pub fn encoding(&self) -> SourceEncoding {
        self.encoding
    }

    /// The length of the decoded text in bytes: the end of [`ParsedRow::bytes_read`].
    pub fn total_bytes(&self) -> u64 {
        self.text.len() as u64
    }

    /// The header row as written (decoded), for [`RejectWriter::create`].
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// File-level notes, e.g. columns that look like codes but are not known ones.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The data rows, in file order.
    pub fn rows(&self) -> Rows<'_> {
        Rows {
            file: self,
            reader: reader(&self.text, self.delimiter, true),
            record: StringRecord::new(),
            cursor: 0,
            cursor_line: 1,
            done: false,
        }
    }
}

/// Shows the path, encoding, kind, size and header, not the text.
impl fmt::Debug for ImportFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportFile")
            .field("path", &self.path)
            .field("encoding", &self.encoding)
            .field("kind", &self.map.kind)
            .field("layout", &self.map.layout)
            .field("total_bytes", &self.text.len())
            .field("header", &self.header)
            .finish_non_exhaustive()
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

/// The data rows of an [`ImportFile`], parsed one at a time.
pub struct Rows<'a> {
    file: &'a ImportFile,
    reader: csv::Reader<&'a [u8]>,
    record: StringRecord,
    cursor: usize,
    cursor_line: u64,
    done: bool,
}

impl Rows<'_> {
    /// The physical line of the record whose position is `start`: blank lines that the
    /// CSV reader skipped before the record are skipped here too.
    fn line_at(&mut self, start: usize) -> u64 {
        let bytes = self.file.text.as_bytes();
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

    fn is_repeated_header(&self) -> bool {
        let map = &self.file.map;
        map.get(Field::PartyName, &self.record)
            .is_some_and(|v| map.lookup(v) == Some(Field::PartyName))
    }
}

impl Iterator for Rows<'_> {
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
                    if self.is_repeated_header() {
                        continue;
                    }
                    if let Some(outcome) =
                        row::parse_row(&self.file.map, &self.record, line, bytes_read)
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

/// The result of one data row.
// Rows are yielded one at a time and most are valid: boxing the body would only add an
// allocation per row.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowOutcome {
    /// The row gave a record body.
    Valid(ParsedRow),
    /// The row was refused.
    Invalid(RejectedRow),
}

impl RowOutcome {
    /// The line where the row starts.
    pub fn line(&self) -> u64 {
        match self {
            RowOutcome::Valid(r) => r.line,
            RowOutcome::Invalid(r) => r.line,
        }
    }

    /// The byte offset reached in the decoded text after this row.
    pub fn bytes_read(&self) -> u64 {
        match self {
            RowOutcome::Valid(r) => r.bytes_read,
            RowOutcome::Invalid(r) => r.bytes_read,
        }
    }
}

/// A row that gave a record body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedRow {
    /// 1-based line where the row starts (the header is line 1).
    pub line: u64,
    /// The record kind.
    pub kind: RecordKind,
    /// The record body.
    pub body: RecordBody,
    /// Things accepted under a policy or ignored, e.g. pilot USCCs.
    pub warnings: Vec<String>,
    /// The byte offset reached in the decoded text, for progress reports.
    pub bytes_read: u64,
}

/// A row that was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedRow {
    /// 1-based line where the row starts (the header is line 1).
    pub line: u64,
    /// Everything wrong with the row.
    pub errors: Vec<FieldError>,
    /// The row's fields as written, decoded to UTF-8 (unmasked: for the reject file).
    pub raw: Vec<String>,
    /// The byte offset reached in the decoded text, for progress reports.
    pub bytes_read: u64,
}

/// One problem with one field of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// The column as written in the file header (its code when the file lacks it).
    pub field: String,
    /// The value found, masked if it is a personal identity number.
    pub value: String,
    /// What is wrong.
    pub reason: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.value.is_empty() {
            write!(f, "{}: {}", self.field, self.reason)
        } else {
            write!(f, "{} {:?}: {}", self.field, self.value, self.reason)
        }
    }
}
