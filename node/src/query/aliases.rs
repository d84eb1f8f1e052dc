//! One subject under all its codes: the identifiers a subject's records are filed
//! under, found from any one of them.
//!
//! A company's records may be filed under its USCC, under the organisation code inside
//! it (files from before 2016), under its business registration or tax number. Two
//! kinds of link join them:
//!
//! - **embedded**: the organisation code inside every USCC (positions 9-17) and every
//!   tax number (positions 7-15). The store files each record under these too, so a
//!   record filed under a USCC is found by its organisation code and the other way
//!   round with one index read;
//! - **mappings** (新旧代码映射, kind [`RecordKind::SUBJECT_MAPPING`]): a record whose
//!   subject is the USCC and whose further identifiers are its older codes; it is
//!   filed under each of them, so reading any one finds the mapping and through it
//!   the others. Mappings travel like any record.
//!
//! [`resolve`] follows these links from the identifier asked, breadth first, up to
//! [`MAX_ALIASES`] identifiers. When they lead to more than one USCC, two mappings (or
//! a mapping and a USCC) contradict each other: the contradiction is reported and
//! nothing is merged — the answer keeps only the records filed under the identifier
//! asked (and, when it is a USCC, under that USCC's own codes).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use credithub_protocol::ids::SubjectId;
use credithub_protocol::record::{Details, Record, RecordKey, RecordKind, RecordStatus};
use serde::{Deserialize, Serialize};

use crate::store::{Result, Store};

/// Identifiers followed at most from one query.
pub const MAX_ALIASES: usize = 32;

/// How an alias was reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum AliasSource {
    /// The organisation code inside a USCC or a tax number.
    Embedded,
    /// A code mapping record (its key).
    Mapping(String),
    /// A record that names both codes (its key): filed under the USCC with the older
    /// code beside it.
    FiledWith(String),
}

/// One identifier the answer went through besides the one asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alias {
    /// The identifier (a natural person's number masked as the reader requires; only
    /// organisations have aliases).
    pub id: String,
    /// Its kind (`org-code`, `reg-no`, `tax-no`, `uscc`).
    pub kind: String,
    /// The identifier it was reached from.
    pub from: String,
    /// How.
    pub source: AliasSource,
}

/// Two links that name different USCCs for one subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AliasConflict {
    /// The USCCs the codes lead to.
    pub usccs: Vec<String>,
    /// The mappings involved (their keys).
    pub mappings: Vec<String>,
    /// In words.
    pub message: String,
}

/// What [`resolve`] found.
#[derive(Debug, Clone, Default)]
pub struct Resolution {
    /// The live records found, each once, with their arrival here, in key order.
    pub records: Vec<(Record, u64)>,
    /// The identifiers followed besides the one asked, in the order reached.
    pub aliases: Vec<Alias>,
    /// Contradictions among the links; when there is one, `records` holds only what is
    /// filed under the identifier asked.
    pub conflicts: Vec<AliasConflict>,
}

