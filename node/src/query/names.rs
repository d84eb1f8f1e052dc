//! Search by name: the subjects whose name holds a fragment (a company, an
//! individual business; natural persons only for readers who may see them), ranked
//! and paged.
//!
//! The name index ([`crate::store::names`]) gives the subjects filed under every
//! character pair of the fragment with their normalised names, without reading a
//! record; those whose name holds the whole fragment are ranked: the name equal to
//! the fragment first, then names that start with it, then shorter names, then by
//! name. Only then are records read, and only for the page asked for (and the pages
//! before it): a subject is shown if the reader may see at least one record of it
//! under a name that holds the fragment, with the number of its records the reader
//! may see. At most [`MAX_CANDIDATES`] subjects are ranked per search: a fragment
//! found in more names than that is answered from the first ones and marked
//! incomplete, with a hint to say more of the name.

use credithub_protocol::ids::{SubjectId, SubjectKind};
use credithub_protocol::lifecycle::{Audience, PublicationRules};
use credithub_protocol::names;
use credithub_protocol::{Date, DivisionCode};
use serde::{Deserialize, Serialize};

use super::{id_for, name_for};
use crate::store::keys::{name_prefix, NAME_ORGANISATION, NAME_PERSON};
use crate::store::{Result, Store};

/// Subjects ranked per search at most (for each audience flag searched): enough for
/// many pages of a distinctive fragment, few enough to rank a common one in about a
/// millisecond (no record is read to rank them).
pub const MAX_CANDIDATES: usize = 2000;

/// Records read per subject shown at most, to count those the reader may see; a
/// subject with more is shown with [`NameHit::more`] set (most subjects have one or
/// two records; the busiest thousands, and a search must not read them all).
pub const MAX_RECORDS_PER_HIT: usize = 32;

/// Hits per page at most.
pub const MAX_PER_PAGE: u32 = 100;

/// Why a search cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchError {
    /// The fragment is too short to search by.
    #[error("search by at least two characters of the name (got {0:?})")]
    TooShort(String),
    /// Every pair of the fragment is too common to search by.
    #[error("{0:?} is in most names (有限, 公司, …): give more of the name")]
    TooCommon(String),
}

/// One subject found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameHit {
    /// The subject's name (a natural person's given name masked unless the reader
    /// may see personal data).
    pub name: String,
    /// Its identifier (personal numbers masked likewise).
    pub subject: String,
    /// `legal-person`, `individual-business` or `natural-person`.
    pub kind: String,
    /// Records about it that the reader may see (of the first [`MAX_RECORDS_PER_HIT`]).
    pub records: u32,
    /// Whether it has more records than were counted (a subject query lists them all).
    #[serde(default)]
    pub more: bool,
    /// The origins of those records.
    pub origins: Vec<DivisionCode>,
    /// Whether the name is the fragment itself.
    pub exact: bool,
}

/// The answer to a name search.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameAnswer {
    /// The answering node.
    pub node: String,
    /// The fragment searched, normalised.
    pub query: String,
    /// Who the answer was made for.
    pub audience: Option<Audience>,
    /// This page's subjects, best first.
    pub hits: Vec<NameHit>,
    /// The page (from 1).
    pub page: u32,
    /// Subjects per page.
    pub per_page: u32,
    /// Subjects whose name holds the fragment, of those ranked; the ones after this
    /// page are counted before their records are checked against what the reader may
    /// see.
    pub total: u32,
    /// False when more subjects matched than one search ranks: say more of the name.
    pub complete: bool,
    /// When the answer was made (ms since the epoch).
    pub at_ms: u64,
}

/// A subject whose name holds the fragment, before its records are read.
struct Ranked {
    flag: u8,
    subject: Vec<u8>,
    name: String,
}

