//! The kind-specific part of list, court and mapping rows: red- and black-list
//! entries, dishonest debtors, and code mappings.
//!
//! List entries come out with an empty review trail: whoever imports them proposes
//! them ([`credithub_protocol::review::propose`]), and they are published only once
//! another administrator confirmed them.

use credithub_protocol::record::{
    CourtCase, Details, ListingDetails, MappingDetails, RecordKind, Removal, RemovalCause, Severity,
};
use credithub_protocol::Date;

use super::details::KindParts;
use super::headers::Field;
use super::row::Ctx;

/// The decision date of a code mapping whose file gives none: 1 October 2015, when
/// the unified codes began to replace the older ones (三证合一).
pub(crate) fn mappings_since() -> Date {
    Date::new(2015, 10, 1).unwrap_or_else(|| unreachable!("a valid date"))
}

/// The list's name of every court entry.
pub(crate) const COURT_LIST: &str = "失信被执行人名单";

/// Red or black, from the list-type column, else from the list's name.
fn list_kind(ctx: &mut Ctx<'_>, list_name: &str) -> Option<RecordKind> {
    if let Some(t) = ctx.get(Field::ListType) {
        let kind = match t.trim() {
            "红名单" | "红" | "守信红名单" | "守信激励" | "red" | "red-list" => {
                Some(RecordKind::RED_LIST)
            }
            "黑名单"
            | "黑"
            | "失信黑名单"
            | "严重失信主体名单"
            | "失信惩戒"
            | "black"
            | "black-list" => Some(RecordKind::BLACK_LIST),
            _ => None,
        };
        if kind.is_none() {
            ctx.error(
                Field::ListType,
                t,
                "unknown list type; expected 红名单 or 黑名单 (red, black)",
            );
        }
        return kind;
    }
    let red = ["红名单", "守信", "诚信", "激励", "A级纳税人"];
    let black = ["黑名单", "失信", "严重违法", "惩戒"];
    let is = |words: &[&str]| words.iter().any(|w| list_name.contains(w));
    match (is(&red), is(&black)) {
        (true, false) => Some(RecordKind::RED_LIST),
        (false, true) => Some(RecordKind::BLACK_LIST),
        _ => {
            ctx.error(
                Field::ListName,
                list_name,
                "cannot tell a red list from a black list by this name: add a 名单类型 column (红名单 / 黑名单)",
            );
            None
        }
    }
}

/// The removal of an entry that the file says left its list (移出日期, 移出事由).
fn removal(ctx: &mut Ctx<'_>, listed: Option<Date>) -> Option<Removal> {
    let on = ctx.date(Field::RemovalDate, false, false)?;
    ctx.not_before(Field::RemovalDate, Some(on), listed, "listing date");
    let reason = ctx.get(Field::RemovalReason).unwrap_or("").to_string();
    let cause = RemovalCause::parse(&reason)
        .or_else(|| {
            let has = |w: &[&str]| w.iter().any(|w| reason.contains(w));
            if has(&["修复"]) {
                Some(RemovalCause::Repair)
            } else if has(&["履行", "和解", "终结"]) {
                Some(RemovalCause::Performed)
            } else if has(&["撤销", "错误"]) {
                Some(RemovalCause::Revoked)
            } else {
                None
            }
        })
        .unwrap_or(RemovalCause::Expiry);
    Some(Removal { on, cause, reason })
}

/// A red- or black-list row.
pub(crate) fn list_entry(
    ctx: &mut Ctx<'_>,
    listed: Option<Date>,
) -> Option<(RecordKind, KindParts)> {
    let list_name = ctx.required(Field::ListName)?.to_string();
    let kind = list_kind(ctx, &list_name);
    let reason = ctx.required(Field::ListReason).map(str::to_string);
    let legal_basis = ctx.get(Field::LegalBasis).unwrap_or("").to_string();
    let valid_until = ctx.date(Field::ListValidUntil, false, true);
    ctx.not_before(Field::ListValidUntil, valid_until, listed, "listing date");
    let removal = removal(ctx, listed);
    let kind = kind?;
    let severity = if kind == RecordKind::BLACK_LIST {
        Severity::Serious
    } else {
        Severity::NotApplicable
    };
    let details = Details::Listing(ListingDetails {
        list_name,
        reason: reason?,
        legal_basis,
        valid_until,
        court: None,
        removal,
        review: Vec::new(),
    });
    Some((kind, (details, severity, None)))
}

/// A dishonest-debtor row, as courts publish them.
pub(crate) fn court_entry(
    ctx: &mut Ctx<'_>,
    court: Option<&str>,
    case_no: Option<&str>,
    published: Option<Date>,
) -> Option<(RecordKind, KindParts)> {
    let filed_on = ctx.date(Field::FiledOn, true, false);
    ctx.not_before(Field::DecisionDate, published, filed_on, "filing date");
    let text = |ctx: &mut Ctx<'_>, f: Field| ctx.get(f).unwrap_or("").to_string();
    let basis_issuer = text(ctx, Field::BasisIssuer);
    let obligation = text(ctx, Field::Obligation);
    let performance = text(ctx, Field::Performance);
    let reason = text(ctx, Field::ListReason);
    let legal_basis = text(ctx, Field::LegalBasis);
    let details = Details::Listing(ListingDetails {
        list_name: COURT_LIST.to_string(),
        reason,
        legal_basis,
        valid_until: None,
        court: Some(CourtCase {
            case_no: case_no?.to_string(),
            court: court?.to_string(),
            filed_on: filed_on?,
            basis_issuer,
            obligation,
            performance,
        }),
        removal: None,
        review: Vec::new(),
    });
    Some((
        RecordKind::DISHONEST_DEBTOR,
        (details, Severity::Serious, None),
    ))
}

/// A code-mapping row: the codes themselves are the subject's identifiers.
pub(crate) fn mapping(_ctx: &mut Ctx<'_>) -> (RecordKind, KindParts) {
    (
        RecordKind::SUBJECT_MAPPING,
        (
            Details::Mapping(MappingDetails {
                note: String::new(),
            }),
            Severity::NotApplicable,
            None,
        ),
    )
}
