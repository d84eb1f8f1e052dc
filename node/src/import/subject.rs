//! The party of a row: its kind, its identifier and older codes, and its legal
//! representative.
//!
//! Policy:
//! - legal persons and individual businesses are named by their USCC (`*_XDR_SHXYM`);
//!   Fujian pilot codes are accepted with a warning. When the USCC column is empty, a
//!   valid business registration number (`*_XDR_GSZC`) or, failing that, organisation
//!   code (`*_XDR_ZZJG`) names them instead. Valid older codes beside the chosen
//!   identifier go into `other_ids`; invalid ones beside a valid identifier are warnings.
//! - natural persons are named by the number (`*_XDR_ZJHM`) of the document the type
//!   column (`*_XDR_ZJLX`) names: a resident identity number when it is the identity
//!   card or empty, else a passport, a Hong Kong/Macao or Taiwan residents' permit or a
//!   foreign permanent resident card (validated where the document has a check,
//!   masked in every message); other document types are refused.
//! - the representative's document number is kept as given; an invalid identity number
//!   there is a warning, not an error, since it does not identify the subject.

use credithub_protocol::ids::{
    DocumentKind, OrgCode, RegNo, ResidentId, Subject, SubjectId, SubjectKind, TaxNo, Uscc,
};
use credithub_protocol::record::Representative;
use credithub_protocol::IdError;

use super::headers::Field;
use super::row::Ctx;
use super::values::{is_identity_card, mask_for_message};
use super::FileKind;

/// The subject and its further identifiers; `None` when the row cannot name it (the
/// reasons are recorded in `ctx`).
pub(crate) fn subject(ctx: &mut Ctx<'_>) -> (Option<Subject>, Vec<SubjectId>) {
    let name = ctx.required(Field::PartyName);
    if !ctx.map.has(Field::PartyKind) {
        // List, court and mapping files name the party by its codes only.
        return inferred(ctx, name);
    }
    let kind = match ctx.required(Field::PartyKind) {
        Some(v) => {
            let kind = SubjectKind::parse(v);
            if kind.is_none() {
                ctx.error(
                    Field::PartyKind,
                    v,
                    "unknown party kind; expected 法人及非法人组织, 自然人 or 个体工商户 (or 1, 2, 3)",
                );
            }
            kind
        }
        None => None,
    };
    let ids = match kind {
        Some(SubjectKind::NaturalPerson) => person_id(ctx).map(|id| (id, Vec::new())),
        Some(k) => organisation_ids(ctx, Some(k)),
        // Unknown kind: still check the identifiers given, to report every problem.
        None if ctx.get(Field::PartyIdNo).is_some() => person_id(ctx).map(|id| (id, Vec::new())),
        None => organisation_ids(ctx, None),
    };
    match (name, kind, ids) {
        (Some(name), Some(kind), Some((id, others))) => (
            Some(Subject {
                kind,
                name: name.to_string(),
                id,
            }),
            others,
        ),
        _ => (None, Vec::new()),
    }
}

/// The subject of a file without a party-kind column (lists, court files, mappings and
/// the older penalty and licence layouts): an organisation when it has an
/// organisation's code (a USCC, a registration number or an organisation code, in
/// their columns or in the court files' combined number column), else a natural
/// person named by an identity document (in the older layouts, 居民身份证号: a resident
/// identity number). An organisation named by a USCC whose registration-authority and
/// type digits are `92` is an individual business; any other organisation a legal
/// person.
fn inferred(ctx: &mut Ctx<'_>, name: Option<&str>) -> (Option<Subject>, Vec<SubjectId>) {
    let has_org_code = [Field::Uscc, Field::RegNo, Field::OrgCode]
        .iter()
        .any(|&f| ctx.get(f).is_some());
    let ids = if has_org_code {
        organisation_ids(ctx, None)
    } else if let Some(v) = ctx.get(Field::PartyIdNo) {
        // A court's `身份证号码/组织机构代码` column: a person's identity number or
        // an organisation's code, by its shape (a document type column settles it).
        let by_shape = (ctx.map.kind == FileKind::CourtList
            && ctx.get(Field::PartyIdType).is_none())
        .then(|| SubjectId::parse(v).ok())
        .flatten();
        match by_shape {
            Some(id @ (SubjectId::Uscc(_) | SubjectId::OrgCode(_) | SubjectId::RegNo(_))) => {
                Some((id, Vec::new()))
            }
            _ => person_id(ctx).map(|id| (id, Vec::new())),
        }
    } else {
        ctx.error(
            Field::Uscc,
            "",
            "required: a USCC, registration number or organisation code, or an identity document number",
        );
        None
    };
    let Some((id, others)) = ids else {
        return (None, Vec::new());
    };
    let kind = match id {
        SubjectId::Uscc(u) if u.is_individual_business() => SubjectKind::IndividualBusiness,
        SubjectId::Uscc(_) | SubjectId::RegNo(_) | SubjectId::OrgCode(_) | SubjectId::TaxNo(_) => {
            SubjectKind::LegalPerson
        }
        SubjectId::ResidentId(_) | SubjectId::Document(_) => SubjectKind::NaturalPerson,
    };
    match name {
        Some(name) => (
            Some(Subject {
                kind,
                name: name.to_string(),
                id,
            }),
            others,
        ),
        None => (None, Vec::new()),
    }
}