/// Searches subjects by a fragment of their name, as `audience` may see them.
#[allow(clippy::too_many_arguments)]
pub fn search(
    store: &Store,
    fragment: &str,
    audience: Audience,
    rules: &PublicationRules,
    today: Date,
    page: u32,
    per_page: u32,
) -> Result<std::result::Result<NameAnswer, SearchError>> {
    let query = names::normalise(fragment);
    if query.chars().count() < 2 {
        return Ok(Err(SearchError::TooShort(fragment.to_string())));
    }
    let pairs = names::pairs(&query);
    if pairs.is_empty() {
        return Ok(Err(SearchError::TooCommon(fragment.to_string())));
    }
    // The public never finds natural persons by name.
    let flags: &[u8] = match audience {
        Audience::Public => &[NAME_ORGANISATION],
        Audience::Government | Audience::Auditor => &[NAME_ORGANISATION, NAME_PERSON],
    };
    let mut ranked: Vec<Ranked> = Vec::new();
    let mut complete = true;
    for &flag in flags {
        let prefixes: Vec<_> = pairs.iter().map(|&p| name_prefix(p, flag)).collect();
        let (candidates, all) = store.name_candidates(&prefixes, MAX_CANDIDATES)?;
        complete &= all;
        ranked.extend(
            candidates
                .into_iter()
                .filter(|c| c.name.contains(&query))
                .map(|c| Ranked {
                    flag,
                    subject: c.subject,
                    name: c.name,
                }),
        );
    }
    let rank = |r: &Ranked| {
        (
            r.name != query,
            !r.name.starts_with(&query),
            r.name.chars().count(),
        )
    };
    ranked.sort_by(|a, b| {
        rank(a)
            .cmp(&rank(b))
            .then_with(|| a.name.cmp(&b.name))
            .then_with(|| a.subject.cmp(&b.subject))
    });
    // A subject under two names that hold the fragment is shown once, at its best.
    let mut seen = std::collections::HashSet::new();
    ranked.retain(|r| seen.insert((r.flag, r.subject.clone())));
    let per_page = per_page.clamp(1, MAX_PER_PAGE);
    let page = page.max(1);
    let skip = ((page - 1) * per_page) as usize;
    let mut hits = Vec::new();
    let mut shown = 0usize;
    let mut hidden = 0u32;
    for r in &ranked {
        if hits.len() == per_page as usize {
            break;
        }
        let Some(hit) = hit_for(store, r, &query, audience, rules, today)? else {
            hidden += 1;
            continue;
        };
        shown += 1;
        if shown > skip {
            hits.push(hit);
        }
    }
    Ok(Ok(NameAnswer {
        node: String::new(),
        query,
        audience: Some(audience),
        hits,
        page,
        per_page,
        total: (ranked.len() as u32).saturating_sub(hidden),
        complete,
        at_ms: 0,
    }))
}

/// The hit for a ranked subject, read from its records; `None` if the reader may see
/// none of them under a name that holds the fragment.
fn hit_for(
    store: &Store,
    r: &Ranked,
    query: &str,
    audience: Audience,
    rules: &PublicationRules,
    today: Date,
) -> Result<Option<NameHit>> {
    let keys = store.subject_keys_limited(&r.subject, MAX_RECORDS_PER_HIT + 1)?;
    let more = keys.len() > MAX_RECORDS_PER_HIT;
    let counted = &keys[..keys.len().min(MAX_RECORDS_PER_HIT)];
    let mut visible = 0u32;
    let mut origins: Vec<DivisionCode> = Vec::new();
    let mut shown = None;
    for rec in store.live_records(counted)? {
        if !rules.visible(&rec, audience, today) {
            continue;
        }
        visible += 1;
        if !origins.contains(&rec.key.origin) {
            origins.push(rec.key.origin);
        }
        if shown.is_none() {
            shown = shown_as(&rec, r, query, audience);
        }
    }
    if shown.is_none() && more {
        // A busy subject whose first records are all under other names (or hidden):
        // look further, in chunks, for one that shows it under this name.
        let all = store.subject_keys_raw(&r.subject)?;
        for chunk in all[counted.len()..].chunks(64) {
            shown = store
                .live_records(chunk)?
                .iter()
                .filter(|rec| rules.visible(rec, audience, today))
                .find_map(|rec| shown_as(rec, r, query, audience));
            if shown.is_some() {
                break;
            }
        }
    }
    let Some((name, id, kind)) = shown else {
        return Ok(None);
    };
    origins.sort_unstable();
    Ok(Some(NameHit {
        exact: r.name == query,
        name: name_for(kind, &name, audience),
        subject: id_for(&id, audience),
        kind: kind.as_str().to_string(),
        records: visible,
        more,
        origins,
    }))
}

