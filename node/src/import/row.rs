//! One data row → a [`RecordBody`], or the list of everything wrong with it.

use std::collections::BTreeMap;

use credithub_protocol::ids::Uscc;
use credithub_protocol::record::{Authority, Details, RecordBody, RecordKind, RecordStatus};
use credithub_protocol::Date;
use csv::StringRecord;

use super::columns::{ColumnMap, Target};
use super::headers::Field;
use super::values::{is_open_ended, mask_for_message};
use super::{
    details, listing, subject, FieldError, FileKind, NamedUnit, ParsedRow, RejectedRow, RowOutcome,
    RowUnits,
};

/// The state of one row being mapped: its values, and the errors and warnings found.
pub(crate) struct Ctx<'a> {
    pub map: &'a ColumnMap,
    pub row: &'a StringRecord,
    pub errors: Vec<FieldError>,
    pub warnings: Vec<String>,
}

impl<'a> Ctx<'a> {
    /// The trimmed, non-empty value of a field.
    pub(super) fn get(&self, f: Field) -> Option<&'a str> {
        self.map.get(f, self.row)
    }

    /// The header of a field as written in the file.
    pub(super) fn header(&self, f: Field) -> String {
        self.map.header(f)
    }

    /// Records an error about a field; personal numbers in `value` are masked.
    pub(super) fn error(&mut self, f: Field, value: &str, reason: impl Into<String>) {
        let value = mask_for_message(value, f.is_personal());
        self.errors.push(FieldError {
            field: self.header(f),
            value,
            reason: reason.into(),
        });
    }

    /// Records a warning about a field.
    pub(super) fn warn(&mut self, f: Field, message: impl AsRef<str>) {
        let w = format!("{}: {}", self.header(f), message.as_ref());
        self.warnings.push(w);
    }

    /// The value of a required field, or an error when it is absent.
    pub(super) fn required(&mut self, f: Field) -> Option<&'a str> {
        let v = self.get(f);
        if v.is_none() {
            self.error(f, "", "required value is empty");
        }
        v
    }

    /// A USCC in an optional column: validated when present; pilot codes are
    /// accepted with a warning.
    pub(super) fn uscc(&mut self, f: Field) -> Option<Uscc> {
        let v = self.get(f)?;
        match Uscc::parse(v) {
            Ok(u) => {
                if u.is_pilot_exception() {
                    self.warn(f, format!("{u}: pilot USCC accepted under policy"));
                }
                Some(u)
            }
            Err(e) => {
                self.error(f, v, format!("invalid USCC: {e}"));
                None
            }
        }
    }

    /// A date; `None` when absent (an error if `required`), invalid (an error), or
    /// written as "no end" (长期, 永久) where `open_ended` allows it.
    pub(super) fn date(&mut self, f: Field, required: bool, open_ended: bool) -> Option<Date> {
        let v = if required {
            self.required(f)?
        } else {
            self.get(f)?
        };
        if open_ended && is_open_ended(v) {
            return None;
        }
        match Date::parse(v) {
            Ok(d) => Some(d),
            Err(e) => {
                self.error(f, v, format!("not a date: {}", e.reason));
                None
            }
        }
    }

    /// Checks that an end date is not before a start date.
    pub(super) fn not_before(
        &mut self,
        f: Field,
        end: Option<Date>,
        start: Option<Date>,
        what: &str,
    ) {
        if let (Some(end), Some(start)) = (end, start) {
            if end < start {
                let v = self.get(f).unwrap_or_default();
                self.error(f, v, format!("{end} is before the {what} {start}"));
            }
        }
    }
}

/// Whether a row repeats the header row (its party-name cell names the party-name
/// column), as files concatenated from several exports do.
pub(crate) fn is_repeated_header(map: &ColumnMap, row: &StringRecord) -> bool {
    map.get(Field::PartyName, row)
        .is_some_and(|v| map.lookup(v) == Some(Field::PartyName))
}

