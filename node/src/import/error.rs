//! File-level import errors. Row-level problems are not errors: they are reported as
//! [`RejectedRow`](super::RejectedRow)s.

use std::fmt;
use std::path::PathBuf;

/// Where in a file something is: a line of a text file, or a row of a spreadsheet's
/// sheet (1-based, as the spreadsheet shows it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A physical line of a CSV file.
    Line(u64),
    /// A row of a sheet.
    Row {
        /// The sheet's name.
        sheet: String,
        /// The row number.
        row: u64,
    },
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Line(line) => write!(f, "line {line}"),
            Place::Row { sheet, row } => write!(f, "sheet {sheet} row {row}"),
        }
    }
}

/// Why a file cannot be imported (or a reject file written). Every variant names the
/// file, and the line where there is one.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read.
    #[error("{}: cannot read: {source}", file.display())]
    Read {
        /// The file.
        file: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is empty, or holds only white space.
    #[error("{}: the file is empty", file.display())]
    Empty {
        /// The file.
        file: PathBuf,
    },
    /// The bytes are neither UTF-8 nor GB18030.
    #[error("{}: byte offset {offset} (line {line}) is neither UTF-8 nor GB18030/GBK text", file.display())]
    Undecodable {
        /// The file.
        file: PathBuf,
        /// Offset of the first undecodable byte.
        offset: u64,
        /// Line of the first undecodable byte (counting `\n` before it).
        line: u64,
    },
    /// The file is not text: a spreadsheet, UTF-16 text, or binary data.
    #[error("{}: not a CSV text file: {reason}", file.display())]
    NotText {
        /// The file.
        file: PathBuf,
        /// What it looks like instead.
        reason: String,
    },
    /// The text is not a CSV table with a header row.
    #[error("{}: line {line}: not a CSV table: {reason}", file.display())]
    NotCsv {
        /// The file.
        file: PathBuf,
        /// The line where the problem is.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// The headers name neither penalty nor licence columns, or both equally.
    #[error("{}: {at}: cannot tell whether the file holds penalties or licences: {reason}", file.display())]
    UnknownKind {
        /// The file.
        file: PathBuf,
        /// The header row.
        at: Place,
        /// What the headers showed.
        reason: String,
    },
    /// Two header cells name the same field (or the same unknown column).
    #[error("{}: {at}: columns {first_column} and {second_column} (numbers {first} and {second}) both hold {field}", file.display())]
    DuplicateColumn {
        /// The file.
        file: PathBuf,
        /// The header row (boxed: it keeps the error small).
        at: Box<Place>,
        /// The field both name (its column code, or the header text of an unknown column).
        field: String,
        /// The first header as written.
        first_column: String,
        /// The second header as written.
        second_column: String,
        /// 1-based number of the first column.
        first: usize,
        /// 1-based number of the second column.
        second: usize,
    },
    /// Required columns are missing.
    #[error("{}: {at}: missing required column(s) {}{}", file.display(), missing.join(", "), unrecognised_note(unrecognised))]
    MissingColumns {
        /// The header row.
        at: Place,
        /// The missing columns, by code and Chinese name (`CF_WSH (行政处罚决定书文号)`).
        missing: Vec<String>,
        /// Header cells that were not recognised (perhaps misspelt required ones).
        unrecognised: Vec<String>,
        /// The file.
        file: PathBuf,
    },
    /// The file looks like a spreadsheet (ZIP or OLE2) but cannot be read as one.
    #[error("{}: cannot read it as an .xlsx or .xls workbook: {reason}", file.display())]
    Workbook {
        /// The file.
        file: PathBuf,
        /// The reader's message.
        reason: String,
    },
    /// The sheet asked for is not in the workbook.
    #[error("{}: no sheet named {sheet:?}; the workbook has {}", file.display(), available.join(", "))]
    NoSheet {
        /// The file.
        file: PathBuf,
        /// The sheet asked for.
        sheet: String,
        /// The sheets the workbook has.
        available: Vec<String>,
    },
    /// Two sheets of a workbook imported together have different header rows.
    #[error("{}: {at}: the header differs from that of sheet {first}; import the sheets one at a time (--sheet NAME)", file.display())]
    SheetsDiffer {
        /// The file.
        file: PathBuf,
        /// The first data sheet.
        first: String,
        /// The header row of the sheet that differs.
        at: Place,
    },
    /// The reject file cannot be written.
    #[error("{}: cannot write reject file: {source}", file.display())]
    WriteRejects {
        /// The reject file.
        file: PathBuf,
        /// The underlying error.
        source: csv::Error,
    },
}

fn unrecognised_note(unrecognised: &[String]) -> String {
    if unrecognised.is_empty() {
        String::new()
    } else {
        format!(" (unrecognised columns: {})", unrecognised.join(", "))
    }
}
