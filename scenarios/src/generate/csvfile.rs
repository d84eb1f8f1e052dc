//! Writing bodies as national 双公示 CSV files (`CF_…` penalties, `XK_…` licences), in
//! UTF-8 or GB18030, in today's layouts (code or Chinese headers) or the older ones
//! (pre-2019 codes, 2016 Chinese headers), optionally with broken rows.

use std::fmt::{self, Write as _};
use std::io::Write;

use credithub_protocol::ids::uscc::ALPHABET;
use credithub_protocol::ids::{resident, SubjectId};
use credithub_protocol::record::{Details, Severity};
use credithub_protocol::{RecordBody, RecordKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::older;
use super::GenerateError;
use credithub_node::export::file::Transcoder;
use credithub_node::export::layout::{chinese_names, party, LICENCE_CODES, PENALTY_CODES};
pub use credithub_node::export::layout::{fen_to_wan, wan_to_fen};
use credithub_node::export::rows::{self, Numbers};

/// Which national file a CSV is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FileKind {
    /// Administrative penalties (`CF_…` columns).
    Penalty,
    /// Administrative licences (`XK_…` columns).
    #[value(alias = "license")]
    Licence,
}

impl FileKind {
    /// The record kind of the file's rows.
    pub fn record_kind(self) -> RecordKind {
        match self {
            FileKind::Penalty => RecordKind::PENALTY,
            FileKind::Licence => RecordKind::LICENCE,
        }
    }

    /// The column codes, in file order.
    pub fn codes(self) -> &'static [&'static str] {
        match self {
            FileKind::Penalty => &PENALTY_CODES,
            FileKind::Licence => &LICENCE_CODES,
        }
    }

    /// The header row in a style.
    pub fn header(self, style: HeaderStyle) -> Vec<&'static str> {
        let penalty = self == FileKind::Penalty;
        match style {
            HeaderStyle::Codes => self.codes().to_vec(),
            HeaderStyle::Chinese => chinese_names(penalty),
            HeaderStyle::Pre2019 => older::header(penalty, true),
            HeaderStyle::Chinese2016 => older::header(penalty, false),
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Penalty => "penalty",
            FileKind::Licence => "licence",
        })
    }
}

/// Header row style: the layout of the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum HeaderStyle {
    /// Today's column codes (`CF_XDR_MC`).
    #[default]
    #[value(alias = "current")]
    Codes,
    /// Today's Chinese column names (行政相对人名称).
    Chinese,
    /// The pre-2019 column codes (`CF_CFMC`, `CF_XZJG`, …): fewer columns, no party kind.
    #[value(name = "pre-2019")]
    Pre2019,
    /// The 2016 layout with Chinese headers (处罚名称, 处罚类别1, …).
    #[value(name = "2016")]
    Chinese2016,
}

impl HeaderStyle {
    /// Whether this is one of the older layouts.
    pub fn is_older(self) -> bool {
        matches!(self, HeaderStyle::Pre2019 | HeaderStyle::Chinese2016)
    }
}

/// Character encoding of the file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Encoding {
    /// UTF-8 without a byte order mark.
    #[default]
    Utf8,
    /// GB18030, as many government systems export.
    Gb18030,
}

/// How to write a CSV file.
#[derive(Debug, Clone, Default)]
pub struct CsvOptions {
    /// Header style.
    pub headers: HeaderStyle,
    /// Encoding.
    pub encoding: Encoding,
    /// Fraction (0-1) of rows to break on purpose.
    pub bad_rows: f64,
    /// Seed choosing the broken rows and their faults.
    pub seed: u64,
}

/// A deliberate fault in a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// The party's USCC has a wrong check character (position 18).
    UsccCheck,
    /// The natural person's resident id carries an impossible birth date (its check
    /// character is recomputed, so only the date is wrong).
    BirthDate,
    /// The decision date is not a calendar date.
    Date,
    /// The fine is negative.
    NegativeAmount,
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Fault::UsccCheck => "wrong USCC check character",
            Fault::BirthDate => "impossible birth date in resident id",
            Fault::Date => "impossible decision date",
            Fault::NegativeAmount => "negative fine",
        })
    }
}

