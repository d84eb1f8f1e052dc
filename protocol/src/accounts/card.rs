//! The monthly notice (通报) made of a subtree's accounts: a row per unit, the units
//! that owed a report and made none (零报送), totals per province and per city, and
//! the cities ranked by the indicators of city monitoring (城市信用状况监测).
//!
//! Totals count each record once, under its data-source unit (the deciding authority
//! when the record names no other); the authority rows show the same records from the
//! deciding side.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::catalogue::Due;
use super::{MonitorMonth, Month, NodeAccounts, SubtreeAccounts, UnitMonth, UnitRole};
use crate::ids::{DivisionCode, DivisionLevel};
use crate::record::RecordKind;

/// Refusal reasons listed per unit row at most (the most frequent).
pub const LISTED_REASONS: usize = 3;

/// One unit's figures for the month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnitRow {
    /// The province of the records' origin.
    pub province: DivisionCode,
    /// The city (prefecture) of the origin, when the origin is a city or county.
    pub city: Option<DivisionCode>,
    /// The origin.
    pub origin: DivisionCode,
    /// The unit's role.
    pub role: UnitRole,
    /// Its name.
    pub name: String,
    /// Its USCC, when the records give it.
    pub uscc: Option<String>,
    /// The figures.
    pub figures: Figures,
    /// The most frequent refusal reasons, with their counts.
    pub reasons: Vec<(String, u64)>,
}

/// The figures of a row, derived from summed [`UnitMonth`]s.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    /// Live records decided in the month.
    pub records: u64,
    /// Of which penalties.
    pub penalties: u64,
    /// Of which licences.
    pub licences: u64,
    /// Records whose delay was measured.
    pub measured: u64,
    /// Of those, on time.
    pub on_time: u64,
    /// `on_time / measured`.
    pub on_time_share: Option<f64>,
    /// Median delay, calendar days.
    pub delay_p50_days: Option<u32>,
    /// 90th-percentile delay, calendar days.
    pub delay_p90_days: Option<u32>,
    /// Share of optional fields filled.
    pub completeness: Option<f64>,
    /// Rows refused at import.
    pub rejected: u64,
}

impl Figures {
    /// The figures of summed month accounts.
    pub fn of(m: &UnitMonth) -> Figures {
        let kind = |k: RecordKind| m.by_kind.get(&k.code()).copied().unwrap_or(0);
        Figures {
            records: m.records,
            penalties: kind(RecordKind::PENALTY),
            licences: kind(RecordKind::LICENCE),
            measured: m.measured,
            on_time: m.on_time,
            on_time_share: m.on_time_share(),
            delay_p50_days: m.delay_quantile(0.5),
            delay_p90_days: m.delay_quantile(0.9),
            completeness: m.completeness(),
            rejected: m.rejected,
        }
    }
}

/// A unit that owed a report for the period ending with the month and made none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilentRow {
    /// The origin it reports to.
    pub origin: DivisionCode,
    /// The unit's name.
    pub name: String,
    /// Its USCC, when the catalogue gives one.
    pub uscc: Option<String>,
    /// The kinds it owed (names).
    pub kinds: Vec<String>,
    /// How often it must report.
    pub frequency: String,
    /// The period it reported nothing in (`2026-01..2026-03`).
    pub period: String,
    /// The node whose catalogue names it.
    pub node: String,
}

/// A province's or a city's totals.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaRow {
    /// The province or city.
    pub code: DivisionCode,
    /// Its name.
    pub name: String,
    /// Data-source units with records or refusals in the month.
    pub units: u64,
    /// Totals over those units.
    pub figures: Figures,
    /// Obligations of the catalogue due at the end of the month.
    pub obliged: u64,
    /// Of which with nothing reported (零报送).
    pub silent: u64,
    /// Lists, objections and repairs.
    pub monitor: MonitorMonth,
}

impl AreaRow {
    /// Objections decided within their deadline, as a share of those filed.
    pub fn objections_in_time_share(&self) -> Option<f64> {
        let m = &self.monitor;
        (m.objections > 0).then(|| m.objections_in_time as f64 / m.objections as f64)
    }

    /// Obligations met (something reported), as a share of those due.
    pub fn catalogue_share(&self) -> Option<f64> {
        (self.obliged > 0).then(|| (self.obliged - self.silent) as f64 / self.obliged as f64)
    }

    /// The city-monitoring score, 0 to 100: the mean of the on-time share, the
    /// completeness, the objections decided in time and the obligations met, over those
    /// that apply this month (`None` when none does).
    pub fn score(&self) -> Option<f64> {
        let parts: Vec<f64> = [
            self.figures.on_time_share,
            self.figures.completeness,
            self.objections_in_time_share(),
            self.catalogue_share(),
        ]
        .into_iter()
        .flatten()
        .collect();
        (!parts.is_empty()).then(|| 100.0 * parts.iter().sum::<f64>() / parts.len() as f64)
    }
}

/// A city's place in the ranking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CityRank {
    /// 1 for the best score; cities without a score come last, unranked.
    pub rank: Option<u32>,
    /// Its score (see [`AreaRow::score`]).
    pub score: Option<f64>,
    /// Its totals.
    pub area: AreaRow,
}

/// Which node's accounts a card is made of, and how old they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceNode {
    /// The node's name.
    pub name: String,
    /// Its jurisdiction.
    pub jurisdiction: DivisionCode,
    /// When it computed its accounts (ms since the epoch).
    pub at_ms: u64,
}

