//! The published lists — red list, black list, dishonest judgment debtors — as one
//! reader may see them: paged in key order (origin, then record id), narrowed to an
//! origin and to a span of listing dates.
//!
//! A page reads the list's records only ([`Store::scan_kind`]: one run of keys per
//! origin, the other kinds skipped by a seek) and stops as soon as it holds the page
//! and one entry more; deep pages continue from a cursor (`after`, the last key of the
//! previous page) instead of counting entries again.

use std::collections::HashMap;

use credithub_protocol::lifecycle::{Audience, PublicationRules};
use credithub_protocol::record::Details;
use credithub_protocol::{Date, DivisionCode, Record, RecordKey, RecordKind};
use serde::{Deserialize, Serialize};

use super::{view, RecordView};
use crate::store::{Result, Store};

/// Entries per page at most.
pub const MAX_PER_PAGE: u32 = 100;

/// Entries per page when the reader does not say.
pub const DEFAULT_PER_PAGE: u32 = 20;

/// Entries counted at most to reach a numbered page; deeper, a reader continues with
/// `after` (the cursor each page gives).
pub const MAX_SKIP: u32 = 10_000;

/// A list a reader may ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ListName {
    /// 红名单.
    RedList,
    /// 黑名单.
    BlackList,
    /// 失信被执行人.
    DishonestDebtors,
}

impl ListName {
    /// Every list, in the order the API names them.
    pub const ALL: [ListName; 3] = [
        ListName::RedList,
        ListName::BlackList,
        ListName::DishonestDebtors,
    ];

    /// Reads the name of a route (`red-list`, `black-list`, `dishonest-debtors`).
    pub fn parse(name: &str) -> Option<ListName> {
        ListName::ALL.into_iter().find(|l| l.as_str() == name)
    }

    /// The name in routes.
    pub fn as_str(self) -> &'static str {
        match self {
            ListName::RedList => "red-list",
            ListName::BlackList => "black-list",
            ListName::DishonestDebtors => "dishonest-debtors",
        }
    }

    /// The record kind of its entries.
    pub fn kind(self) -> RecordKind {
        match self {
            ListName::RedList => RecordKind::RED_LIST,
            ListName::BlackList => RecordKind::BLACK_LIST,
            ListName::DishonestDebtors => RecordKind::DISHONEST_DEBTOR,
        }
    }
}

/// What a reader asks of a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListQuery {
    /// The list.
    pub list: ListName,
    /// Entries whose origin lies inside this jurisdiction (national: all).
    pub origin: DivisionCode,
    /// Entries listed on or after this day.
    pub since: Option<Date>,
    /// Entries listed on or before this day.
    pub until: Option<Date>,
    /// The page, from 1 (counted after `after` when both are given).
    pub page: u32,
    /// Entries per page, 1 to [`MAX_PER_PAGE`].
    pub per_page: u32,
    /// Continue after this entry (the previous page's `next_after`).
    pub after: Option<RecordKey>,
}

/// Why a list query cannot be answered as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    /// `page` or `per_page` out of range.
    #[error("{0}")]
    Paging(String),
    /// `since` is after `until`.
    #[error("since {since} is after until {until}")]
    Span {
        /// The first day asked.
        since: Date,
        /// The last day asked.
        until: Date,
    },
    /// The cursor is an entry of another list.
    #[error("after: {0} is not an entry of the {1} (give the next_after of a page of this list)")]
    Cursor(RecordKey, &'static str),
}

/// One list entry as a reader sees it: the record's view (subject masked as in
/// subject answers) and the entry's own fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListEntryView {
    /// The record as subject answers show it.
    #[serde(flatten)]
    pub record: RecordView,
    /// The list's name as the origin gives it (e.g. 重大税收违法失信主体名单).
    pub list_name: String,
    /// Why the subject was listed.
    pub reason: String,
    /// The day it was listed (the decision date).
    pub listed_on: Date,
    /// The end of the listing, if fixed.
    pub valid_until: Option<Date>,
    /// The enforcement case number, for dishonest debtors.
    pub case_no: Option<String>,
    /// The enforcing court, for dishonest debtors.
    pub court: Option<String>,
}