/// The name, identifier and kind a record shows its subject under, if that is the
/// ranked subject under a name holding the fragment (and not a natural person for the
/// public).
fn shown_as(
    rec: &credithub_protocol::record::Record,
    r: &Ranked,
    query: &str,
    audience: Audience,
) -> Option<(String, SubjectId, SubjectKind)> {
    let b = rec.body.as_ref()?;
    let person_hidden =
        audience == Audience::Public && b.subject.kind == SubjectKind::NaturalPerson;
    (b.subject.id.index_key() == r.subject
        && !person_hidden
        && names::normalise(&b.subject.name).contains(query))
    .then(|| (b.subject.name.clone(), b.subject.id, b.subject.kind))
}

#[cfg(test)]
mod tests {
    use credithub_protocol::ids::{ResidentId, Subject};
    use credithub_protocol::testing::sample_body;
    use credithub_protocol::RecordKind;

    use super::*;

    fn today() -> Date {
        Date::new(2024, 6, 1).expect("date")
    }

    #[test]
    fn companies_are_found_by_a_fragment_ranked_and_persons_hidden_from_the_public() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = Store::open(
            dir.path(),
            Some(DivisionCode::parse("320500").expect("code")),
        )
        .expect("store");
        let mut bodies = Vec::new();
        for (n, (name, uscc)) in [
            ("苏州示例科技有限公司", "91110000600037341L"),
            ("示例", "91620105L015101280"),
            ("昆山示例精密机械有限公司", "91340600MA2PBM9HXD"),
            ("苏州其他贸易有限公司", "91310110666007217T"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut b = sample_body(n as u32 + 1, uscc);
            b.subject.name = name.into();
            bodies.push((RecordKind::PENALTY, b));
        }
        let mut person = sample_body(9, "91110000600037341L");
        person.subject = Subject {
            kind: SubjectKind::NaturalPerson,
            name: "示例明".into(),
            id: SubjectId::ResidentId(ResidentId::parse("11010519491231002X").expect("id")),
        };
        bodies.push((RecordKind::PENALTY, person));
        // Repaired: neither published nor shared, so never found.
        let mut repaired = sample_body(10, "91350100M000100Y43");
        repaired.subject.name = "示例修复商贸有限公司".into();
        repaired.status = credithub_protocol::record::RecordStatus::Repaired;
        bodies.push((RecordKind::PENALTY, repaired));
        store.write_local(bodies, 1_000).expect("write");
        let rules = PublicationRules::default();
        let gov = search(&store, "示例", Audience::Government, &rules, today(), 1, 10)
            .expect("store")
            .expect("search");
        let names: Vec<&str> = gov.hits.iter().map(|h| h.name.as_str()).collect();
        assert_eq!(names[0], "示例", "the exact name first: {names:?}");
        assert_eq!(gov.total, 4, "{names:?}");
        assert!(gov.hits.iter().any(|h| h.kind == "natural-person"));
        let public = search(&store, "示例", Audience::Public, &rules, today(), 1, 10)
            .expect("store")
            .expect("search");
        assert!(public.hits.iter().all(|h| h.kind != "natural-person"));
        assert_eq!(public.total, 3);
        // Paged.
        let second = search(&store, "示例", Audience::Government, &rules, today(), 2, 3)
            .expect("store")
            .expect("search");
        assert_eq!(second.hits.len(), 1);
        // Several pairs: only names holding the whole fragment.
        let three = search(
            &store,
            "示例科",
            Audience::Government,
            &rules,
            today(),
            1,
            10,
        )
        .expect("store")
        .expect("search");
        assert_eq!(three.total, 1);
        assert!(matches!(
            search(&store, "示", Audience::Government, &rules, today(), 1, 10).expect("store"),
            Err(SearchError::TooShort(_))
        ));
        assert!(matches!(
            search(
                &store,
                "有限公司",
                Audience::Government,
                &rules,
                today(),
                1,
                10
            )
            .expect("store"),
            Err(SearchError::TooCommon(_))
        ));
        assert!(store.verify(|_| {}).expect("verify").is_clean());
        // A renamed subject leaves the old name's entries.
        let mut renamed = sample_body(4, "91310110666007217T");
        renamed.subject.name = "苏州新名贸易有限公司".into();
        store
            .write_local(vec![(RecordKind::PENALTY, renamed)], 2_000)
            .expect("write");
        let other = search(&store, "其他", Audience::Government, &rules, today(), 1, 10)
            .expect("store")
            .expect("search");
        assert_eq!(other.total, 0);
        assert!(store.verify(|_| {}).expect("verify").is_clean());
    }
}
