//! Writing rows to a file: CSV in UTF-8 or GB18030, or an Excel workbook (`.xlsx`,
//! written with `rust_xlsxwriter` in its constant-memory mode, so that a large export
//! holds one row at a time), with dates as date cells and amounts as numbers.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use credithub_protocol::Date;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// A writer that takes UTF-8 and writes it through unchanged or as GB18030, counting
/// the bytes written. Incomplete UTF-8 sequences at the end of a write wait for the next.
pub struct Transcoder<W: Write> {
    inner: W,
    gb18030: bool,
    pending: Vec<u8>,
    /// Bytes written to `inner`.
    pub bytes: u64,
}

impl<W: Write> Transcoder<W> {
    /// Wraps a writer.
    pub fn new(inner: W, gb18030: bool) -> Self {
        Transcoder {
            inner,
            gb18030,
            pending: Vec::new(),
            bytes: 0,
        }
    }

    /// The wrapped writer.
    pub fn into_inner(self) -> W {
        self.inner
    }

    fn emit(&mut self, text: &str) -> io::Result<()> {
        let (bytes, _, _) = encoding_rs::GB18030.encode(text);
        self.inner.write_all(&bytes)?;
        self.bytes += bytes.len() as u64;
        Ok(())
    }
}

impl<W: Write> Write for Transcoder<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if !self.gb18030 {
            self.inner.write_all(data)?;
            self.bytes += data.len() as u64;
            return Ok(data.len());
        }
        let mut buf = std::mem::take(&mut self.pending);
        buf.extend_from_slice(data);
        let valid = match std::str::from_utf8(&buf) {
            Ok(_) => buf.len(),
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            Err(e) => return Err(io::Error::new(io::ErrorKind::InvalidData, e)),
        };
        let text = std::str::from_utf8(&buf[..valid]).unwrap_or_default();
        self.emit(text)?;
        self.pending = buf[valid..].to_vec();
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Rows per worksheet at most: Excel's limit (1,048,576) less the header row.
pub const ROWS_PER_SHEET: u32 = 1_048_575;

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Writing the file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The workbook writer failed.
    #[error("{path}: {source}")]
    Xlsx {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: XlsxError,
    },
}

/// How a column's values are written to a workbook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Text as it is.
    Text,
    /// A date (`YYYY-MM-DD`): a date cell.
    Date,
    /// An amount in 万元: a number cell.
    Amount,
}

/// The Excel serial number of a date (1900 date system).
pub fn excel_serial(date: Date) -> f64 {
    f64::from(date.days_since_epoch() + 25_569)
}

/// A file being written, row by row.
pub enum FileSink {
    /// A CSV file.
    Csv {
        /// The file.
        path: PathBuf,
        /// Its writer.
        writer: Box<csv::Writer<Transcoder<io::BufWriter<std::fs::File>>>>,
    },
    /// An Excel workbook; it is written out by [`FileSink::finish`].
    Xlsx {
        /// The file.
        path: PathBuf,
        /// The workbook.
        book: Box<Workbook>,
        /// The header, repeated on every sheet.
        header: Vec<String>,
        /// How each column is written.
        kinds: Vec<CellKind>,
        /// The sheets' base name.
        sheet: String,
        /// The next row of the current sheet.
        row: u32,
        /// Sheets written so far.
        sheets: u32,
    },
}

impl FileSink {
    /// Creates a CSV file and writes its header.
    pub fn csv(path: &Path, header: &[String], gb18030: bool) -> Result<FileSink, FileError> {
        let io = |source| FileError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::create(path).map_err(io)?;
        let mut writer = csv::WriterBuilder::new()
            .buffer_capacity(1 << 16)
            .from_writer(Transcoder::new(io::BufWriter::new(file), gb18030));
        writer.write_record(header).map_err(|e| io(e.into()))?;
        Ok(FileSink::Csv {
            path: path.to_path_buf(),
            writer: Box::new(writer),
        })
    }

