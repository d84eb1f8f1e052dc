//! Parsing of 双公示 import files (administrative penalties and licences) into
//! [`RecordBody`] values. Nothing here writes to a store.
//!
//! [`ImportFile::open`] reads a CSV file, detects its encoding ([`SourceEncoding`]) and
//! kind ([`FileKind`]) and maps its header row; [`ImportFile::rows`] then yields one
//! [`RowOutcome`] per data row, in file order: a [`ParsedRow`] with its body, or a
//! [`RejectedRow`] listing every [`FieldError`] found. [`RejectWriter`] writes the
//! rejected rows to a CSV file for the data provider.
//!
//! An `.xlsx` or `.xls` workbook (told by its first bytes, not its name) is read the same
//! way, sheet by sheet (the `workbook` and `cells` modules): every sheet with a known
//! header, or the one named in [`ImportOptions`]; the header row may sit below title
//! rows and span two rows; date cells become dates and numbers read as shown. A
//! workbook's rows are numbered as the sheet numbers them, and its rejects name the
//! sheet.

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
//!
//! # Streaming
//! A CSV file is never held whole: one pass over its bytes decides the encoding (the
//! `encoding` module), then rows are decoded and parsed chunk by chunk as they are
//! read (the `stream` and `csvtext` modules), so memory does not grow with the file.

mod cells;
mod columns;
mod csvtext;
mod details;
mod encoding;
mod error;
mod headers;
mod layouts;
mod listing;
mod reject;
mod row;
mod stream;
mod subject;
mod tally;
#[cfg(test)]
mod tests;
mod values;
mod workbook;
#[cfg(test)]
mod workbook_tests;

use std::fmt;
use std::path::{Path, PathBuf};

use credithub_protocol::record::{RecordBody, RecordKind};

pub use error::{ImportError, Place};
pub use layouts::Layout;
pub use reject::RejectWriter;
pub use tally::RefusalCounter;
pub(crate) use values::mask_for_message;
pub use values::{
    penalty_severity, split_categories, wan_yuan_to_fen, AmountError, FEN_PER_WAN_YUAN,
    LIGHT_CATEGORIES, SERIOUS_CATEGORIES,
};

use columns::ColumnMap;
use csvtext::{Bytes, CsvRows, CsvText};
use workbook::{SheetRows, Workbook};

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

/// How to open an import file.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// A spreadsheet's sheet to import (default: every sheet with a known header).
    pub sheet: Option<String>,
}

/// Where an import file's rows come from.
enum Source {
    Csv(CsvText),
    Workbook(Workbook),
}

/// An opened import file: its source (CSV text or a workbook's sheets), kind, layout
/// and header mapping.
pub struct ImportFile {
    path: PathBuf,
    source: Source,
    header: Vec<String>,
    map: ColumnMap,
    warnings: Vec<String>,
}

impl ImportFile {
    /// Reads a file (CSV, or an `.xlsx`/`.xls` workbook: every sheet) and maps its
    /// header row.
    pub fn open(path: &Path) -> Result<ImportFile, ImportError> {
        Self::open_with(path, &ImportOptions::default())
    }

    /// Like [`open`](Self::open), with options (the sheet of a workbook). A CSV file
    /// is streamed: a first pass decides its encoding, and its rows are read from the
    /// file as [`rows`](Self::rows) yields them.
    pub fn open_with(path: &Path, options: &ImportOptions) -> Result<ImportFile, ImportError> {
        let read_err = |source| ImportError::Read {
            file: path.to_path_buf(),
            source,
        };
        let mut head = [0u8; 8];
        let mut file = std::fs::File::open(path).map_err(read_err)?;
        let n = encoding::read_full(&mut file, &mut head).map_err(read_err)?;
        match workbook::Format::sniff(&head[..n]) {
            Some(format) => {
                let reader = std::io::BufReader::new(std::fs::File::open(path).map_err(read_err)?);
                Self::workbook(path, reader, format, options)
            }
            None => Self::csv(path, Bytes::File(path.to_path_buf())),
        }
    }

    /// Like [`open`](Self::open) for bytes already in memory; `path` names the source in
    /// messages.
    pub fn from_bytes(path: &Path, bytes: &[u8]) -> Result<ImportFile, ImportError> {
        Self::from_vec(path, bytes.to_vec(), &ImportOptions::default())
    }

    fn from_vec(
        path: &Path,
        bytes: Vec<u8>,
        options: &ImportOptions,
    ) -> Result<ImportFile, ImportError> {
        match workbook::Format::sniff(&bytes) {
            Some(format) => Self::workbook(path, std::io::Cursor::new(bytes), format, options),
            None => Self::csv(path, Bytes::Memory(bytes.into())),
        }
    }

    fn workbook<RS: std::io::Read + std::io::Seek>(
        path: &Path,
        reader: RS,
        format: workbook::Format,
        options: &ImportOptions,
    ) -> Result<ImportFile, ImportError> {
        let (book, header, at, warnings) =
            workbook::open(path, reader, format, options.sheet.as_deref())?;
        Self::mapped(path, Source::Workbook(book), header, &at, warnings)
    }

