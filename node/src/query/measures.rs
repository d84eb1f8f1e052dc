//! Joint reward and punishment measures: a catalogue of memoranda (which list kinds
//! they apply to, and which measures follow for which action, with their legal
//! basis), loaded from configuration, and the check "for this subject and this
//! action, which entries apply right now and which measures follow".

use std::path::Path;

use credithub_protocol::lifecycle::PublicationRules;
use credithub_protocol::record::Details;
use credithub_protocol::{Date, Record, RecordKind};
use serde::{Deserialize, Serialize};

use super::RecordView;

/// The catalogue: memoranda signed by departments.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// The memoranda.
    #[serde(default)]
    pub memorandum: Vec<Memorandum>,
}

/// One memorandum (合作备忘录).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Memorandum {
    /// Its title.
    pub name: String,
    /// Its document number or legal basis.
    pub basis: String,
    /// The record kinds it applies to (`black-list`, `dishonest-debtor`, `red-list`, …).
    pub kinds: Vec<String>,
    /// If not empty, only list entries whose list name contains one of these.
    #[serde(default)]
    pub lists: Vec<String>,
    /// The measures it sets.
    pub measures: Vec<Measure>,
}

/// One measure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measure {
    /// The action it concerns (`government-procurement`, `company-director`,
    /// `high-speed-rail`, `fast-track-approval`, …).
    pub action: String,
    /// What follows (限制参与政府采购, …).
    pub measure: String,
    /// The clause that sets it, if more precise than the memorandum's basis.
    #[serde(default)]
    pub basis: Option<String>,
}

/// Why the catalogue could not be loaded.
#[derive(Debug, thiserror::Error)]
#[error("measures catalogue {file}: {message}")]
pub struct CatalogueError {
    /// The file.
    pub file: String,
    /// What is wrong, with the key where known.
    pub message: String,
}

impl Catalogue {
    /// Loads a catalogue from a TOML file and checks its kinds.
    pub fn load(file: &Path) -> Result<Catalogue, CatalogueError> {
        let err = |message: String| CatalogueError {
            file: file.display().to_string(),
            message,
        };
        let c: Catalogue = config::Config::builder()
            .add_source(config::File::from(file.to_path_buf()).format(config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| err(e.to_string()))?;
        for (i, m) in c.memorandum.iter().enumerate() {
            for k in &m.kinds {
                if RecordKind::parse(k).is_none() {
                    return Err(err(format!(
                        "memorandum[{i}] ({}): kinds: unknown record kind {k:?}",
                        m.name
                    )));
                }
            }
            if m.measures.is_empty() {
                return Err(err(format!("memorandum[{i}] ({}): no measures", m.name)));
            }
        }
        Ok(c)
    }

    /// Every action some measure concerns.
    pub fn actions(&self) -> Vec<String> {
        let mut a: Vec<String> = self
            .memorandum
            .iter()
            .flat_map(|m| m.measures.iter().map(|x| x.action.clone()))
            .collect();
        a.sort();
        a.dedup();
        a
    }
}

/// One measure that applies, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// The action.
    pub action: String,
    /// The measure.
    pub measure: String,
    /// Its legal basis.
    pub basis: String,
    /// The memorandum.
    pub memorandum: String,
    /// The record that triggers it.
    pub record: RecordView,
}

/// The answer to a check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckAnswer {
    /// The subject as the reader may see it.
    pub subject: String,
    /// The action asked about (all actions when `None`).
    pub action: Option<String>,
    /// The day the check is for.
    pub date: Option<Date>,
    /// The measures that apply.
    pub applies: Vec<Applied>,
    /// Records about the subject considered.
    pub records_considered: u32,
}

/// Which measures of `catalogue` apply today to a subject whose records (visible to
/// the reader) are `records` with their views.
pub fn check(
    catalogue: &Catalogue,
    rules: &PublicationRules,
    records: &[(Record, RecordView)],
    action: Option<&str>,
    today: Date,
) -> Vec<Applied> {
    let mut out = Vec::new();
    for (r, v) in records {
        if !rules.counts_for_measures(r, today) {
            continue;
        }
        let list_name = match r.body.as_ref().map(|b| &b.details) {
            Some(Details::ListEntry(l)) => Some(l.list_name.as_str()),
            Some(Details::Listing(l)) => Some(l.list_name.as_str()),
            _ => None,
        };
        for m in &catalogue.memorandum {
            let kind_matches = m
                .kinds
                .iter()
                .any(|k| RecordKind::parse(k) == Some(r.key.kind));
            let list_matches = m.lists.is_empty()
                || list_name.is_some_and(|n| m.lists.iter().any(|l| n.contains(l.as_str())));
            if !(kind_matches && list_matches) {
                continue;
            }
            for x in m
                .measures
                .iter()
                .filter(|x| action.is_none_or(|a| a == x.action))
            {
                out.push(Applied {
                    action: x.action.clone(),
                    measure: x.measure.clone(),
                    basis: x.basis.clone().unwrap_or_else(|| m.basis.clone()),
                    memorandum: m.name.clone(),
                    record: v.clone(),
                });
            }
        }
    }
    out
}
