//! A calendar month (`2026-03`), the period of the accounts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::date::Date;

/// A calendar month.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Month {
    /// The year.
    pub year: u16,
    /// The month, 1 to 12.
    pub month: u8,
}

/// A month that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a month (YYYY-MM)")]
pub struct MonthError(pub String);

impl Month {
    /// The month `year-month`, if `month` is 1 to 12 and the year has four digits.
    pub fn new(year: u16, month: u8) -> Option<Month> {
        ((1..=12).contains(&month) && (1000..=9999).contains(&year))
            .then_some(Month { year, month })
    }

    /// The month of a date.
    pub fn of(date: Date) -> Month {
        Month {
            year: date.year(),
            month: date.month(),
        }
    }

    /// The month `n` months before this one (saturating at year 1000).
    pub fn minus(self, n: u32) -> Month {
        let index = (self.year as i64 * 12 + self.month as i64 - 1 - n as i64).max(1000 * 12);
        Month {
            year: (index / 12) as u16,
            month: (index % 12 + 1) as u8,
        }
    }

    /// The month after this one.
    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year.saturating_add(1),
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The first and last months of the period of `months` months (1, 3 or 12) that
    /// this month lies in, the periods starting in January.
    pub fn period(self, months: u8) -> (Month, Month) {
        let len = months.clamp(1, 12);
        let first = (self.month - 1) / len * len + 1;
        (
            Month {
                year: self.year,
                month: first,
            },
            Month {
                year: self.year,
                month: first + len - 1,
            },
        )
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl FromStr for Month {
    type Err = MonthError;

    fn from_str(s: &str) -> Result<Month, MonthError> {
        let bad = || MonthError(s.to_string());
        let (y, m) = s.trim().split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        Month::new(y.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?).ok_or_else(bad)
    }
}