    /// Starts a workbook whose sheets are named `sheet` (`sheet (2)`, … when the rows
    /// fill more than one).
    pub fn xlsx(
        path: &Path,
        header: &[String],
        kinds: Vec<CellKind>,
        sheet: &str,
    ) -> Result<FileSink, FileError> {
        let mut sink = FileSink::Xlsx {
            path: path.to_path_buf(),
            book: Box::new(Workbook::new()),
            header: header.to_vec(),
            kinds,
            sheet: sheet.to_string(),
            row: 0,
            sheets: 0,
        };
        sink.new_sheet()?;
        Ok(sink)
    }

    fn new_sheet(&mut self) -> Result<(), FileError> {
        let FileSink::Xlsx {
            path,
            book,
            header,
            sheet,
            row,
            sheets,
            ..
        } = self
        else {
            return Ok(());
        };
        let err = |source| FileError::Xlsx {
            path: path.clone(),
            source,
        };
        *sheets += 1;
        let name = if *sheets == 1 {
            sheet.clone()
        } else {
            format!("{sheet} ({sheets})")
        };
        let ws = book.add_worksheet_with_constant_memory();
        ws.set_name(&name).map_err(err)?;
        for (c, h) in header.iter().enumerate() {
            ws.write_string(0, c as u16, h).map_err(err)?;
        }
        *row = 1;
        Ok(())
    }

    /// Writes one row (its cells in header order).
    pub fn write(&mut self, cells: &[String]) -> Result<(), FileError> {
        if let FileSink::Xlsx { row, .. } = self {
            if *row > ROWS_PER_SHEET {
                self.new_sheet()?;
            }
        }
        match self {
            FileSink::Csv { path, writer } => {
                writer.write_record(cells).map_err(|e| FileError::Io {
                    path: path.clone(),
                    source: e.into(),
                })
            }
            FileSink::Xlsx {
                path,
                book,
                kinds,
                row,
                ..
            } => {
                let err = |source| FileError::Xlsx {
                    path: path.clone(),
                    source,
                };
                let date = Format::new().set_num_format("yyyy-mm-dd");
                let index = book.worksheets().len() - 1;
                let ws = book.worksheet_from_index(index).map_err(err)?;
                for (c, value) in cells.iter().enumerate() {
                    if value.is_empty() {
                        continue;
                    }
                    let col = c as u16;
                    let kind = kinds.get(c).copied().unwrap_or(CellKind::Text);
                    let written = match kind {
                        CellKind::Date => match Date::parse(value) {
                            Ok(d) => ws.write_number_with_format(*row, col, excel_serial(d), &date),
                            Err(_) => ws.write_string(*row, col, value),
                        },
                        CellKind::Amount => match value.parse::<f64>() {
                            Ok(a) if a.is_finite() => ws.write_number(*row, col, a),
                            _ => ws.write_string(*row, col, value),
                        },
                        CellKind::Text => ws.write_string(*row, col, value),
                    };
                    written.map_err(err)?;
                }
                *row += 1;
                Ok(())
            }
        }
    }

    /// Finishes the file (flushes a CSV, writes a workbook out) and returns its size
    /// in bytes.
    pub fn finish(self) -> Result<u64, FileError> {
        match self {
            FileSink::Csv { path, writer } => {
                let io = |source| FileError::Io {
                    path: path.clone(),
                    source,
                };
                let t = (*writer).into_inner().map_err(|e| io(e.into_error()))?;
                let bytes = t.bytes;
                t.into_inner()
                    .into_inner()
                    .map_err(|e| io(e.into_error()))?;
                Ok(bytes)
            }
            FileSink::Xlsx { path, mut book, .. } => {
                book.save(&path).map_err(|source| FileError::Xlsx {
                    path: path.clone(),
                    source,
                })?;
                std::fs::metadata(&path)
                    .map(|m| m.len())
                    .map_err(|source| FileError::Io { path, source })
            }
        }
    }
}
