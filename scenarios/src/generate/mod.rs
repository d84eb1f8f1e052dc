//! Realistic synthetic records for tests, demos and benchmarks.
//!
//! A [`Generator`] is deterministic from its seed. It expands its jurisdiction into
//! places and authorities, builds a pool of subjects (organisations, individual
//! businesses, natural persons) with valid identifiers, and then produces record bodies
//! one at a time, so that millions of records need memory only for the pool.
//! [`write_csv`] writes bodies in the national 双公示 CSV format (and [`write_xlsx`] as
//! a workbook), optionally with deliberately broken rows; [`GenerateArgs`] and [`run`] are the `scenarios generate`
//! command.

mod catalog;
mod cli;
mod csvfile;
mod listfile;
mod lists;
mod older;
mod penalty;
mod places;
mod records;
mod subjects;
mod words;
mod xlsxfile;

use std::collections::HashMap;

use credithub_protocol::ids::{DivisionCode, Subject};
use credithub_protocol::{Date, RecordBody, RecordKind};
use rand::distributions::{Distribution, WeightedIndex};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use cli::{run, GenerateArgs, GeneratedFile, OutputFormat, Summary};
pub use csvfile::{
    fen_to_wan, wan_to_fen, write_csv, BadRow, CsvOptions, CsvReport, Encoding, Fault, FileKind,
    HeaderStyle,
};
pub use listfile::{write_list_csv, ListFile};
pub use xlsxfile::write_xlsx;

use catalog::{AGENCIES, BLACK_LISTS, LICENCES, RED_LISTS};
use places::{Authorities, Places};
use subjects::Pool;

/// Why generation or writing failed.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The origin contains no current division code to place authorities in.
    #[error("jurisdiction {0} contains no current division code")]
    EmptyJurisdiction(DivisionCode),
    /// A setting is out of range.
    #[error("invalid setting: {0}")]
    Config(String),
    /// A body of another kind was given to a CSV file of one kind.
    #[error("a {found} record cannot be written to a {file} file")]
    KindMismatch {
        /// The file's kind.
        file: FileKind,
        /// The body's kind.
        found: RecordKind,
    },
    /// Reading or writing failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The CSV writer failed.
    #[error(transparent)]
    Csv(#[from] csv::Error),
}

/// What to generate: where, how many subjects, which dates.
#[derive(Debug, Clone)]
pub struct GeneratorConfig {
    /// The origin jurisdiction (a county, a prefecture, a province, or national).
    pub origin: DivisionCode,
    /// The number of distinct subjects records are about.
    pub pool_size: usize,
    /// The earliest decision date.
    pub first_date: Date,
    /// The latest decision date (also the "today" of record statuses).
    pub last_date: Date,
    /// How unevenly records spread over subjects: 1 is uniform, 2 (the default) gives
    /// the busiest 1% of subjects about 10% of the records.
    pub skew: f64,
}

impl GeneratorConfig {
    /// Defaults for an origin: 1000 subjects, decisions from 2019-01-01 to 2026-10-31.
    pub fn new(origin: DivisionCode) -> Self {
        GeneratorConfig {
            origin,
            pool_size: 1000,
            first_date: Date::new(2019, 1, 1).unwrap_or_else(|| unreachable!()),
            last_date: Date::new(2026, 10, 31).unwrap_or_else(|| unreachable!()),
            skew: 2.0,
        }
    }

    /// Defaults for generating `n` records: a pool of max(1000, n/2) subjects, so the
    /// population grows with the data as a real register does. With the default skew
    /// most subjects that appear have one or two records and the tail is heavy: the
    /// busiest of a pool of P subjects get on the order of √P records (measured on
    /// 1 M penalties: 38 % of subjects with one record, median 2, 99th percentile 12,
    /// busiest about 1 200).
    pub fn for_count(origin: DivisionCode, n: u64) -> Self {
        let pool_size = usize::try_from(n / 2).unwrap_or(usize::MAX).max(1000);
        GeneratorConfig {
            pool_size,
            ..Self::new(origin)
        }
    }
}

/// Relative shares of record kinds in a generated stream.
#[derive(Debug, Clone)]
pub struct RecordMix {
    kinds: Vec<RecordKind>,
    dist: WeightedIndex<u32>,
}

impl RecordMix {
    /// A mix from `(kind, weight)` pairs; at least one weight must be positive.
    pub fn new(weights: &[(RecordKind, u32)]) -> Result<Self, GenerateError> {
        let dist = WeightedIndex::new(weights.iter().map(|&(_, w)| w))
            .map_err(|e| GenerateError::Config(format!("record mix: {e}")))?;
        Ok(RecordMix {
            kinds: weights.iter().map(|&(k, _)| k).collect(),
            dist,
        })
    }