fn organisation_ids(
    ctx: &mut Ctx<'_>,
    kind: Option<SubjectKind>,
) -> Option<(SubjectId, Vec<SubjectId>)> {
    if ctx.get(Field::PartyIdNo).is_some() {
        ctx.warn(
            Field::PartyIdNo,
            "identity document number ignored for a party that is not a natural person",
        );
    }
    let reg = ctx.get(Field::RegNo).map(|v| (v, RegNo::parse(v)));
    let org = ctx.get(Field::OrgCode).map(|v| (v, OrgCode::parse(v)));
    if let Some(v) = ctx.get(Field::Uscc) {
        let uscc = match Uscc::parse(v) {
            Ok(u) => u,
            Err(e) => {
                ctx.error(Field::Uscc, v, format!("invalid USCC: {e}"));
                return None;
            }
        };
        if uscc.is_pilot_exception() {
            ctx.warn(
                Field::Uscc,
                format!("{uscc}: pilot USCC accepted under policy"),
            );
        }
        match kind {
            Some(SubjectKind::IndividualBusiness) if !uscc.is_individual_business() => ctx.warn(
                Field::Uscc,
                format!("{uscc} is not an individual-business code (92…)"),
            ),
            Some(SubjectKind::LegalPerson) if uscc.is_individual_business() => ctx.warn(
                Field::Uscc,
                format!("{uscc} is an individual-business code (92…)"),
            ),
            _ => {}
        }
        let mut others = Vec::new();
        if let Some(r) = keep_valid(ctx, Field::RegNo, reg) {
            others.push(SubjectId::RegNo(r));
        }
        let mapping = ctx.map.kind == FileKind::Mapping;
        if let Some(o) = keep_valid(ctx, Field::OrgCode, org) {
            if o.as_str() != uscc.org_code() {
                let message = format!(
                    "{o} differs from the organisation code inside the USCC ({})",
                    uscc.org_code()
                );
                if mapping {
                    // A mapping that contradicts the USCC itself is refused, not kept.
                    ctx.error(Field::OrgCode, o.as_str(), message);
                } else {
                    ctx.warn(Field::OrgCode, message);
                }
            }
            others.push(SubjectId::OrgCode(o));
        }
        if mapping {
            if let Some(v) = ctx.get(Field::TaxNo) {
                match TaxNo::parse(v) {
                    Ok(t) if t.org_code().is_some_and(|o| o.as_str() != uscc.org_code()) => {
                        ctx.error(
                            Field::TaxNo,
                            v,
                            format!(
                                "the organisation code inside it differs from the one inside the USCC ({})",
                                uscc.org_code()
                            ),
                        )
                    }
                    Ok(t) => others.push(SubjectId::TaxNo(t)),
                    Err(e) => ctx.error(Field::TaxNo, v, format!("invalid tax registration number: {e}")),
                }
            }
            if others.is_empty() && ctx.errors.is_empty() {
                ctx.error(
                    Field::OrgCode,
                    "",
                    "a mapping needs at least one older code: organisation code, registration or tax number",
                );
            }
        }
        return Some((SubjectId::Uscc(uscc), others));
    }
    match (reg, org) {
        (Some((_, Ok(r))), org) => {
            let others = keep_valid(ctx, Field::OrgCode, org)
                .map(SubjectId::OrgCode)
                .into_iter()
                .collect();
            Some((SubjectId::RegNo(r), others))
        }
        (reg, Some((_, Ok(o)))) => {
            keep_valid(ctx, Field::RegNo, reg);
            Some((SubjectId::OrgCode(o), Vec::new()))
        }
        (None, None) => {
            if let Some(k) = kind {
                let what = if k == SubjectKind::IndividualBusiness {
                    "an individual business"
                } else {
                    "a legal person"
                };
                let reason = format!(
                    "required for {what}: a USCC, or for older records a business registration number or organisation code"
                );
                ctx.error(Field::Uscc, "", reason);
            }
            None
        }
        (reg, org) => {
            if let Some((v, Err(e))) = reg {
                ctx.error(
                    Field::RegNo,
                    v,
                    format!("invalid business registration number: {e}"),
                );
            }
            if let Some((v, Err(e))) = org {
                ctx.error(Field::OrgCode, v, format!("invalid organisation code: {e}"));
            }
            None
        }
    }
}