    fn csv(path: &Path, bytes: Bytes) -> Result<ImportFile, ImportError> {
        let (csv, header) = CsvText::open(path, bytes)?;
        Self::mapped(path, Source::Csv(csv), header, &Place::Line(1), Vec::new())
    }

    fn mapped(
        path: &Path,
        source: Source,
        header: Vec<String>,
        at: &Place,
        mut warnings: Vec<String>,
    ) -> Result<ImportFile, ImportError> {
        let map = ColumnMap::new(path, at, &header, &mut warnings)?;
        Ok(ImportFile {
            path: path.to_path_buf(),
            source,
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

    /// The encoding the file was decoded from (a workbook's text is Unicode: UTF-8).
    pub fn encoding(&self) -> SourceEncoding {
        match &self.source {
            Source::Csv(csv) => csv.encoding(),
            Source::Workbook(_) => SourceEncoding::Utf8,
        }
    }

    /// The sheets imported from a workbook, in order (empty for a CSV file).
    pub fn sheets(&self) -> Vec<String> {
        match &self.source {
            Source::Csv(_) => Vec::new(),
            Source::Workbook(book) => book.sheet_names(),
        }
    }

    /// The end of [`ParsedRow::bytes_read`]: the decoded text's length in bytes for a
    /// CSV file (measured by the encoding pass), the number of rows below the headers
    /// for a workbook.
    pub fn total_bytes(&self) -> u64 {
        match &self.source {
            Source::Csv(csv) => csv.len(),
            Source::Workbook(book) => book.len(),
        }
    }

    /// The header row as written (decoded), for [`RejectWriter::create`].
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// File-level notes, e.g. columns that look like codes but are not known ones, or
    /// sheets skipped.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The data rows, in file order (sheet after sheet for a workbook). A CSV file is
    /// read again from its first byte; an error reading it ends the rows.
    pub fn rows(&self) -> Rows<'_> {
        Rows {
            inner: match &self.source {
                Source::Csv(csv) => match csv.rows(&self.map) {
                    Ok(rows) => RowsInner::Csv(Box::new(rows)),
                    Err(e) => RowsInner::Failed(Some(e)),
                },
                Source::Workbook(book) => RowsInner::Sheets(book.rows(&self.map)),
            },
        }
    }
}

/// Shows the path, kind, layout and header, not the text.
impl fmt::Debug for ImportFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ImportFile")
            .field("path", &self.path)
            .field("encoding", &self.encoding())
            .field("kind", &self.map.kind)
            .field("layout", &self.map.layout)
            .field("sheets", &self.sheets())
            .field("total_bytes", &self.total_bytes())
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

/// The data rows of an [`ImportFile`], parsed one at a time.
pub struct Rows<'a> {
    inner: RowsInner<'a>,
}

enum RowsInner<'a> {
    Csv(Box<CsvRows<'a>>),
    Sheets(SheetRows<'a>),
    Failed(Option<ImportError>),
}

/// Each row's outcome; an error (the file could not be read further) ends the rows.
impl Iterator for Rows<'_> {
    type Item = Result<RowOutcome, ImportError>;

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.inner {
            RowsInner::Csv(rows) => rows.next(),
            RowsInner::Sheets(rows) => rows.next().map(Ok),
            RowsInner::Failed(e) => e.take().map(Err),
        }
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
    /// The line where the row starts (in a workbook, its row in its sheet).
    pub fn line(&self) -> u64 {
        match self {
            RowOutcome::Valid(r) => r.line,
            RowOutcome::Invalid(r) => r.line,
        }
    }

    /// Progress after this row, in the unit of [`ImportFile::total_bytes`].
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
    /// 1-based line where the row starts (the header is line 1); in a workbook, the
    /// row's number in its sheet.
    pub line: u64,
    /// The row's sheet, in a workbook.
    pub sheet: Option<String>,
    /// Everything wrong with the row.
    pub errors: Vec<FieldError>,
    /// The row's fields as written, decoded to UTF-8 (unmasked: for the reject file).
    pub raw: Vec<String>,
    /// The byte offset reached in the decoded text, for progress reports.
    pub bytes_read: u64,
    /// The units and decision date the row names, for the accounts per unit.
    pub units: RowUnits,
}

/// The units a refused row names, as written (unvalidated), and its decision date if
/// it reads as one: what the accounts per reporting unit charge the refusal to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowUnits {
    /// The record kind the file holds.
    pub kind: Option<RecordKind>,
    /// The deciding authority.
    pub authority: Option<NamedUnit>,
    /// The data-source unit.
    pub source: Option<NamedUnit>,
    /// The decision date.
    pub decided: Option<credithub_protocol::Date>,
}

/// A unit as a row names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedUnit {
    /// Its name.
    pub name: String,
    /// Its USCC as written, if given.
    pub uscc: Option<String>,
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