/// A page of a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListAnswer {
    /// The answering node.
    pub node: String,
    /// The list (`red-list`, `black-list`, `dishonest-debtors`).
    pub list: ListName,
    /// Who the answer was made for.
    pub audience: Audience,
    /// The origin the entries were narrowed to (`000000`: all).
    pub origin: DivisionCode,
    /// The first listing day asked.
    pub since: Option<Date>,
    /// The last listing day asked.
    pub until: Option<Date>,
    /// The page (from 1).
    pub page: u32,
    /// Entries per page.
    pub per_page: u32,
    /// This page's entries, in key order.
    pub entries: Vec<ListEntryView>,
    /// Whether entries follow this page.
    pub more: bool,
    /// The cursor of the next page (`after=`), when entries follow.
    pub next_after: Option<String>,
    /// When the answer was made (ms since the epoch).
    pub at_ms: u64,
}

impl ListQuery {
    /// Checks the paging and the span of days.
    pub fn check(&self) -> std::result::Result<(), ListError> {
        if self.page == 0 {
            return Err(ListError::Paging("page: pages count from 1".into()));
        }
        if self.per_page == 0 || self.per_page > MAX_PER_PAGE {
            return Err(ListError::Paging(format!(
                "per_page: {} is not between 1 and {MAX_PER_PAGE}",
                self.per_page
            )));
        }
        let skip = u64::from(self.page - 1) * u64::from(self.per_page);
        if skip > u64::from(MAX_SKIP) {
            return Err(ListError::Paging(format!(
                "page: {} entries before page {} is more than {MAX_SKIP}; continue with after= (each page's next_after), or narrow by origin or date",
                skip, self.page
            )));
        }
        if let (Some(since), Some(until)) = (self.since, self.until) {
            if since > until {
                return Err(ListError::Span { since, until });
            }
        }
        if let Some(a) = self.after {
            if a.kind != self.list.kind() {
                return Err(ListError::Cursor(a, self.list.as_str()));
            }
        }
        Ok(())
    }

    fn listed_in_span(&self, r: &Record) -> bool {
        r.body.as_ref().is_some_and(|b| {
            self.since.is_none_or(|d| b.decision_date >= d)
                && self.until.is_none_or(|d| b.decision_date <= d)
        })
    }
}

/// A page of a list for `audience`: the entries it may see ([`PublicationRules::visible`]),
/// each with the objections held about its subject marked as in subject answers (the
/// subject index names them; no other record of the subject is read).
/// `node` and `at_ms` of the answer are left for the caller to fill in.
pub fn page(
    store: &Store,
    q: &ListQuery,
    audience: Audience,
    rules: &PublicationRules,
    today: Date,
) -> Result<std::result::Result<ListAnswer, ListError>> {
    if let Err(e) = q.check() {
        return Ok(Err(e));
    }
    let mut skip = (q.page - 1) * q.per_page;
    let want = q.per_page as usize + 1;
    let mut found: Vec<Record> = Vec::with_capacity(want);
    store.scan_kind(q.origin, q.list.kind(), q.after, |r| {
        if q.listed_in_span(&r) && rules.visible(&r, audience, today) {
            if skip > 0 {
                skip -= 1;
            } else {
                found.push(r);
            }
        }
        found.len() < want
    })?;
    let more = found.len() > q.per_page as usize;
    found.truncate(q.per_page as usize);
    let mut objections: HashMap<String, Vec<Record>> = HashMap::new();
    let mut entries = Vec::with_capacity(found.len());
    for r in &found {
        let Some(body) = &r.body else { continue };
        let subject = body.subject.id.unmasked();
        if !objections.contains_key(&subject) {
            // The subject index names the objections: only they are read.
            let keys: Vec<RecordKey> = store
                .subject_keys(&body.subject.id)?
                .into_iter()
                .filter(|k| k.kind == RecordKind::OBJECTION)
                .collect();
            objections.insert(subject.clone(), store.live_records(&keys)?);
        }
        let against = objections.get(&subject).map_or(&[][..], Vec::as_slice);
        let arrived = store.arrival(&r.key, r.version)?;
        if let Some(v) = view(r, arrived, against, audience, rules, today) {
            entries.push(entry(r, v));
        }
    }
    Ok(Ok(ListAnswer {
        node: String::new(),
        list: q.list,
        audience,
        origin: q.origin,
        since: q.since,
        until: q.until,
        page: q.page,
        per_page: q.per_page,
        next_after: more
            .then(|| found.last().map(|r| r.key.to_string()))
            .flatten(),
        more,
        entries,
        at_ms: 0,
    }))
}