/// A row broken on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    /// The line number in the file, counting the header as line 1.
    pub line: u64,
    /// The column code of the broken field (`CF_JDRQ`).
    pub column: &'static str,
    /// What is wrong.
    pub fault: Fault,
}

/// What [`write_csv`] wrote.
#[derive(Debug, Clone, Default)]
pub struct CsvReport {
    /// Data rows written (without the header).
    pub rows: u64,
    /// Bytes written.
    pub bytes: u64,
    /// The rows broken on purpose, in file order.
    pub bad: Vec<BadRow>,
}

/// Columns that faults touch.
mod col {
    pub(super) const P_FK: usize = 19;
    pub(super) const P_JDRQ: usize = 22;
    pub(super) const L_JDRQ: usize = 19;
}

/// The national file of a kind, as the exporter knows it.
fn export_kind(kind: FileKind) -> rows::FileKind {
    match kind {
        FileKind::Penalty => rows::FileKind::Penalty,
        FileKind::Licence => rows::FileKind::Licence,
    }
}

/// Fills a row from a body, as an export with full numbers writes it; errors when
/// the body's kind does not fit the file. Generated files also carry a tax
/// registration number for subjects known by an older organisation code (the
/// division's code and the organisation code, as the old tax numbers were made).
fn fill(kind: FileKind, row: &mut [String], body: &RecordBody) -> Result<(), GenerateError> {
    if rows::fill(export_kind(kind), row, body, Numbers::Full).is_none() {
        let found = match &body.details {
            Details::Penalty(_) => RecordKind::PENALTY,
            Details::Licence(_) => RecordKind::LICENCE,
            Details::ListEntry(_) if body.severity == Severity::Serious => RecordKind::BLACK_LIST,
            Details::ListEntry(_) => RecordKind::RED_LIST,
            Details::DishonestDebtor(_) => RecordKind::DISHONEST_DEBTOR,
            Details::Other => RecordKind::other(100).unwrap_or(RecordKind::PENALTY),
            Details::Objection(_) => RecordKind::OBJECTION,
            Details::Listing(l) if l.court.is_some() => RecordKind::DISHONEST_DEBTOR,
            Details::Listing(_) => RecordKind::BLACK_LIST,
            Details::Mapping(_) => RecordKind::SUBJECT_MAPPING,
        };
        return Err(GenerateError::KindMismatch { file: kind, found });
    }
    if row[party::TAX_NO].is_empty() {
        let org = body.other_ids.iter().find_map(|id| match id {
            SubjectId::OrgCode(o) => Some(o),
            _ => None,
        });
        if let (Some(o), Some(d)) = (org, body.subject.id.division()) {
            let _ = write!(row[party::TAX_NO], "{d}{}", o.as_str());
        }
    }
    Ok(())
}

