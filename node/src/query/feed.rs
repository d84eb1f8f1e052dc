//! The change feed: every change a reader may see, in order, resumable from any
//! cursor, for portals and third parties that mirror a node.
//!
//! The feed reads the store's change log ([`crate::store::feed`]). Each entry becomes
//! an event about one record as it stands *now* for the reader's audience:
//! - `put` with the record's view, exactly as a subject query shows it, when the
//!   reader may see it;
//! - `remove` when the reader may not (any more): a tombstone, a withdrawal, a repair,
//!   a removal from a list, an objection upheld, or a publication window that ended
//!   (the node appends an entry when a window ends, with no write). A follower deletes
//!   the record if it holds it; a removal may name a record it never held.
//!
//! An entry for a version that is no longer the record's current one is skipped (a
//! later entry stands for the record). An objection's entry becomes an event about the
//! record it disputes, whose view shows it under objection. Following the feed from
//! cursor 0 and applying every event leaves a follower holding exactly what the
//! reader's subject queries return.

use credithub_protocol::lifecycle::{Audience, PublicationRules};
use credithub_protocol::record::{Details, Record, RecordKey, RecordKind};
use credithub_protocol::Date;
use serde::{Deserialize, Serialize};

use super::{aliases, view, RecordView};
use crate::store::{Result, Store};

/// Events per page at most.
pub const MAX_EVENTS: u32 = 1000;

/// Events per page unless asked otherwise.
pub const DEFAULT_EVENTS: u32 = 200;

/// Log entries read per page at most: a page of a feed filtered to rare kinds ends
/// here, with a cursor to go on from.
pub const MAX_SCANNED: usize = 20_000;

/// What an event says about a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FeedOp {
    /// The reader may see the record as given.
    Put,
    /// The reader may not see the record (any more).
    Remove,
}

/// One event of the feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedEvent {
    /// The cursor of this event: pass it as `since` to read what follows it.
    pub seq: u64,
    /// Put or remove.
    pub op: FeedOp,
    /// The record, `ORIGIN:KIND:ID`.
    pub key: String,
    /// The record's view, for a put.
    pub record: Option<RecordView>,
}

/// One page of the feed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedPage {
    /// The answering node.
    pub node: String,
    /// Who the page was made for.
    pub audience: Option<Audience>,
    /// The events, in order.
    pub events: Vec<FeedEvent>,
    /// Where to go on from: pass it as `since` next time (it may be past the last
    /// event, when entries the reader does not get were read).
    pub next: u64,
    /// Whether more entries follow `next` already.
    pub more: bool,
    /// When the page was made (ms since the epoch).
    pub at_ms: u64,
}

/// What a page is asked for.
#[derive(Debug, Clone)]
pub struct FeedRequest {
    /// The cursor to read after (0: from the start).
    pub since: u64,
    /// Only events about records of these kinds (all kinds when empty).
    pub kinds: Vec<RecordKind>,
    /// Events at most (clamped to 1..=[`MAX_EVENTS`]).
    pub limit: u32,
}

/// Reads one page of the feed for `audience`.
pub fn read(
    store: &Store,
    request: &FeedRequest,
    audience: Audience,
    rules: &PublicationRules,
    today: Date,
) -> Result<FeedPage> {
    let limit = request.limit.clamp(1, MAX_EVENTS) as usize;
    let mut page = FeedPage {
        audience: Some(audience),
        next: request.since,
        ..FeedPage::default()
    };
    let mut scanned = 0usize;
    'pages: while page.events.len() < limit && scanned < MAX_SCANNED {
        let entries = store.changes_after(page.next, limit.min(MAX_SCANNED - scanned))?;
        if entries.is_empty() {
            break;
        }
        for change in entries {
            if page.events.len() == limit {
                break 'pages;
            }
            scanned += 1;
            page.next = change.seq;
            let Some(record) = store.get(&change.key)? else {
                continue;
            };
            let about = if change.key.kind == RecordKind::OBJECTION {
                // An objection changes how the record it disputes is shown.
                let Some(target) = disputed(&record) else {
                    continue;
                };
                match store.get(&target)? {
                    Some(r) => r,
                    None => continue,
                }
            } else if record.version != change.version || aliases::is_mapping(change.key.kind) {
                continue;
            } else {
                record
            };
            if !request.kinds.is_empty() && !request.kinds.contains(&about.key.kind) {
                continue;
            }
            page.events
                .push(event(store, change.seq, &about, audience, rules, today)?);
        }
    }
    page.more = store.last_change()? > page.next;
    Ok(page)
}

/// The record an objection disputes.
fn disputed(objection: &Record) -> Option<RecordKey> {
    match &objection.body.as_ref()?.details {
        Details::Objection(d) => Some(d.target),
        _ => None,
    }
}