    /// Only one kind.
    pub fn only(kind: RecordKind) -> Self {
        RecordMix {
            kinds: vec![kind],
            dist: WeightedIndex::new([1u32]).unwrap_or_else(|_| unreachable!()),
        }
    }

    fn sample(&self, rng: &mut ChaCha8Rng) -> RecordKind {
        if self.kinds.len() == 1 {
            return self.kinds[0];
        }
        self.kinds[self.dist.sample(rng)]
    }
}

/// The national proportions, roughly: licences 80%, penalties 14%, debtors 3%, red
/// lists 2%, black lists 1%.
impl Default for RecordMix {
    fn default() -> Self {
        let weights = [
            (RecordKind::LICENCE, 80),
            (RecordKind::PENALTY, 14),
            (RecordKind::RED_LIST, 2),
            (RecordKind::BLACK_LIST, 1),
            (RecordKind::DISHONEST_DEBTOR, 3),
        ];
        Self::new(&weights).unwrap_or_else(|_| unreachable!())
    }
}

/// Weighted choices from the catalogue, built once.
struct Tables {
    penalty_agencies: WeightedIndex<u32>,
    licences: WeightedIndex<u32>,
    red: WeightedIndex<u32>,
    black: WeightedIndex<u32>,
}

impl Tables {
    fn new() -> Self {
        let w = |it: Vec<u32>| WeightedIndex::new(it).unwrap_or_else(|_| unreachable!());
        Tables {
            penalty_agencies: w(AGENCIES.iter().map(|a| a.penalty_weight).collect()),
            licences: w(LICENCES.iter().map(|l| l.weight).collect()),
            red: w(RED_LISTS.iter().map(|l| l.weight).collect()),
            black: w(BLACK_LISTS.iter().map(|l| l.weight).collect()),
        }
    }
}

/// A deterministic generator of record bodies for one origin jurisdiction.
pub struct Generator {
    rng: ChaCha8Rng,
    config: GeneratorConfig,
    places: Places,
    authorities: Authorities,
    pool: Pool,
    tables: Tables,
    serials: HashMap<(u8, u32, u16), u32>,
}

impl Generator {
    /// Builds the places, authorities and subject pool; the same seed and configuration
    /// always give the same records.
    pub fn new(seed: u64, config: GeneratorConfig) -> Result<Self, GenerateError> {
        if config.pool_size == 0 {
            return Err(GenerateError::Config(
                "the subject pool must not be empty".into(),
            ));
        }
        if config.first_date > config.last_date {
            return Err(GenerateError::Config(
                "the first date is after the last date".into(),
            ));
        }
        if !(config.skew >= 1.0 && config.skew <= 16.0) {
            return Err(GenerateError::Config(format!(
                "skew {} is not in 1..=16",
                config.skew
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let places = Places::new(config.origin)?;
        let authorities = Authorities::new(&places, &mut rng);
        let pool = Pool::new(config.pool_size, &places, &mut rng);
        let serials = HashMap::new();
        Ok(Generator {
            rng,
            config,
            places,
            authorities,
            pool,
            tables: Tables::new(),
            serials,
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &GeneratorConfig {
        &self.config
    }

    /// Every subject of the pool (organisations, then individual businesses, then
    /// natural persons; within a class, the most frequently picked first).
    pub fn subjects(&self) -> impl Iterator<Item = &Subject> + '_ {
        self.pool.classes.iter().flatten().map(|m| &m.subject)
    }

    /// One record body of a kind. Kinds without typed details get a generic
    /// market-regulation decision with the kind's name in `extra["kind"]`.
    pub fn record(&mut self, kind: RecordKind) -> RecordBody {
        match kind {
            RecordKind::LICENCE => self.licence(),
            RecordKind::PENALTY => self.penalty(),
            RecordKind::RED_LIST => self.list_entry(true),
            RecordKind::BLACK_LIST => self.list_entry(false),
            RecordKind::DISHONEST_DEBTOR => self.debtor(),
            other => self.other(other),
        }
    }

    /// `n` record bodies with kinds drawn from `mix`, generated lazily.
    pub fn bodies(
        &mut self,
        n: u64,
        mix: &RecordMix,
    ) -> impl Iterator<Item = (RecordKind, RecordBody)> + '_ {
        let mix = mix.clone();
        (0..n).map(move |_| {
            let kind = mix.sample(&mut self.rng);
            (kind, self.record(kind))
        })
    }
}

#[cfg(test)]
mod tests;