/// An older code beside a valid identifier: kept when valid, a warning when not.
fn keep_valid<T>(
    ctx: &mut Ctx<'_>,
    f: Field,
    code: Option<(&str, Result<T, IdError>)>,
) -> Option<T> {
    match code? {
        (_, Ok(c)) => Some(c),
        (v, Err(e)) => {
            ctx.warn(
                f,
                format!("{} is not valid ({e}); ignored", mask_for_message(v, false)),
            );
            None
        }
    }
}

fn person_id(ctx: &mut Ctx<'_>) -> Option<SubjectId> {
    if ctx.get(Field::Uscc).is_some() {
        ctx.warn(Field::Uscc, "USCC ignored for a natural person");
    }
    let doc_type = ctx.get(Field::PartyIdType);
    let document = doc_type.and_then(DocumentKind::parse);
    if !is_identity_card(doc_type) && document.is_none() {
        let t = doc_type.unwrap_or_default();
        ctx.error(
            Field::PartyIdType,
            t,
            format!(
                "document type {t} is not one this system knows (身份证, 护照, \
                 港澳居民来往内地通行证, 台湾居民来往大陆通行证, 外国人永久居留身份证)"
            ),
        );
        return None;
    }
    let what = document.map_or_else(
        || "resident identity number".to_string(),
        |k| format!("{} number", k.chinese_name()),
    );
    let Some(v) = ctx.get(Field::PartyIdNo) else {
        ctx.error(
            Field::PartyIdNo,
            "",
            format!("required for a natural person: the {what}"),
        );
        return None;
    };
    match SubjectId::parse_person(doc_type, v) {
        Ok(Some(id)) => Some(id),
        Ok(None) => None,
        Err(e) => {
            ctx.error(
                Field::PartyIdNo,
                v,
                format!("invalid {what}: {}", resident_reason(&e)),
            );
            None
        }
    }
}

/// A resident-id error without the birth date digits (personal data).
fn resident_reason(e: &IdError) -> String {
    match e {
        IdError::BirthDate(_) => "birth date (positions 7-14) is not a valid date".into(),
        other => other.to_string(),
    }
}

/// The legal representative, when the row names one.
pub(crate) fn representative(ctx: &mut Ctx<'_>) -> Option<Representative> {
    let id_type = ctx.get(Field::RepIdType);
    let id_no = ctx.get(Field::RepIdNo);
    let Some(name) = ctx.get(Field::RepName) else {
        if id_type.is_some() || id_no.is_some() {
            ctx.warn(
                Field::RepName,
                "representative's document given without a name; ignored",
            );
        }
        return None;
    };
    let id_number = id_no.map(|v| {
        if !is_identity_card(id_type) {
            return v.to_string();
        }
        match ResidentId::parse(v) {
            Ok(id) => id.unmasked().to_string(),
            Err(e) => {
                let masked = mask_for_message(v, true);
                ctx.warn(
                    Field::RepIdNo,
                    format!(
                        "{masked} is not a valid resident identity number ({}); kept as given",
                        resident_reason(&e)
                    ),
                );
                v.to_string()
            }
        }
    });
    Some(Representative {
        name: name.to_string(),
        id_type: id_type.map(str::to_string),
        id_number,
    })
}