/// The monthly notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportCard {
    /// The month.
    pub month: Month,
    /// The nodes whose accounts it is made of.
    pub nodes: Vec<SourceNode>,
    /// Every unit with records or refusals in the month, by province, city, origin,
    /// role and name.
    pub units: Vec<UnitRow>,
    /// Units that owed a report and made none.
    pub silent: Vec<SilentRow>,
    /// Totals per province.
    pub provinces: Vec<AreaRow>,
    /// Cities, best first.
    pub cities: Vec<CityRank>,
}

/// The city (prefecture) of an origin, if it is a city or a county.
fn city_of(origin: DivisionCode) -> Option<DivisionCode> {
    matches!(
        origin.level(),
        DivisionLevel::Prefecture | DivisionLevel::County
    )
    .then(|| origin.prefecture())
}

#[derive(Default)]
struct Area {
    units: u64,
    sum: UnitMonth,
    obliged: u64,
    silent: u64,
    monitor: MonitorMonth,
}

impl Area {
    fn row(self, code: DivisionCode) -> AreaRow {
        AreaRow {
            code,
            name: code.name().unwrap_or("").to_string(),
            units: self.units,
            figures: Figures::of(&self.sum),
            obliged: self.obliged,
            silent: self.silent,
            monitor: self.monitor,
        }
    }
}

/// The areas an origin counts in: its province, and its city if it has one.
fn areas_of(origin: DivisionCode) -> impl Iterator<Item = (bool, DivisionCode)> {
    let province = (origin.level() != DivisionLevel::National).then(|| origin.province());
    province
        .map(|p| (false, p))
        .into_iter()
        .chain(city_of(origin).map(|c| (true, c)))
}

fn add_node(
    n: &NodeAccounts,
    month: Month,
    card: &mut ReportCard,
    areas: &mut BTreeMap<(bool, DivisionCode), Area>,
) {
    for u in &n.units {
        let Some(m) = u.months.get(&month) else {
            continue;
        };
        let mut reasons: Vec<(String, u64)> =
            m.reasons.iter().map(|(r, c)| (r.clone(), *c)).collect();
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        reasons.truncate(LISTED_REASONS);
        card.units.push(UnitRow {
            province: u.origin.province(),
            city: city_of(u.origin),
            origin: u.origin,
            role: u.role,
            name: u.name.clone(),
            uscc: u.uscc.clone(),
            figures: Figures::of(m),
            reasons,
        });
        if u.role == UnitRole::Source {
            for key in areas_of(u.origin) {
                let a = areas.entry(key).or_default();
                a.units += 1;
                a.sum.merge(m);
            }
        }
    }
    for o in &n.obligations {
        let Due::Reported(reported) = o.due(month) else {
            continue;
        };
        for key in areas_of(o.origin) {
            let a = areas.entry(key).or_default();
            a.obliged += 1;
            a.silent += u64::from(reported == 0);
        }
        if reported == 0 {
            let (first, last) = month.period(o.frequency.months());
            card.silent.push(SilentRow {
                origin: o.origin,
                name: o.name.clone(),
                uscc: o.uscc.clone(),
                kinds: o.kinds.iter().map(|k| k.name()).collect(),
                frequency: o.frequency.as_str().to_string(),
                period: if first == last {
                    first.to_string()
                } else {
                    format!("{first}..{last}")
                },
                node: n.name.clone(),
            });
        }
    }
    for (origin, months) in &n.monitor {
        if let Some(m) = months.get(&month) {
            for key in areas_of(*origin) {
                areas.entry(key).or_default().monitor.merge(m);
            }
        }
    }
}

impl ReportCard {
    /// The card of `month` from the accounts of a subtree.
    pub fn of(accounts: &SubtreeAccounts, month: Month) -> ReportCard {
        let mut card = ReportCard {
            month,
            nodes: Vec::new(),
            units: Vec::new(),
            silent: Vec::new(),
            provinces: Vec::new(),
            cities: Vec::new(),
        };
        let mut areas: BTreeMap<(bool, DivisionCode), Area> = BTreeMap::new();
        for n in &accounts.nodes {
            card.nodes.push(SourceNode {
                name: n.name.clone(),
                jurisdiction: n.jurisdiction,
                at_ms: n.at_ms,
            });
            add_node(n, month, &mut card, &mut areas);
        }
        card.units.sort_by(|a, b| {
            (a.province, a.city, a.origin, a.role, &a.name, &a.uscc)
                .cmp(&(b.province, b.city, b.origin, b.role, &b.name, &b.uscc))
        });
        card.silent
            .sort_by(|a, b| (a.origin, &a.name).cmp(&(b.origin, &b.name)));
        for ((is_city, code), area) in areas {
            let row = area.row(code);
            if is_city {
                card.cities.push(CityRank {
                    rank: None,
                    score: row.score(),
                    area: row,
                });
            } else {
                card.provinces.push(row);
            }
        }
        rank(&mut card.cities);
        card
    }
}

/// Orders cities by score (best first; ties by records, then code) and numbers them;
/// equal scores share a rank.
fn rank(cities: &mut [CityRank]) {
    cities.sort_by(|a, b| {
        let by_score = match (a.score, b.score) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        };
        by_score
            .then_with(|| b.area.figures.records.cmp(&a.area.figures.records))
            .then_with(|| a.area.code.cmp(&b.area.code))
    });
    let mut previous: Option<(f64, u32)> = None;
    for (i, c) in cities.iter_mut().enumerate() {
        let Some(score) = c.score else {
            continue;
        };
        let rank = match previous {
            Some((s, r)) if s == score => r,
            _ => i as u32 + 1,
        };
        c.rank = Some(rank);
        previous = Some((score, rank));
    }
}