/// The event for a record as it stands.
fn event(
    store: &Store,
    seq: u64,
    record: &Record,
    audience: Audience,
    rules: &PublicationRules,
    today: Date,
) -> Result<FeedEvent> {
    let remove = FeedEvent {
        seq,
        op: FeedOp::Remove,
        key: record.key.to_string(),
        record: None,
    };
    let Some(body) = &record.body else {
        return Ok(remove);
    };
    if !rules.visible(record, audience, today) {
        return Ok(remove);
    }
    let objections: Vec<Record> = store
        .by_subject(&body.subject.id)?
        .into_iter()
        .filter(|r| r.key.kind == RecordKind::OBJECTION)
        .collect();
    let arrived = store.arrival(&record.key, record.version)?;
    Ok(
        match view(record, arrived, &objections, audience, rules, today) {
            Some(v) => FeedEvent {
                op: FeedOp::Put,
                record: Some(v),
                ..remove
            },
            None => remove,
        },
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use credithub_protocol::record::{ObjectionDetails, RecordStatus, Severity};
    use credithub_protocol::testing::sample_body;
    use credithub_protocol::{DivisionCode, SubjectId};

    use super::*;
    use crate::query::records_about;

    const USCC: &str = "91110000600037341L";

    fn day(y: u16, m: u8, d: u8) -> Date {
        Date::new(y, m, d).expect("date")
    }

    /// A follower: applies pages until the feed has nothing more.
    #[derive(Default)]
    struct Mirror {
        cursor: u64,
        held: BTreeMap<String, RecordView>,
    }

    impl Mirror {
        fn follow(&mut self, store: &Store, audience: Audience, today: Date) {
            loop {
                let request = FeedRequest {
                    since: self.cursor,
                    kinds: Vec::new(),
                    limit: 3,
                };
                let page = read(
                    store,
                    &request,
                    audience,
                    &PublicationRules::default(),
                    today,
                )
                .expect("feed");
                for e in page.events {
                    assert!(e.seq > self.cursor, "events in order");
                    match e.op {
                        FeedOp::Put => {
                            self.held.insert(e.key, e.record.expect("a put's record"));
                        }
                        FeedOp::Remove => {
                            self.held.remove(&e.key);
                        }
                    }
                }
                self.cursor = page.next;
                if !page.more {
                    return;
                }
            }
        }

        /// What direct queries return, for the one subject of these tests.
        fn assert_matches(&self, store: &Store, audience: Audience, today: Date) {
            let id = SubjectId::parse(USCC).expect("id");
            let direct = records_about(store, &id, audience, &PublicationRules::default(), today)
                .expect("query");
            let direct: BTreeMap<String, RecordView> = direct
                .views
                .into_iter()
                .map(|v| (v.key.clone(), v))
                .collect();
            assert_eq!(self.held, direct);
        }
    }

    #[test]
    fn a_follower_holds_what_queries_return_through_changes_and_a_window_ending() {
        let dir = tempfile::tempdir().expect("tmp");
        // The store begins on 2024-06-01 (its change log with it).
        let opts = crate::store::StoreOptions {
            clock: || 1_717_200_000_000,
            ..crate::store::StoreOptions::default()
        };
        let store = Store::open_with(
            dir.path(),
            Some(DivisionCode::parse("320500").expect("code")),
            &opts,
        )
        .expect("store");
        let today = day(2024, 6, 1);
        // A general penalty decided 2024-03-05 is published until 2025-03-04.
        let mut bodies: Vec<(RecordKind, credithub_protocol::RecordBody)> = (0..5)
            .map(|n| (RecordKind::PENALTY, sample_body(n, USCC)))
            .collect();
        bodies[4].1.severity = Severity::Serious;
        store.write_local(bodies.clone(), 1_000).expect("write");
        let mut public = Mirror::default();
        let mut government = Mirror::default();
        public.follow(&store, Audience::Public, today);
        government.follow(&store, Audience::Government, today);
        assert_eq!(public.held.len(), 5);
        public.assert_matches(&store, Audience::Public, today);

        // A correction, a repair and a deletion.
        bodies[0].1.details = sample_body(99, USCC).details;
        bodies[1].1.status = RecordStatus::Repaired;
        store
            .write_local(vec![bodies[0].clone(), bodies[1].clone()], 2_000)
            .expect("write");
        let third = RecordKey::derive(store.jurisdiction(), RecordKind::PENALTY, &bodies[2].1);
        store.delete_local(&[third], 3_000).expect("delete");
        // An objection to the fourth.
        let fourth = RecordKey::derive(store.jurisdiction(), RecordKind::PENALTY, &bodies[3].1);
        let mut objection = sample_body(50, USCC);
        objection.severity = Severity::NotApplicable;
        objection.details = Details::Objection(ObjectionDetails {
            target: fourth,
            target_version: store.get(&fourth).expect("get").expect("held").version,
            reason: "not us".into(),
        });
        store
            .write_local(vec![(RecordKind::OBJECTION, objection)], 4_000)
            .expect("objection");
        public.follow(&store, Audience::Public, today);
        public.assert_matches(&store, Audience::Public, today);
        assert_eq!(public.held.len(), 3);
        assert_eq!(
            public
                .held
                .get(&fourth.to_string())
                .map(|v| v.status.as_str()),
            Some("under-objection")
        );
        government.follow(&store, Audience::Government, today);
        government.assert_matches(&store, Audience::Government, today);

        // The general penalties' window ends after 2025-03-04 with no write: noted,
        // the public follower drops them, the serious one stays.
        let later = day(2025, 3, 10);
        let noted = store
            .note_closed_windows(&PublicationRules::default(), later)
            .expect("note");
        assert_eq!(noted, 3, "the three general penalties still held");
        assert_eq!(
            store
                .note_closed_windows(&PublicationRules::default(), later)
                .expect("again"),
            0
        );
        public.follow(&store, Audience::Public, later);
        public.assert_matches(&store, Audience::Public, later);
        assert_eq!(public.held.len(), 1);
        government.follow(&store, Audience::Government, later);
        government.assert_matches(&store, Audience::Government, later);
        assert!(store.verify(|_| {}).expect("verify").is_clean());

        // A feed filtered to another kind has nothing, and says where to go on from.
        let licences = read(
            &store,
            &FeedRequest {
                since: 0,
                kinds: vec![RecordKind::LICENCE],
                limit: 10,
            },
            Audience::Public,
            &PublicationRules::default(),
            later,
        )
        .expect("feed");
        assert!(licences.events.is_empty());
        assert_eq!(licences.next, store.last_change().expect("last"));
        assert!(!licences.more);
    }
}