/// Maps one row. Returns `None` for a row whose fields are all empty.
pub(crate) fn parse_row(
    map: &ColumnMap,
    row: &StringRecord,
    line: u64,
    bytes_read: u64,
) -> Option<RowOutcome> {
    if row.iter().all(|v| v.trim().is_empty()) {
        return None;
    }
    let mut ctx = Ctx {
        map,
        row,
        errors: Vec::new(),
        warnings: Vec::new(),
    };
    let body = build(&mut ctx);
    let Ctx {
        mut errors,
        warnings,
        ..
    } = ctx;
    // Report errors in column order, as a reader of the file sees them.
    errors.sort_by_key(|e| {
        map.columns
            .iter()
            .position(|c| c.header == e.field)
            .unwrap_or(usize::MAX)
    });
    Some(match body {
        Some((kind, body)) if errors.is_empty() => RowOutcome::Valid(ParsedRow {
            line,
            kind,
            body,
            warnings,
            bytes_read,
        }),
        other => {
            if errors.is_empty() && other.is_none() {
                // Cannot happen: every `None` above records an error. Reject rather
                // than invent a value.
                errors.push(FieldError {
                    field: "(row)".into(),
                    value: String::new(),
                    reason: "the row could not be mapped".into(),
                });
            }
            let raw = row.iter().map(str::to_string).collect();
            RowOutcome::Invalid(RejectedRow {
                line,
                sheet: None,
                errors,
                raw,
                bytes_read,
                units: row_units(map, row),
            })
        }
    })
}

/// The units and decision date a row names, as written.
fn row_units(map: &ColumnMap, row: &StringRecord) -> RowUnits {
    let unit = |name: Field, uscc: Field| {
        map.get(name, row).map(|n| NamedUnit {
            name: n.to_string(),
            uscc: map.get(uscc, row).map(str::to_string),
        })
    };
    RowUnits {
        kind: Some(map.kind.record_kind()),
        authority: unit(Field::Authority, Field::AuthorityUscc),
        source: unit(Field::SourceUnit, Field::SourceUnitUscc),
        decided: map
            .get(Field::DecisionDate, row)
            .and_then(|d| Date::parse(d).ok()),
    }
}

fn build(ctx: &mut Ctx<'_>) -> Option<(RecordKind, RecordBody)> {
    let file = ctx.map.kind;
    let (subject, other_ids) = subject::subject(ctx);
    let representative = subject::representative(ctx);
    let authority_name = match file {
        // A mapping is the registration authorities' word; the file may name them.
        FileKind::Mapping => Some(ctx.get(Field::SourceUnit).unwrap_or(MAPPING_AUTHORITY)),
        _ => ctx.required(Field::Authority),
    };
    let authority_uscc = ctx.uscc(Field::AuthorityUscc);
    let source_unit = source_unit(ctx);
    let decision_no = match file {
        FileKind::Penalty | FileKind::Licence | FileKind::CourtList => {
            ctx.required(Field::DecisionNo)
        }
        // A list entry is known by its list and subject when no document is named.
        FileKind::List => Some(ctx.get(Field::DecisionNo).unwrap_or("")),
        FileKind::Mapping => Some(""),
    };
    let decision_date = match file {
        FileKind::Penalty | FileKind::Licence | FileKind::List => {
            ctx.date(Field::DecisionDate, true, false)
        }
        FileKind::CourtList => ctx
            .date(Field::DecisionDate, false, false)
            .or_else(|| ctx.date(Field::FiledOn, false, false)),
        FileKind::Mapping => Some(
            ctx.date(Field::MappingDate, false, false)
                .unwrap_or_else(listing::mappings_since),
        ),
    };
    let kind_details = match file {
        FileKind::Penalty => {
            details::penalty(ctx, decision_date).map(|parts| (RecordKind::PENALTY, parts))
        }
        FileKind::Licence => {
            details::licence(ctx, decision_date).map(|parts| (RecordKind::LICENCE, parts))
        }
        FileKind::List => listing::list_entry(ctx, decision_date),
        FileKind::CourtList => {
            listing::court_entry(ctx, authority_name, decision_no, decision_date)
        }
        FileKind::Mapping => Some(listing::mapping(ctx)),
    };
    let extra = extra(ctx);
    let authority = Authority {
        name: authority_name?.to_string(),
        uscc: authority_uscc,
    };
    let source_unit = source_unit.filter(|s| *s != authority);
    let (kind, (details, severity, publication_end)) = kind_details?;
    let status = match &details {
        Details::Listing(l) if l.removal.is_some() => RecordStatus::Removed,
        _ => RecordStatus::Active,
    };
    Some((
        kind,
        RecordBody {
            subject: subject?,
            other_ids,
            representative,
            authority,
            source_unit,
            decision_no: decision_no?.to_string(),
            decision_date: decision_date?,
            published_on: None,
            publication_end,
            severity,
            status,
            details,
            extra,
        },
    ))
}

