//! File-level import errors. Row-level problems are not errors: they are reported as
//! [`RejectedRow`](super::RejectedRow)s.

use std::path::PathBuf;

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
    #[error("{}: line 1: cannot tell whether the file holds penalties or licences: {reason}", file.display())]
    UnknownKind {
        /// The file.
        file: PathBuf,
        /// What the headers showed.
        reason: String,
    },
    /// Two header cells name the same field (or the same unknown column).
    #[error("{}: line 1: columns {first_column} and {second_column} (numbers {first} and {second}) both hold {field}", file.display())]
    DuplicateColumn {
        /// The file.
        file: PathBuf,
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
    #[error("{}: line 1: missing required column(s) {}{}", file.display(), missing.join(", "), unrecognised_note(unrecognised))]
    MissingColumns {
        /// The missing columns, by code and Chinese name (`CF_WSH (行政处罚决定书文号)`).
        missing: Vec<String>,
        /// Header cells that were not recognised (perhaps misspelt required ones).
        unrecognised: Vec<String>,
        /// The file.
        file: PathBuf,
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
