//! The kind-specific part of a row: penalty or licence details, severity and the
//! publication end date.

use credithub_protocol::record::{
    Details, LicenceCategory, LicenceDetails, PenaltyDetails, Severity,
};
use credithub_protocol::Date;

use super::headers::Field;
use super::row::Ctx;
use super::values::{penalty_severity, split_categories, wan_yuan_to_fen};

/// What the kind-specific mapping gives: the details, the severity, and the end of
/// publication when the source fixes one.
pub(crate) type KindParts = (Details, Severity, Option<Date>);

/// Penalty fields. Severity follows [`penalty_severity`] (policy). The categories are
/// those of `CF_CFLB`, or of 处罚类别1 then 处罚类别2 in the older layouts, each once.
pub(crate) fn penalty(ctx: &mut Ctx<'_>, decision_date: Option<Date>) -> Option<KindParts> {
    let categories = match ctx.required(Field::PenaltyCategory) {
        Some(v) => {
            let mut c = split_categories(v);
            // The older layouts' 处罚类别2 adds to 处罚类别1.
            let more = ctx.get(Field::PenaltyCategory2).map(split_categories);
            for m in more.unwrap_or_default() {
                if !c.contains(&m) {
                    c.push(m);
                }
            }
            if c.is_empty() {
                ctx.error(
                    Field::PenaltyCategory,
                    v,
                    "no penalty category in the value",
                );
            }
            Some(c)
        }
        None => None,
    };
    let content = ctx.required(Field::PenaltyContent);
    let fine_fen = amount(ctx, Field::Fine);
    let confiscated_fen = amount(ctx, Field::Confiscated);
    let valid_until = ctx.date(Field::PenaltyValidUntil, false, true);
    let publication_end = ctx.date(Field::PublicationEnd, false, true);
    ctx.not_before(
        Field::PenaltyValidUntil,
        valid_until,
        decision_date,
        "decision date",
    );
    ctx.not_before(
        Field::PublicationEnd,
        publication_end,
        decision_date,
        "decision date",
    );
    let text = |ctx: &Ctx<'_>, f: Field| ctx.get(f).unwrap_or_default().to_string();
    let categories = categories.filter(|c| !c.is_empty())?;
    let severity = penalty_severity(&categories);
    let details = PenaltyDetails {
        violation_type: text(ctx, Field::ViolationType),
        facts: text(ctx, Field::Facts),
        legal_basis: text(ctx, Field::LegalBasis),
        categories,
        content: content?.to_string(),
        fine_fen: fine_fen.ok()?,
        confiscated_fen: confiscated_fen.ok()?,
        licence_affected: ctx.get(Field::LicenceAffected).map(str::to_string),
        valid_until,
    };
    Some((Details::Penalty(details), severity, publication_end))
}

/// An optional amount in 万元 as fen; `Err(())` when invalid (the error is recorded).
fn amount(ctx: &mut Ctx<'_>, f: Field) -> Result<Option<i64>, ()> {
    let Some(v) = ctx.get(f) else { return Ok(None) };
    match wan_yuan_to_fen(v) {
        Ok(fen) => Ok(Some(fen)),
        Err(e) => {
            ctx.error(f, v, format!("invalid amount in 万元: {e}"));
            Err(())
        }
    }
}

/// Licence fields. `XK_YXQZ` defaults to the decision date; an empty `XK_YXQZI`, or
/// 长期/永久, means no end. An empty `XK_XKLB` is recorded as 其他 with a warning.
pub(crate) fn licence(ctx: &mut Ctx<'_>, decision_date: Option<Date>) -> Option<KindParts> {
    let category = match ctx.get(Field::LicenceCategory) {
        Some(v) => {
            let c = LicenceCategory::parse(v).or_else(|| {
                let short = v.trim_end_matches("类").trim_end_matches("许可");
                LicenceCategory::parse(short)
            });
            if c.is_none() {
                ctx.error(
                    Field::LicenceCategory,
                    v,
                    "unknown licence category; expected 普通, 特许, 认可, 核准, 登记 or 其他 (or 1-6)",
                );
            }
            c
        }
        None => {
            ctx.warn(
                Field::LicenceCategory,
                "licence category empty; recorded as 其他 (other)",
            );
            Some(LicenceCategory::Other)
        }
    };
    let content = ctx.required(Field::LicenceContent);
    let from_given = ctx.date(Field::ValidFrom, false, false);
    let valid_to = ctx.date(Field::ValidTo, false, true);
    let valid_from = from_given.or(decision_date);
    if let (Some(from), Some(decided)) = (from_given, decision_date) {
        if from < decided {
            ctx.warn(
                Field::ValidFrom,
                format!("valid from {from}, before the decision date {decided}"),
            );
        }
    }
    // One error per end date: before the decision date, else before the start date.
    let before_decision = matches!((valid_to, decision_date), (Some(t), Some(d)) if t < d);
    ctx.not_before(Field::ValidTo, valid_to, decision_date, "decision date");
    if !before_decision {
        ctx.not_before(Field::ValidTo, valid_to, from_given, "valid-from date");
    }
    let text = |ctx: &Ctx<'_>, f: Field| ctx.get(f).map(str::to_string);
    let details = LicenceDetails {
        document_name: text(ctx, Field::DocumentName).unwrap_or_default(),
        category: category?,
        certificate_name: text(ctx, Field::CertificateName),
        licence_no: text(ctx, Field::LicenceNo),
        content: content?.to_string(),
        valid_from: valid_from?,
        valid_to,
        state: text(ctx, Field::LicenceState),
    };
    Some((Details::Licence(details), Severity::NotApplicable, None))
}
