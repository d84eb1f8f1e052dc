//! Writing bodies as national 双公示 CSV files (`CF_…` penalties, `XK_…` licences), in
//! UTF-8 or GB18030, in today's layouts (code or Chinese headers) or the older ones
//! (pre-2019 codes, 2016 Chinese headers), optionally with broken rows.

use std::fmt::{self, Write as _};
use std::io::Write;

use credithub_protocol::ids::uscc::ALPHABET;
use credithub_protocol::ids::{resident, SubjectId, SubjectKind};
use credithub_protocol::record::{Authority, Details, LicenceCategory, Severity};
use credithub_protocol::{RecordBody, RecordKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::columns::{chinese_names, party, Transcoder, LICENCE_CODES, PENALTY_CODES};
pub use super::columns::{fen_to_wan, wan_to_fen};
use super::older;
use super::GenerateError;

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

fn kind_text(kind: SubjectKind) -> &'static str {
    match kind {
        SubjectKind::LegalPerson => "法人及非法人组织",
        SubjectKind::NaturalPerson => "自然人",
        SubjectKind::IndividualBusiness => "个体工商户",
    }
}

fn category_text(c: LicenceCategory) -> &'static str {
    match c {
        LicenceCategory::Ordinary => "普通",
        LicenceCategory::Franchise => "特许",
        LicenceCategory::Approval => "认可",
        LicenceCategory::Verification => "核准",
        LicenceCategory::Registration => "登记",
        LicenceCategory::Other => "其他",
    }
}

fn put(field: &mut String, value: impl fmt::Display) {
    let _ = write!(field, "{value}");
}

fn put_opt(field: &mut String, value: Option<impl fmt::Display>) {
    if let Some(v) = value {
        put(field, v);
    }
}

fn put_authority(row: &mut [String], at: usize, a: &Authority) {
    row[at].push_str(&a.name);
    put_opt(&mut row[at + 1], a.uscc.as_ref());
}

/// Fills the party columns (0-12).
fn party_fields(row: &mut [String], body: &RecordBody) {
    let s = &body.subject;
    row[party::NAME].push_str(&s.name);
    row[party::KIND].push_str(kind_text(s.kind));
    match &s.id {
        SubjectId::Uscc(u) => row[party::USCC].push_str(u.as_str()),
        SubjectId::ResidentId(r) => {
            row[party::ID_TYPE].push_str("身份证");
            row[party::ID].push_str(r.unmasked());
        }
        SubjectId::RegNo(r) => row[party::REG_NO].push_str(r.as_str()),
        SubjectId::OrgCode(o) => row[party::ORG_CODE].push_str(o.as_str()),
        SubjectId::TaxNo(t) => row[party::TAX_NO].push_str(t.as_str()),
        SubjectId::Document(d) => {
            row[party::ID_TYPE].push_str(d.kind().chinese_name());
            row[party::ID].push_str(d.unmasked());
        }
    }
    for id in &body.other_ids {
        match id {
            SubjectId::RegNo(r) => row[party::REG_NO].push_str(r.as_str()),
            SubjectId::OrgCode(o) => {
                row[party::ORG_CODE].push_str(o.as_str());
                if let Some(d) = s.id.division() {
                    put(&mut row[party::TAX_NO], format_args!("{d}{}", o.as_str()));
                }
            }
            _ => {}
        }
    }
    if let Some(rep) = &body.representative {
        row[party::REP].push_str(&rep.name);
        put_opt(&mut row[party::REP_ID_TYPE], rep.id_type.as_ref());
        put_opt(&mut row[party::REP_ID], rep.id_number.as_ref());
    }
}

/// Fills a row from a body; errors when the body's kind does not fit the file.
fn fill(kind: FileKind, row: &mut [String], body: &RecordBody) -> Result<(), GenerateError> {
    row.iter_mut().for_each(String::clear);
    party_fields(row, body);
    let source = body.source_unit.as_ref().unwrap_or(&body.authority);
    match (&body.details, kind) {
        (Details::Penalty(p), FileKind::Penalty) => {
            row[13].push_str(&body.decision_no);
            row[14].push_str(&p.violation_type);
            row[15].push_str(&p.facts);
            row[16].push_str(&p.legal_basis);
            row[17].push_str(&p.categories.join(";"));
            row[18].push_str(&p.content);
            put_opt(&mut row[19], p.fine_fen.map(fen_to_wan));
            put_opt(&mut row[20], p.confiscated_fen.map(fen_to_wan));
            put_opt(&mut row[21], p.licence_affected.as_ref());
            put(&mut row[22], body.decision_date);
            put_opt(&mut row[23], p.valid_until);
            put_opt(&mut row[24], body.publication_end);
            put_authority(row, 25, &body.authority);
            put_authority(row, 27, source);
        }
        (Details::Licence(l), FileKind::Licence) => {
            row[13].push_str(&l.document_name);
            row[14].push_str(&body.decision_no);
            row[15].push_str(category_text(l.category));
            put_opt(&mut row[16], l.certificate_name.as_ref());
            put_opt(&mut row[17], l.licence_no.as_ref());
            row[18].push_str(&l.content);
            put(&mut row[19], body.decision_date);
            put(&mut row[20], l.valid_from);
            put_opt(&mut row[21], l.valid_to);
            put_authority(row, 22, &body.authority);
            put_opt(&mut row[24], l.state.as_ref());
            put_authority(row, 25, source);
        }
        _ => {
            let found = match &body.details {
                Details::Penalty(_) => RecordKind::PENALTY,
                Details::Licence(_) => RecordKind::LICENCE,
                Details::ListEntry(_) if body.severity == Severity::Serious => {
                    RecordKind::BLACK_LIST
                }
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
    }
    if let Some(remark) = body.extra.get("BZ") {
        if let Some(last) = row.last_mut() {
            last.push_str(remark);
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