/// Breaks one field of a filled row; returns the column and fault. `amounts`: whether
/// the file has the fine column (the older layouts do not).
fn corrupt(
    kind: FileKind,
    row: &mut [String],
    amounts: bool,
    rng: &mut ChaCha8Rng,
) -> (usize, Fault) {
    let uscc = &row[party::USCC];
    let pilot = uscc.starts_with('9') && uscc.get(2..4) == Some("35");
    let mut faults = vec![Fault::Date];
    if !uscc.is_empty() && !pilot {
        faults.push(Fault::UsccCheck);
    }
    if row[party::ID].len() == 18 {
        faults.push(Fault::BirthDate);
    }
    if amounts && kind == FileKind::Penalty && !row[col::P_FK].is_empty() {
        faults.push(Fault::NegativeAmount);
    }
    let fault = faults[rng.gen_range(0..faults.len())];
    let column = match fault {
        Fault::UsccCheck => {
            let f = &mut row[party::USCC];
            let last = f.pop().map_or(0, |c| {
                ALPHABET
                    .iter()
                    .position(|&a| char::from(a) == c)
                    .unwrap_or(0)
            });
            let other = (last + rng.gen_range(1..ALPHABET.len())) % ALPHABET.len();
            f.push(char::from(ALPHABET[other]));
            party::USCC
        }
        Fault::BirthDate => {
            let f = &mut row[party::ID];
            let date = if rng.gen_bool(0.5) { "0230" } else { "1315" };
            let mut first17 = format!("{}{}{}{}", &f[..6], &f[6..10], date, &f[14..17]);
            let check = resident::check_char(first17.as_bytes());
            first17.push(check);
            *f = first17;
            party::ID
        }
        Fault::Date => {
            let at = if kind == FileKind::Penalty {
                col::P_JDRQ
            } else {
                col::L_JDRQ
            };
            let year = row[at].get(..4).unwrap_or("2024").to_string();
            row[at] = if rng.gen_bool(0.5) {
                format!("{year}-02-30")
            } else {
                format!("{year}-13-05")
            };
            at
        }
        Fault::NegativeAmount => {
            row[col::P_FK].insert(0, '-');
            col::P_FK
        }
    };
    (column, fault)
}

/// Writes bodies of one kind as a national-format CSV file and reports what it wrote,
/// including the rows broken on purpose (`options.bad_rows`). Line numbers count the
/// header as line 1; no field contains a line break, so row `i` (from 0) is line `i + 2`.
pub fn write_csv<W: Write>(
    kind: FileKind,
    bodies: impl IntoIterator<Item = RecordBody>,
    out: W,
    options: &CsvOptions,
) -> Result<CsvReport, GenerateError> {
    let gb = options.encoding == Encoding::Gb18030;
    let mut w = csv::WriterBuilder::new()
        .buffer_capacity(1 << 16)
        .from_writer(Transcoder::new(out, gb));
    w.write_record(kind.header(options.headers))?;
    let mut report = write_rows(kind, bodies, options, 2, |row| {
        w.write_record(row)?;
        Ok(())
    })?;
    w.flush()?;
    let t = w
        .into_inner()
        .map_err(|e| GenerateError::Io(e.into_error()))?;
    report.bytes = t.bytes;
    t.into_inner().flush()?;
    Ok(report)
}

/// Fills, breaks (`options.bad_rows`) and lays out one row per body, in the file's
/// layout, and hands each to `write`; the first data row is line `first_line`.
pub(super) fn write_rows(
    kind: FileKind,
    bodies: impl IntoIterator<Item = RecordBody>,
    options: &CsvOptions,
    first_line: u64,
    mut write: impl FnMut(&[String]) -> Result<(), GenerateError>,
) -> Result<CsvReport, GenerateError> {
    if !(0.0..=1.0).contains(&options.bad_rows) {
        return Err(GenerateError::Config(format!(
            "bad-row fraction {} is not in 0..=1",
            options.bad_rows
        )));
    }
    let mut row = vec![String::new(); kind.codes().len()];
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed ^ 0xBAD0_0C5F_u64);
    let mut report = CsvReport::default();
    let older = options.headers.is_older();
    let penalty = kind == FileKind::Penalty;
    let mut projected = Vec::new();
    for body in bodies {
        fill(kind, &mut row, &body)?;
        if options.bad_rows > 0.0 && rng.gen_bool(options.bad_rows) {
            let (column, fault) = corrupt(kind, &mut row, !older, &mut rng);
            let code = kind.codes()[column];
            report.bad.push(BadRow {
                line: report.rows + first_line,
                column: if older {
                    older::code_of(penalty, column).unwrap_or(code)
                } else {
                    code
                },
                fault,
            });
        }
        if older {
            older::project(penalty, &row, &body, &mut projected);
            write(&projected)?;
        } else {
            write(&row)?;
        }
        report.rows += 1;
    }
    Ok(report)
}