/// The entry's own fields beside its record view.
fn entry(r: &Record, record: RecordView) -> ListEntryView {
    let listed_on = record.decision_date;
    let (list_name, reason, valid_until, case) = match r.body.as_ref().map(|b| &b.details) {
        Some(Details::ListEntry(l)) => (l.list_name.clone(), l.reason.clone(), l.valid_until, None),
        Some(Details::Listing(l)) => (
            l.list_name.clone(),
            l.reason.clone(),
            l.valid_until,
            l.court
                .as_ref()
                .map(|c| (c.case_no.clone(), c.court.clone())),
        ),
        Some(Details::DishonestDebtor(d)) => (
            "失信被执行人名单".to_string(),
            d.dishonest_conduct.clone(),
            None,
            Some((d.case_no.clone(), d.court.clone())),
        ),
        _ => (String::new(), String::new(), None, None),
    };
    let (case_no, court) = case.unzip();
    ListEntryView {
        record,
        list_name,
        reason,
        listed_on,
        valid_until,
        case_no,
        court,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_names_round_trip_and_name_their_kind() {
        for l in ListName::ALL {
            assert_eq!(ListName::parse(l.as_str()), Some(l));
        }
        assert_eq!(
            ListName::parse("dishonest-debtors").map(ListName::kind),
            Some(RecordKind::DISHONEST_DEBTOR)
        );
        assert_eq!(ListName::parse("grey-list"), None);
    }

    #[test]
    fn paging_is_checked() {
        let q = ListQuery {
            list: ListName::BlackList,
            origin: DivisionCode::NATIONAL,
            since: None,
            until: None,
            page: 1,
            per_page: 20,
            after: None,
        };
        assert!(q.check().is_ok());
        let bad = |q: ListQuery| q.check().map_err(|e| e.to_string()).unwrap_err();
        assert!(bad(ListQuery {
            page: 0,
            ..q.clone()
        })
        .contains("page"));
        assert!(bad(ListQuery {
            per_page: 101,
            ..q.clone()
        })
        .contains("per_page"));
        assert!(bad(ListQuery {
            page: 600,
            ..q.clone()
        })
        .contains("after="));
        let since = Date::new(2025, 2, 1);
        let until = Date::new(2025, 1, 1);
        assert!(bad(ListQuery { since, until, ..q }).contains("after until"));
    }

    /// A store holding, for each of four origins, three black-list entries, two
    /// penalties and a red-list entry (as received from peers).
    fn store(dir: &tempfile::TempDir) -> Store {
        use credithub_protocol::codec::EncodedRecord;
        use credithub_protocol::record::ListEntryDetails;
        use credithub_protocol::testing::body_about;
        use credithub_protocol::Version;
        let store = Store::open(dir.path(), Some(DivisionCode::NATIONAL)).expect("store");
        let version = Version::next(None, 1_700_000_000_000);
        let mut batch = Vec::new();
        for (o, origin) in ["110000", "320500", "320583", "330100"].iter().enumerate() {
            let origin = DivisionCode::parse(origin).expect("code");
            for n in 0..6u32 {
                let mut body = body_about(o as u32 * 100 + n, "320583");
                body.decision_date = Date::new(2026, 1, 1 + n as u8).expect("day");
                let kind = match n {
                    0..=2 => RecordKind::BLACK_LIST,
                    3 | 4 => RecordKind::PENALTY,
                    _ => RecordKind::RED_LIST,
                };
                if kind != RecordKind::PENALTY {
                    body.details = Details::ListEntry(ListEntryDetails {
                        list_name: "重大税收违法失信主体名单".into(),
                        reason: "虚开增值税专用发票".into(),
                        legal_basis: String::new(),
                        valid_until: None,
                    });
                }
                let key = RecordKey::derive(origin, kind, &body);
                batch.push(EncodedRecord::of_body(key, version, Some(&body)));
            }
        }
        store
            .apply_remote(batch, 1_700_000_000_000)
            .expect("applied");
        store
    }

    fn query(per_page: u32) -> ListQuery {
        ListQuery {
            list: ListName::BlackList,
            origin: DivisionCode::NATIONAL,
            since: None,
            until: None,
            page: 1,
            per_page,
            after: None,
        }
    }

    fn keys(a: &ListAnswer) -> Vec<String> {
        a.entries.iter().map(|e| e.record.key.clone()).collect()
    }

    #[test]
    fn a_page_reads_its_own_list_only_and_stops_when_it_is_full() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = store(&dir);
        let mut seen = Vec::new();
        store
            .scan_kind(DivisionCode::NATIONAL, RecordKind::BLACK_LIST, None, |r| {
                seen.push(r.key);
                seen.len() < 5
            })
            .expect("scan");
        assert_eq!(seen.len(), 5, "stopped at the fifth");
        assert!(seen.iter().all(|k| k.kind == RecordKind::BLACK_LIST));
        assert!(seen.windows(2).all(|w| w[0].to_bytes() < w[1].to_bytes()));
        let mut all = Vec::new();
        store
            .scan_kind(DivisionCode::NATIONAL, RecordKind::RED_LIST, None, |r| {
                all.push(r.key);
                true
            })
            .expect("scan");
        assert_eq!(all.len(), 4, "one red-list entry per origin");
        // From a cursor: what follows it, in the same order.
        let mut rest = Vec::new();
        store
            .scan_kind(
                DivisionCode::NATIONAL,
                RecordKind::BLACK_LIST,
                Some(seen[1]),
                |r| {
                    rest.push(r.key);
                    rest.len() < 3
                },
            )
            .expect("scan");
        assert_eq!(rest, seen[2..5]);
    }

    #[test]
    fn pages_origins_and_days_of_a_list() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = store(&dir);
        let rules = PublicationRules::default();
        let today = Date::new(2026, 3, 1).expect("day");
        let page = |q: &ListQuery| {
            page(&store, q, Audience::Government, &rules, today)
                .expect("read")
                .expect("valid")
        };
        let all = page(&query(100));
        assert_eq!(all.entries.len(), 12);
        assert!(!all.more && all.next_after.is_none());
        let first = page(&query(5));
        assert!(first.more);
        assert_eq!(
            first.next_after.as_deref(),
            keys(&first).last().map(String::as_str)
        );
        let third = page(&ListQuery {
            page: 3,
            ..query(5)
        });
        assert!(!third.more);
        let after: RecordKey = first
            .next_after
            .clone()
            .expect("cursor")
            .parse()
            .expect("key");
        let second = page(&ListQuery {
            after: Some(after),
            ..query(5)
        });
        assert_eq!(
            [keys(&first), keys(&second), keys(&third)].concat(),
            keys(&all),
            "pages and cursors walk the list in one order"
        );
        let jiangsu = page(&ListQuery {
            origin: DivisionCode::parse("320000").expect("code"),
            ..query(100)
        });
        assert_eq!(jiangsu.entries.len(), 6);
        assert!(jiangsu
            .entries
            .iter()
            .all(|e| e.record.origin.as_u32() / 10_000 == 32));
        let days = page(&ListQuery {
            since: Date::new(2026, 1, 2),
            until: Date::new(2026, 1, 2),
            ..query(100)
        });
        assert_eq!(days.entries.len(), 4, "one a day per origin");
        assert!(days
            .entries
            .iter()
            .all(|e| e.listed_on == Date::new(2026, 1, 2).expect("day")));
        assert_eq!(days.entries[0].list_name, "重大税收违法失信主体名单");
    }
}
