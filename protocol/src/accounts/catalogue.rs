//! The catalogue of matters (目录清单): which unit must report which kinds of record,
//! how often; and, per obligation, what the unit reported, so that a unit that
//! reported nothing in a period it owed (零报送) is named.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::Month;
use crate::ids::DivisionCode;
use crate::record::RecordKind;

/// How often an obliged unit must report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Frequency {
    /// Every calendar month.
    Monthly,
    /// Every quarter (January–March, …).
    Quarterly,
    /// Every calendar year.
    Yearly,
}

impl Frequency {
    /// Months per period.
    pub fn months(self) -> u8 {
        match self {
            Frequency::Monthly => 1,
            Frequency::Quarterly => 3,
            Frequency::Yearly => 12,
        }
    }

    /// Parses `monthly`, `quarterly`, `yearly` (or 月, 季, 年 and 每月, 每季度, 每年).
    pub fn parse(s: &str) -> Option<Frequency> {
        Some(match s.trim() {
            "monthly" | "月" | "每月" | "按月" => Frequency::Monthly,
            "quarterly" | "季" | "每季" | "每季度" | "按季" => Frequency::Quarterly,
            "yearly" | "annually" | "年" | "每年" | "按年" => Frequency::Yearly,
            _ => return None,
        })
    }

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Monthly => "monthly",
            Frequency::Quarterly => "quarterly",
            Frequency::Yearly => "yearly",
        }
    }
}

impl fmt::Display for Frequency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One matter of the catalogue at one origin, with what the unit reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Obligation {
    /// The obliged unit's name.
    pub name: String,
    /// Its USCC, when the catalogue gives one (then the unit is matched by it).
    pub uscc: Option<String>,
    /// The origin the unit reports to.
    pub origin: DivisionCode,
    /// The kinds it must report.
    pub kinds: Vec<RecordKind>,
    /// How often.
    pub frequency: Frequency,
    /// The first month it is obliged for (none: since ever).
    pub since: Option<Month>,
    /// Records of those kinds it supplied (as source unit), by decision month, and
    /// rows of those kinds refused, which count as reported (the unit did report).
    pub reported: BTreeMap<Month, u64>,
}

/// Whether an obliged unit reported in the period that ends with a given month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// No period of this obligation ends in the month (a quarterly matter in
    /// February), or the obligation had not started.
    NotDue,
    /// Due, and this many records were reported in the period.
    Reported(u64),
}

impl Obligation {
    /// Whether the obligation falls due at the end of `month`, and what was reported
    /// in the period it closes.
    pub fn due(&self, month: Month) -> Due {
        let (first, last) = month.period(self.frequency.months());
        if last != month || self.since.is_some_and(|s| s > last) {
            return Due::NotDue;
        }
        Due::Reported(self.reported.range(first..=last).map(|(_, n)| n).sum())
    }

    /// Whether the unit reported nothing in the period ending with `month` (零报送).
    pub fn silent(&self, month: Month) -> bool {
        self.due(month) == Due::Reported(0)
    }
}
