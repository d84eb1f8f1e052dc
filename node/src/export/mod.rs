//! Exports: the records a node holds written back as national 双公示 files (CSV in
//! UTF-8 or GB18030, or `.xlsx`), for systems that only read files.
//!
//! An export is a [`Selection`] — one file kind, the origins inside a jurisdiction,
//! optionally only the versions written since a day, the records one audience may see,
//! personal numbers masked or in full — read in two passes over the kind's runs of
//! keys ([`Store::scan_kind`]): [`plan`] counts the records and collects the source
//! columns they kept that today's layout lacks (`DFBM`, an unknown column's header,
//! …), so that the header can name them; [`page`] then renders the rows in key order,
//! a page at a time, from a cursor. Both run at the node, so that masking is decided
//! where the reader's rights are known; the admin CLI writes the file
//! ([`file::FileSink`]).
//!
//! Written with full numbers and re-imported at the same origin, an export gives the
//! same records: the same keys and bodies. What the national layout has no column for
//! is not carried: the state of an objection, a withdrawal or a repair (those records
//! are not exported to the public or to government readers anyway), and when the
//! record first arrived.

pub mod file;
pub mod layout;
pub mod rows;

use std::collections::BTreeSet;

use credithub_protocol::lifecycle::{Audience, PublicationRules};
use credithub_protocol::{Date, DivisionCode, Record, RecordKey, RecordKind};
use serde::{Deserialize, Serialize};

use crate::store::{Result, Store};
use file::CellKind;
pub use rows::{FileKind, Numbers};

/// Rows per page at most.
pub const MAX_PAGE_ROWS: u32 = 2_000;

/// The header style of an exported file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum HeaderStyle {
    /// Column codes (`CF_XDR_MC`), as the national exchange format names them.
    #[default]
    Codes,
    /// Chinese column names (行政相对人名称), as the templates print them.
    Chinese,
}

/// What an export holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// The file: penalties or licences.
    pub kind: FileKind,
    /// Records whose origin lies inside this jurisdiction (national: every origin).
    pub within: DivisionCode,
    /// Only the versions written on or after this day (China Standard Time), for
    /// periodic files of what changed.
    pub since: Option<Date>,
    /// The records this audience may see today.
    pub audience: Audience,
    /// Personal numbers masked or in full.
    pub numbers: Numbers,
}

impl Selection {
    fn record_kind(&self) -> RecordKind {
        match self.kind {
            FileKind::Penalty => RecordKind::PENALTY,
            FileKind::Licence => RecordKind::LICENCE,
        }
    }

    fn takes(&self, r: &Record, rules: &PublicationRules, today: Date) -> bool {
        self.since
            .is_none_or(|d| Date::from_millis(r.version.millis()).is_some_and(|v| v >= d))
            && rules.visible(r, self.audience, today)
    }
}

/// What the first pass found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Plan {
    /// Records selected.
    pub records: u64,
    /// The source columns they kept beyond today's layout, sorted: written after it.
    pub extra_columns: Vec<String>,
}

/// A page of rows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page {
    /// The rows, each in header order.
    pub rows: Vec<Vec<String>>,
    /// The cursor of the next page, when rows follow.
    pub next_after: Option<RecordKey>,
}

/// The first pass: counts the selected records and names the extra columns.
pub fn plan(
    store: &Store,
    selection: &Selection,
    rules: &PublicationRules,
    today: Date,
) -> Result<Plan> {
    let mut plan = Plan::default();
    let mut extra = BTreeSet::new();
    let codes = selection.kind.codes();
    store.scan_kind(selection.within, selection.record_kind(), None, |r| {
        if selection.takes(&r, rules, today) {
            plan.records += 1;
            if let Some(body) = &r.body {
                for name in body.extra.keys() {
                    if !codes.contains(&name.as_str()) && !extra.contains(name) {
                        extra.insert(name.clone());
                    }
                }
            }
        }
        true
    })?;
    plan.extra_columns = extra.into_iter().collect();
    Ok(plan)
}

/// A page of at most `limit` rows (1 to [`MAX_PAGE_ROWS`]) after `after`, with the
/// extra columns `extra` (the plan's) after today's layout.
pub fn page(
    store: &Store,
    selection: &Selection,
    extra: &[String],
    after: Option<RecordKey>,
    limit: u32,
    rules: &PublicationRules,
    today: Date,
) -> Result<Page> {
    let limit = limit.clamp(1, MAX_PAGE_ROWS) as usize;
    let width = selection.kind.codes().len();
    let mut out = Page::default();
    let mut row = vec![String::new(); width];
    let mut last = None;
    store.scan_kind(selection.within, selection.record_kind(), after, |r| {
        if out.rows.len() == limit {
            out.next_after = last;
            return false;
        }
        last = Some(r.key);
        if !selection.takes(&r, rules, today) {
            return true;
        }
        let Some(body) = &r.body else { return true };
        let Some(others) = rows::fill(selection.kind, &mut row, body, selection.numbers) else {
            return true;
        };
        let mut cells = Vec::with_capacity(width + extra.len());
        cells.extend(row.iter().cloned());
        cells.extend(extra.iter().map(|name| {
            others
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| (*v).to_string())
                .unwrap_or_default()
        }));
        out.rows.push(cells);
        true
    })?;
    Ok(out)
}

/// Enters a page written with full personal numbers in the store's audit log (who,
/// why, which selection from which cursor, how many rows); a masked page or an empty
/// one is not entered.
pub fn audit_page(
    store: &Store,
    who: &str,
    purpose: &str,
    selection: &Selection,
    after: Option<RecordKey>,
    page: &Page,
) -> Result<()> {
    if selection.numbers != Numbers::Full || page.rows.is_empty() {
        return Ok(());
    }
    let what = format!(
        "{} records of origins in {}{}",
        selection.kind,
        selection.within,
        after.map(|a| format!(" after {a}")).unwrap_or_default()
    );
    store.audit(
        crate::clock::now_millis(),
        who,
        purpose,
        "export with full personal numbers",
        &what,
        u32::try_from(page.rows.len()).unwrap_or(u32::MAX),
    )?;
    Ok(())
}

/// The header of an exported file: today's layout, then the extra columns.
pub fn header(kind: FileKind, style: HeaderStyle, extra: &[String]) -> Vec<String> {
    let base: Vec<&str> = match style {
        HeaderStyle::Codes => kind.codes().to_vec(),
        HeaderStyle::Chinese => layout::chinese_names(kind == FileKind::Penalty),
    };
    base.into_iter()
        .map(str::to_string)
        .chain(extra.iter().cloned())
        .collect()
}

/// How each column of an exported file is written to a workbook.
pub fn cell_kinds(kind: FileKind, extra: usize) -> Vec<CellKind> {
    const DATES: [&str; 6] = [
        "CF_JDRQ", "CF_YXQ", "CF_GSJZQ", "XK_JDRQ", "XK_YXQZ", "XK_YXQZI",
    ];
    const AMOUNTS: [&str; 2] = ["CF_NR_FK", "CF_NR_WFFF"];
    kind.codes()
        .iter()
        .map(|c| {
            if DATES.contains(c) {
                CellKind::Date
            } else if AMOUNTS.contains(c) {
                CellKind::Amount
            } else {
                CellKind::Text
            }
        })
        .chain(std::iter::repeat_n(CellKind::Text, extra))
        .collect()
}

#[cfg(test)]
mod tests;