/// Every record of the subject `asked` names, under all its codes (see the module
/// docs).
pub fn resolve(store: &Store, asked: &SubjectId) -> Result<Resolution> {
    let mut seen: BTreeSet<SubjectId> = BTreeSet::from([*asked]);
    let mut queue: VecDeque<SubjectId> = VecDeque::from([*asked]);
    let mut aliases: Vec<(SubjectId, SubjectId, AliasSource)> = Vec::new();
    let mut found: BTreeMap<RecordKey, Record> = BTreeMap::new();
    // The records about the asked identifier itself (a contradiction's fallback).
    let mut direct: BTreeSet<RecordKey> = BTreeSet::new();
    let own = own_codes(asked);
    let mut usccs: BTreeSet<SubjectId> = BTreeSet::new();
    let mut mappings: BTreeSet<RecordKey> = BTreeSet::new();
    let mut add = |id: SubjectId,
                   from: SubjectId,
                   source: AliasSource,
                   seen: &mut BTreeSet<SubjectId>,
                   queue: &mut VecDeque<SubjectId>| {
        if seen.len() < MAX_ALIASES && seen.insert(id) {
            aliases.push((id, from, source));
            queue.push_back(id);
        }
    };
    while let Some(id) = queue.pop_front() {
        if let SubjectId::Uscc(_) = id {
            usccs.insert(id);
        }
        if let (SubjectId::Uscc(_) | SubjectId::TaxNo(_), Some(org)) = (id, id.embedded_org_code())
        {
            add(
                SubjectId::OrgCode(org),
                id,
                AliasSource::Embedded,
                &mut seen,
                &mut queue,
            );
        }
        // Records already found under an earlier code are not read again: most of a
        // company's records are filed under its USCC and the code inside it alike.
        let new: Vec<RecordKey> = store
            .subject_keys(&id)?
            .into_iter()
            .filter(|k| !found.contains_key(k) && !mappings.contains(k))
            .collect();
        if new.is_empty() {
            continue;
        }
        for record in store.live_records(&new)? {
            let Some(body) = &record.body else { continue };
            if own.contains(&body.subject.id) || body.other_ids.contains(asked) {
                direct.insert(record.key);
            }
            if let Details::Mapping(_) = body.details {
                if body.status != RecordStatus::Active {
                    continue;
                }
                mappings.insert(record.key);
                let source = AliasSource::Mapping(record.key.to_string());
                for other in std::iter::once(&body.subject.id).chain(&body.other_ids) {
                    add(*other, id, source.clone(), &mut seen, &mut queue);
                }
                continue;
            }
            // A record filed under an older code whose subject is a USCC names that
            // USCC as the code's (the organisation code inside it, or a code the
            // source carried beside it).
            if let SubjectId::Uscc(_) = body.subject.id {
                if !matches!(id, SubjectId::Uscc(_)) {
                    usccs.insert(body.subject.id);
                    let source = if body.subject.id.embedded_org_code() == id.embedded_org_code() {
                        AliasSource::Embedded
                    } else {
                        AliasSource::FiledWith(record.key.to_string())
                    };
                    add(body.subject.id, id, source, &mut seen, &mut queue);
                }
            }
            found.entry(record.key).or_insert(record);
        }
    }
    let mut conflicts = Vec::new();
    if usccs.len() > 1 {
        let names: Vec<String> = usccs.iter().map(ToString::to_string).collect();
        let maps: Vec<String> = mappings.iter().map(ToString::to_string).collect();
        conflicts.push(AliasConflict {
            message: format!(
                "the codes of {} lead to {} USCCs ({}){}: not merged; only the records filed under {} are shown",
                asked,
                names.len(),
                names.join(", "),
                if maps.is_empty() {
                    String::new()
                } else {
                    format!(" through the mappings {}", maps.join(", "))
                },
                asked
            ),
            usccs: names,
            mappings: maps,
        });
        found.retain(|k, _| direct.contains(k));
    }
    let records: Vec<Record> = found.into_values().collect();
    let versions: Vec<_> = records.iter().map(|r| (r.key, r.version)).collect();
    let arrivals = store.arrivals(&versions)?;
    Ok(Resolution {
        records: records.into_iter().zip(arrivals).collect(),
        aliases: aliases
            .into_iter()
            .map(|(id, from, source)| Alias {
                id: id.to_string(),
                kind: id.kind_name().to_string(),
                from: from.to_string(),
                source,
            })
            .collect(),
        conflicts,
    })
}

/// The identifiers that are the asked subject's own beyond doubt: itself and, for a
/// USCC or tax number, the organisation code inside it.
fn own_codes(asked: &SubjectId) -> Vec<SubjectId> {
    let mut out = vec![*asked];
    if let (SubjectId::Uscc(_) | SubjectId::TaxNo(_), Some(org)) =
        (asked, asked.embedded_org_code())
    {
        out.push(SubjectId::OrgCode(org));
    }
    out
}

/// Whether a record is a code mapping (shown as aliases, not as a record).
pub fn is_mapping(kind: RecordKind) -> bool {
    kind == RecordKind::SUBJECT_MAPPING
}

