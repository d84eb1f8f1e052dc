//! Search by name: the subjects whose name holds a fragment (a company, an
//! individual business; natural persons only for readers who may see them), ranked
//! and paged.
//!
//! The name index ([`credithub_protocol::names`]) gives the records whose subject's
//! name holds every character pair of the fragment; those whose whole normalised name
//! holds the fragment, and that the reader may see, are grouped by subject. Ranking:
//! the name equal to the fragment first, then names that start with it, then shorter
//! names, then subjects with more records, then by name. At most [`MAX_CANDIDATES`]
//! records are read per search: a fragment found in more names than that is answered
//! from the first ones and marked incomplete, with a hint to say more of the name.

use std::collections::BTreeMap;

use credithub_protocol::ids::{SubjectId, SubjectKind};
use credithub_protocol::lifecycle::{Audience, PublicationRules};
use credithub_protocol::names;
use credithub_protocol::{Date, DivisionCode};
use serde::{Deserialize, Serialize};

use super::{id_for, name_for};
use crate::store::keys::{name_prefix, NAME_ORGANISATION, NAME_PERSON};
use crate::store::{Result, Store};

/// Records read per search at most (for each audience flag searched): enough for
/// several pages of a distinctive fragment, few enough to answer a common one in
/// milliseconds.
pub const MAX_CANDIDATES: usize = 300;

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
    /// Records about it that the reader may see.
    pub records: u32,
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
    /// Subjects found in all (of the records read).
    pub total: u32,
    /// False when more records matched than one search reads: say more of the name.
    pub complete: bool,
    /// When the answer was made (ms since the epoch).
    pub at_ms: u64,
}

struct Group {
    name: String,
    normalised: String,
    kind: SubjectKind,
    records: u32,
    origins: Vec<DivisionCode>,
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
    let mut groups: BTreeMap<SubjectId, Group> = BTreeMap::new();
    let mut complete = true;
    for &flag in flags {
        let prefixes: Vec<_> = pairs.iter().map(|&p| name_prefix(p, flag)).collect();
        let (keys, all) = store.name_candidates(&prefixes, MAX_CANDIDATES)?;
        complete &= all;
        for r in store.live_records(&keys)? {
            let Some(b) = r.body.as_ref() else { continue };
            let normalised = names::normalise(&b.subject.name);
            if !normalised.contains(&query) || !rules.visible(&r, audience, today) {
                continue;
            }
            let g = groups.entry(b.subject.id).or_insert_with(|| Group {
                name: b.subject.name.clone(),
                normalised,
                kind: b.subject.kind,
                records: 0,
                origins: Vec::new(),
            });
            g.records += 1;
            if !g.origins.contains(&r.key.origin) {
                g.origins.push(r.key.origin);
            }
        }
    }
    let mut ranked: Vec<(SubjectId, Group)> = groups.into_iter().collect();
    ranked.sort_by(|(_, a), (_, b)| {
        let rank = |g: &Group| (g.normalised != query, !g.normalised.starts_with(&query));
        rank(a)
            .cmp(&rank(b))
            .then(
                a.normalised
                    .chars()
                    .count()
                    .cmp(&b.normalised.chars().count()),
            )
            .then(b.records.cmp(&a.records))
            .then(a.normalised.cmp(&b.normalised))
    });
    let per_page = per_page.clamp(1, MAX_PER_PAGE);
    let page = page.max(1);
    let total = ranked.len() as u32;
    let hits = ranked
        .into_iter()
        .skip(((page - 1) * per_page) as usize)
        .take(per_page as usize)
        .map(|(id, mut g)| {
            g.origins.sort_unstable();
            NameHit {
                exact: g.normalised == query,
                name: name_for(g.kind, &g.name, audience),
                subject: id_for(&id, audience),
                kind: g.kind.as_str().to_string(),
                records: g.records,
                origins: g.origins,
            }
        })
        .collect();
    Ok(Ok(NameAnswer {
        node: String::new(),
        query,
        audience: Some(audience),
        hits,
        page,
        per_page,
        total,
        complete,
        at_ms: 0,
    }))
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
