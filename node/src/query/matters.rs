//! The catalogue of matters (目录清单) a node is configured with (`matters_file`): which
//! unit must report which kinds of record to which origin, and how often. The accounts
//! ([`super::accounts`]) count what each obliged unit reported, so that a report card
//! names the units that reported nothing in a period they owed (零报送).

use std::path::Path;

use credithub_protocol::accounts::{Frequency, Month};
use credithub_protocol::{DivisionCode, RecordKind, Uscc};
use serde::Deserialize;

/// The file's form.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCatalogue {
    #[serde(default)]
    matter: Vec<RawMatter>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatter {
    unit: String,
    #[serde(default)]
    uscc: Option<String>,
    kinds: Vec<String>,
    frequency: String,
    #[serde(default)]
    origin: Option<String>,
    #[serde(default)]
    since: Option<String>,
}

/// One matter: a unit's obligation to report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matter {
    /// The obliged unit's name.
    pub unit: String,
    /// Its USCC: when given, records are matched to the unit by it, else by name.
    pub uscc: Option<Uscc>,
    /// The kinds it must report.
    pub kinds: Vec<RecordKind>,
    /// How often.
    pub frequency: Frequency,
    /// The origin it reports to (by default the node's jurisdiction).
    pub origin: DivisionCode,
    /// The first month it is obliged for.
    pub since: Option<Month>,
}

/// The catalogue.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matters {
    /// Its matters, in the file's order.
    pub matters: Vec<Matter>,
}

/// A catalogue that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("catalogue of matters {file}: {message}")]
pub struct MattersError {
    /// The file.
    pub file: String,
    /// What is wrong, naming the matter.
    pub message: String,
}

impl Matters {
    /// Reads and checks `file` for a node of jurisdiction `own`: every kind, frequency,
    /// USCC and month must read, and every origin lie inside `own`.
    pub fn load(file: &Path, own: DivisionCode) -> Result<Matters, MattersError> {
        let err = |message: String| MattersError {
            file: file.display().to_string(),
            message,
        };
        let raw: RawCatalogue = config::Config::builder()
            .add_source(config::File::from(file.to_path_buf()).format(config::FileFormat::Toml))
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| err(e.to_string()))?;
        let mut matters = Vec::with_capacity(raw.matter.len());
        for (i, m) in raw.matter.into_iter().enumerate() {
            let at = |what: String| err(format!("matter[{i}] ({}): {what}", m.unit));
            if m.unit.trim().is_empty() {
                return Err(at("unit: empty".into()));
            }
            if m.kinds.is_empty() {
                return Err(at("kinds: none given".into()));
            }
            let kinds = m
                .kinds
                .iter()
                .map(|k| {
                    RecordKind::parse(k).ok_or_else(|| at(format!("kinds: unknown kind {k:?}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let frequency = Frequency::parse(&m.frequency).ok_or_else(|| {
                at(format!(
                    "frequency: {:?} is not monthly, quarterly or yearly",
                    m.frequency
                ))
            })?;
            let uscc = m
                .uscc
                .as_deref()
                .map(|u| Uscc::parse(u).map_err(|e| at(format!("uscc {u:?}: {e}"))))
                .transpose()?;
            let origin = match m.origin.as_deref() {
                None => own,
                Some(o) => DivisionCode::parse(o).map_err(|e| at(format!("origin {o:?}: {e}")))?,
            };
            if !own.contains(origin) {
                return Err(at(format!(
                    "origin {origin} lies outside this node's jurisdiction {own}"
                )));
            }
            let since = m
                .since
                .as_deref()
                .map(|s| s.parse::<Month>().map_err(|e| at(format!("since: {e}"))))
                .transpose()?;
            matters.push(Matter {
                unit: m.unit.trim().to_string(),
                uscc,
                kinds,
                frequency,
                origin,
                since,
            });
        }
        Ok(Matters { matters })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Matters, MattersError> {
        let dir = tempfile::tempdir().expect("tmp");
        let f = dir.path().join("matters.toml");
        std::fs::write(&f, text).expect("write");
        Matters::load(&f, DivisionCode::parse("320500").expect("code"))
    }

    #[test]
    fn the_example_catalogue_loads() {
        let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/config/matters.toml");
        let m = Matters::load(&f, DivisionCode::parse("320500").expect("code")).expect("loads");
        assert!(m.matters.len() >= 3);
        assert!(m
            .matters
            .iter()
            .any(|m| m.frequency == Frequency::Quarterly));
    }

    #[test]
    fn bad_matters_are_refused_with_their_place() {
        let ok = "[[matter]]\nunit = \"苏州市交通运输局\"\nkinds = [\"penalty\"]\nfrequency = \"每月\"\n";
        let m = load(ok).expect("loads");
        assert_eq!(m.matters[0].frequency, Frequency::Monthly);
        assert_eq!(m.matters[0].origin.to_string(), "320500");
        for (bad, says) in [
            (ok.replace("penalty", "fine"), "unknown kind"),
            (ok.replace("每月", "weekly"), "frequency"),
            (format!("{ok}origin = \"320100\"\n"), "outside"),
            (format!("{ok}uscc = \"91110000600037341N\"\n"), "uscc"),
            (format!("{ok}since = \"2026-13\"\n"), "since"),
            (format!("{ok}color = \"red\"\n"), "color"),
        ] {
            let e = load(&bad).expect_err(&bad).to_string();
            assert!(
                e.contains(says) && e.contains("matter[0]") || says == "color",
                "{e}"
            );
            assert!(e.contains(says), "{e}");
        }
    }
}