#[cfg(test)]
mod tests {
    use credithub_protocol::ids::{OrgCode, SubjectKind, Uscc};
    use credithub_protocol::record::MappingDetails;
    use credithub_protocol::testing::sample_body;
    use credithub_protocol::{DivisionCode, RecordBody};

    use super::*;

    const USCC: &str = "91110000600037341L";

    fn open(dir: &tempfile::TempDir) -> Store {
        Store::open(
            dir.path(),
            Some(DivisionCode::from_u32(320500).expect("code")),
        )
        .expect("store")
    }

    fn filed_under(n: u32, id: SubjectId) -> RecordBody {
        let mut b = sample_body(n, USCC);
        b.subject.id = id;
        b
    }

    fn mapping(uscc: &str, old: SubjectId) -> RecordBody {
        let mut b = sample_body(0, uscc);
        b.decision_no = String::new();
        b.details = Details::Mapping(MappingDetails {
            note: String::new(),
        });
        b.other_ids = vec![old];
        b
    }

    fn keys(r: &Resolution) -> Vec<String> {
        r.records.iter().map(|(r, _)| r.key.to_string()).collect()
    }

    #[test]
    fn a_company_is_found_under_its_old_organisation_code_from_either_code() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = open(&dir);
        let uscc = SubjectId::Uscc(Uscc::parse(USCC).expect("uscc"));
        let org = SubjectId::OrgCode(OrgCode::parse("600037341").expect("org"));
        store
            .write_local(
                vec![
                    (RecordKind::PENALTY, filed_under(1, uscc)),
                    (RecordKind::PENALTY, filed_under(2, org)),
                ],
                1_000,
            )
            .expect("write");
        for asked in [uscc, org] {
            let r = resolve(&store, &asked).expect("resolve");
            assert_eq!(r.records.len(), 2, "asked {asked:?}: {:?}", keys(&r));
            assert!(r.conflicts.is_empty());
            assert!(
                !r.aliases.is_empty(),
                "the answer names the codes it went through"
            );
        }
        assert!(store.verify(|_| {}).expect("verify").is_clean());
    }

    #[test]
    fn a_mapping_joins_a_registration_number_and_a_contradiction_is_not_merged() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = open(&dir);
        let uscc = SubjectId::Uscc(Uscc::parse(USCC).expect("uscc"));
        let reg = credithub_protocol::ids::RegNo::with_check("11000000000001")
            .map(SubjectId::RegNo)
            .expect("reg no");
        store
            .write_local(
                vec![
                    (RecordKind::PENALTY, filed_under(1, uscc)),
                    (RecordKind::PENALTY, filed_under(2, reg)),
                    (RecordKind::SUBJECT_MAPPING, mapping(USCC, reg)),
                ],
                1_000,
            )
            .expect("write");
        for asked in [uscc, reg] {
            let r = resolve(&store, &asked).expect("resolve");
            let penalties = r
                .records
                .iter()
                .filter(|(r, _)| r.key.kind == RecordKind::PENALTY)
                .count();
            assert_eq!(penalties, 2, "asked {asked:?}");
            assert!(r
                .aliases
                .iter()
                .any(|a| matches!(a.source, AliasSource::Mapping(_))));
        }
        // A second mapping names another USCC for the same registration number.
        let other = "91310110666007217T";
        let mut second = mapping(other, reg);
        second.subject.kind = SubjectKind::LegalPerson;
        store
            .write_local(vec![(RecordKind::SUBJECT_MAPPING, second)], 2_000)
            .expect("write");
        let r = resolve(&store, &reg).expect("resolve");
        assert_eq!(r.conflicts.len(), 1, "{r:?}");
        assert_eq!(r.conflicts[0].usccs.len(), 2);
        // Only what is filed under the registration number itself remains.
        let penalties: Vec<_> = r
            .records
            .iter()
            .filter(|(r, _)| r.key.kind == RecordKind::PENALTY)
            .collect();
        assert_eq!(penalties.len(), 1);
        assert_eq!(
            penalties[0].0.body.as_ref().map(|b| b.subject.id),
            Some(reg)
        );
    }
}