/// The authority of a code mapping whose file names no source unit.
const MAPPING_AUTHORITY: &str = "新旧代码映射";

/// The data source unit (`CF_SJLY`/`XK_LYDW` with its USCC). It is dropped from the
/// body when identical to the deciding authority.
fn source_unit(ctx: &mut Ctx<'_>) -> Option<Authority> {
    let uscc = ctx.uscc(Field::SourceUnitUscc);
    match ctx.get(Field::SourceUnit) {
        Some(name) => Some(Authority {
            name: name.to_string(),
            uscc,
        }),
        None => {
            if uscc.is_some() {
                ctx.warn(
                    Field::SourceUnitUscc,
                    "source unit USCC given without the unit's name; ignored",
                );
            }
            None
        }
    }
}

/// `BZ`, the older codes without a typed place (tax registration, public institution and
/// social organisation numbers, under their column codes), the older layouts' columns
/// without a typed field (处罚名称, a penalty's 当前状态, 地方编码, 数据更新时间戳, under
/// their pre-2019 codes), and unknown columns (under their header text).
fn extra(ctx: &mut Ctx<'_>) -> BTreeMap<String, String> {
    let mut extra = BTreeMap::new();
    let kind = ctx.map.kind;
    for f in [
        Field::Remarks,
        Field::TaxNo,
        Field::InstitutionNo,
        Field::SocialOrgNo,
        Field::CaseName,
        Field::PenaltyState,
        Field::LocalCode,
        Field::UpdatedAt,
    ] {
        if kind == FileKind::Mapping && f == Field::TaxNo {
            continue; // an identifier of the mapping's, in `other_ids`
        }
        if let Some(v) = ctx.get(f) {
            extra.insert(f.code_or_name(kind).to_string(), v.to_string());
        }
    }
    let columns = &ctx.map.columns;
    for (i, col) in columns.iter().enumerate() {
        let Some(v) = ctx.row.get(i).map(str::trim).filter(|v| !v.is_empty()) else {
            continue;
        };
        match &col.target {
            Target::Extra(name) => {
                extra.insert(name.clone(), v.to_string());
            }
            Target::Ignored if col.header.is_empty() => {
                ctx.warnings.push(format!(
                    "column {} has no header; its value was ignored",
                    i + 1
                ));
            }
            Target::Field(_) | Target::Ignored => {}
        }
    }
    let surplus: Vec<String> = (ctx.row.iter().skip(columns.len()).map(str::trim))
        .filter(|v| !v.is_empty())
        .map(|v| mask_for_message(v, false))
        .collect();
    if !surplus.is_empty() {
        let value = surplus.join(",");
        ctx.errors.push(FieldError {
            field: "(row)".into(),
            value,
            reason: format!(
                "the row has {} fields but the header has {}",
                ctx.row.len(),
                columns.len()
            ),
        });
    }
    extra
}
