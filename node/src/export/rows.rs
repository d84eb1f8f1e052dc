//! One record as one row of a national file: the party's names and codes, the
//! decision's fields, and the source columns the record kept (`extra`) back in their
//! columns, so that importing the row again gives the same body.

use std::fmt::{self, Write as _};

use credithub_protocol::ids::{SubjectId, SubjectKind};
use credithub_protocol::record::{Authority, Details, LicenceCategory};
use credithub_protocol::RecordBody;

use super::layout::{fen_to_wan, party, LICENCE_CODES, PENALTY_CODES};
use crate::import::mask_for_message;

/// The national files a record can be written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum FileKind {
    /// Administrative penalties (`CF_…` columns).
    Penalty,
    /// Administrative licences (`XK_…` columns).
    Licence,
}

impl FileKind {
    /// The column codes of today's layout, in file order.
    pub fn codes(self) -> &'static [&'static str] {
        match self {
            FileKind::Penalty => &PENALTY_CODES,
            FileKind::Licence => &LICENCE_CODES,
        }
    }

    /// The file's name in messages (`penalty`, `licence`).
    pub fn name(self) -> &'static str {
        match self {
            FileKind::Penalty => "penalty",
            FileKind::Licence => "licence",
        }
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Whether personal numbers are written in full or masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Numbers {
    /// Natural persons' document numbers and names masked as in published output.
    Masked,
    /// In full (only for readers allowed to see them).
    Full,
}

/// The party kind as the national files write it (`*_XDR_LB`).
pub fn kind_text(kind: SubjectKind) -> &'static str {
    match kind {
        SubjectKind::LegalPerson => "法人及非法人组织",
        SubjectKind::NaturalPerson => "自然人",
        SubjectKind::IndividualBusiness => "个体工商户",
    }
}

/// The licence category as the national files write it (`XK_XKLB`).
pub fn category_text(c: LicenceCategory) -> &'static str {
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

/// A natural person's name as published: the family name and `**`.
fn masked_name(name: &str) -> String {
    let mut chars = name.chars();
    format!("{}**", chars.next().unwrap_or('*'))
}

/// Fills the party columns (0-12).
fn party_fields(row: &mut [String], body: &RecordBody, numbers: Numbers) {
    let s = &body.subject;
    let full = numbers == Numbers::Full;
    if s.kind == SubjectKind::NaturalPerson && !full {
        row[party::NAME].push_str(&masked_name(&s.name));
    } else {
        row[party::NAME].push_str(&s.name);
    }
    row[party::KIND].push_str(kind_text(s.kind));
    match &s.id {
        SubjectId::Uscc(u) => row[party::USCC].push_str(u.as_str()),
        SubjectId::ResidentId(r) => {
            row[party::ID_TYPE].push_str("身份证");
            if full {
                row[party::ID].push_str(r.unmasked());
            } else {
                row[party::ID].push_str(&r.masked());
            }
        }
        SubjectId::RegNo(r) => row[party::REG_NO].push_str(r.as_str()),
        SubjectId::OrgCode(o) => row[party::ORG_CODE].push_str(o.as_str()),
        SubjectId::TaxNo(t) => row[party::TAX_NO].push_str(t.as_str()),
        SubjectId::Document(d) => {
            row[party::ID_TYPE].push_str(d.kind().chinese_name());
            if full {
                row[party::ID].push_str(d.unmasked());
            } else {
                put(&mut row[party::ID], d);
            }
        }
    }
    for id in &body.other_ids {
        let at = match id {
            SubjectId::RegNo(_) => party::REG_NO,
            SubjectId::OrgCode(_) => party::ORG_CODE,
            SubjectId::TaxNo(_) => party::TAX_NO,
            _ => continue,
        };
        if row[at].is_empty() {
            row[at].push_str(&id.unmasked());
        }
    }
    if let Some(rep) = &body.representative {
        row[party::REP].push_str(&rep.name);
        put_opt(&mut row[party::REP_ID_TYPE], rep.id_type.as_ref());
        if let Some(number) = &rep.id_number {
            if full {
                row[party::REP_ID].push_str(number);
            } else {
                row[party::REP_ID].push_str(&mask_for_message(number, true));
            }
        }
    }
}

/// Fills `row` (one cell per column of `kind`'s codes, cleared first) from a body of
/// that kind, and returns the source columns the body kept that are not columns of
/// today's layout (`extra` keys such as `DFBM`, or an unknown column's header), for
/// the caller to write after them. `None` when the body is not of the file's kind.
pub fn fill<'b>(
    kind: FileKind,
    row: &mut [String],
    body: &'b RecordBody,
    numbers: Numbers,
) -> Option<Vec<(&'b str, &'b str)>> {
    row.iter_mut().for_each(String::clear);
    party_fields(row, body, numbers);
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
        _ => return None,
    }
    let codes = kind.codes();
    let mut others = Vec::new();
    for (name, value) in &body.extra {
        match codes.iter().position(|c| c == name) {
            Some(at) if row[at].is_empty() => row[at].push_str(value),
            Some(_) => {}
            None => others.push((name.as_str(), value.as_str())),
        }
    }
    Some(others)
}
