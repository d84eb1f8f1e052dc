//! Working days in mainland China: Monday to Friday, less the public holidays, plus
//! the weekend days worked in exchange (调休上班), as the State Council General
//! Office's annual notice (国务院办公厅关于XXXX年部分节假日安排的通知) sets them.
//!
//! The notices of the years this build knows ship with it (`data/holidays-cn.txt`,
//! parsed once by [`WorkCalendar::shipped`]; [`WorkCalendar::covers`] says which
//! years). **A year without shipped data is counted Monday to Friday**, plus whatever
//! extra holidays and working days are configured ([`WorkCalendar::with`]): a node's
//! `[calendar]` section fills in a year whose notice is newer than the build, or a
//! local adjustment.
//!
//! The 7-working-day rule for publishing administrative licences and penalties
//! (双公示) is counted with [`WorkCalendar::working_days_between`] and
//! [`WorkCalendar::add_working_days`].

mod data;

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::sync::OnceLock;

pub use data::{HolidayData, HolidayEntry, HolidayYear, FESTIVALS, MAX_RANGE_DAYS};

use crate::date::{Date, DateError};

/// The shipped data file: the notices of the years this build knows.
pub const SHIPPED_DATA: &str = include_str!("../data/holidays-cn.txt");

/// What a listed date is, against the Monday-to-Friday rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Adjustment {
    /// A day off (放假), whatever its weekday.
    Holiday,
    /// A day worked (上班), whatever its weekday: in the data, a Saturday or Sunday
    /// worked in exchange for holidays.
    WorkingDay,
}

/// Holiday data or adjustments that cannot be used, naming the line or the date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// A line of none of the forms of the data file.
    #[error(
        "line {line}: {text:?} is not `year YEAR NOTICE`, `holiday FIRST[..LAST] FESTIVAL` \
         or `workday DATE FESTIVAL`"
    )]
    Syntax {
        /// The line, from 1.
        line: usize,
        /// Its text.
        text: String,
    },
    /// A date that is not a `YYYY-MM-DD` calendar date.
    #[error("line {line}: {error}")]
    Date {
        /// The line, from 1.
        line: usize,
        /// Why the date is not one.
        error: DateError,
    },
    /// An entry before any `year` line.
    #[error("line {line}: an entry before the first `year` line")]
    NoYear {
        /// The line, from 1.
        line: usize,
    },
    /// A `year` line without its source notice.
    #[error("line {line}: year {year} names no notice")]
    NoNotice {
        /// The line, from 1.
        line: usize,
        /// The year.
        year: u16,
    },
    /// A year given twice.
    #[error("line {line}: year {year} is given twice")]
    DuplicateYear {
        /// The line, from 1.
        line: usize,
        /// The year.
        year: u16,
    },
    /// A date outside its block's year (or the last days of December before it).
    #[error("line {line}: {date} is outside the year {year} of its block")]
    OutOfYear {
        /// The line, from 1.
        line: usize,
        /// The date.
        date: Date,
        /// The block's year.
        year: u16,
    },
    /// A range that ends before it starts, or is too long to be one festival's.
    #[error(
        "line {line}: the range {first}..{last} ends before it starts or is longer than \
         {MAX_RANGE_DAYS} days"
    )]
    BadRange {
        /// The line, from 1.
        line: usize,
        /// Its first day.
        first: Date,
        /// Its last day.
        last: Date,
    },
    /// A festival the holiday rules do not have.
    #[error("line {line}: unknown festival {name:?} (元旦, 春节, 清明节, 劳动节, 端午节, 中秋节, 国庆节)")]
    UnknownFestival {
        /// The line, from 1.
        line: usize,
        /// The name given.
        name: String,
    },
    /// An adjusted working day that is not a Saturday or Sunday.
    #[error("line {line}: {date} is a weekday; an adjusted working day is a Saturday or Sunday")]
    WorkdayNotWeekend {
        /// The line, from 1.
        line: usize,
        /// The date.
        date: Date,
    },
    /// A date given twice by the same kind of line.
    #[error("line {line}: {date} is given twice")]
    Repeated {
        /// The line of the second mention, from 1.
        line: usize,
        /// The date.
        date: Date,
    },
    /// A date given both as a holiday and as a working day.
    #[error("{date} is given both as a holiday and as a working day")]
    Contradiction {
        /// The date.
        date: Date,
    },
}

/// Which dates are working days in mainland China: Monday to Friday, except the
/// listed holidays, and the listed working days whatever their weekday.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkCalendar {
    /// Listed dates: holidays and working days that differ from (or confirm) the
    /// Monday-to-Friday rule.
    days: BTreeMap<Date, Adjustment>,
    /// Years whose official arrangement is part of this calendar.
    covered: BTreeSet<u16>,
}

impl WorkCalendar {
    /// Monday to Friday, no holiday known: what every year without data is counted by.
    pub fn weekdays_only() -> Self {
        Self::default()
    }

    /// The calendar of the shipped notices ([`SHIPPED_DATA`]), parsed on first use.
    pub fn shipped() -> &'static WorkCalendar {
        static SHIPPED: OnceLock<WorkCalendar> = OnceLock::new();
        SHIPPED.get_or_init(|| {
            // The data is part of the build and checked by this module's tests.
            HolidayData::parse(SHIPPED_DATA)
                .map(|d| Self::of_data(&d))
                .unwrap_or_else(|e| panic!("the shipped holiday data is broken: {e}"))
        })
    }

    /// The calendar of parsed holiday data: its years are covered.
    pub fn of_data(data: &HolidayData) -> Self {
        let mut cal = Self::default();
        for y in &data.years {
            cal.covered.insert(y.year);
            for e in &y.entries {
                for d in e.days() {
                    cal.days.insert(d, e.adjustment);
                }
            }
        }
        cal
    }

    /// This calendar with extra holidays and extra working days (local adjustments, or
    /// a year whose notice is not shipped). They take precedence over the shipped
    /// data; a date in both lists is refused. They do not make a year covered.
    pub fn with(
        &self,
        extra_holidays: &[Date],
        extra_working_days: &[Date],
    ) -> Result<Self, CalendarError> {
        if let Some(&date) = extra_holidays
            .iter()
            .find(|d| extra_working_days.contains(d))
        {
            return Err(CalendarError::Contradiction { date });
        }
        let mut cal = self.clone();
        for &d in extra_holidays {
            cal.days.insert(d, Adjustment::Holiday);
        }
        for &d in extra_working_days {
            cal.days.insert(d, Adjustment::WorkingDay);
        }
        Ok(cal)
    }

    /// Whether the official arrangement of `year` is part of this calendar; a year
    /// not covered is counted Monday to Friday plus the extra dates given.
    pub fn covers(&self, year: u16) -> bool {
        self.covered.contains(&year)
    }

    /// The covered years, in order.
    pub fn covered_years(&self) -> impl Iterator<Item = u16> + '_ {
        self.covered.iter().copied()
    }

    /// How many holidays and working days are listed in `year` (shipped or extra).
    pub fn listed_days(&self, year: u16) -> usize {
        match (Date::new(year, 1, 1), Date::new(year, 12, 31)) {
            (Some(a), Some(b)) => self.days.range(a..=b).count(),
            _ => 0,
        }
    }

    /// The listed adjustment of a date, if any.
    pub fn adjustment(&self, date: Date) -> Option<Adjustment> {
        self.days.get(&date).copied()
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: Date) -> bool {
        match self.adjustment(date) {
            Some(Adjustment::Holiday) => false,
            Some(Adjustment::WorkingDay) => true,
            None => date.weekday() < 5,
        }
    }

    /// Working days after `a` up to and including `b`; 0 if `b` is not after `a`.
    /// (Decided on `a` and published on `b`: published on its `n`th working day.)
    pub fn working_days_between(&self, a: Date, b: Date) -> u32 {
        if b <= a {
            return 0;
        }
        let plain = weekdays_through(b.days_since_epoch()) - weekdays_through(a.days_since_epoch());
        let listed: i64 = self
            .days
            .range((Bound::Excluded(a), Bound::Included(b)))
            .map(|(d, adj)| match (adj, d.weekday() < 5) {
                (Adjustment::Holiday, true) => -1,
                (Adjustment::WorkingDay, false) => 1,
                _ => 0,
            })
            .sum();
        u32::try_from(plain + listed).unwrap_or(0)
    }

    /// The `n`th working day after `date`: the last day to publish something decided
    /// on `date` within `n` working days (`date` itself for `n` = 0); `None` past the
    /// supported range of dates.
    pub fn add_working_days(&self, date: Date, n: u32) -> Option<Date> {
        let mut d = date;
        let mut left = n;
        while left > 0 {
            d = d.add_days(1)?;
            if self.is_working_day(d) {
                left -= 1;
            }
        }
        Some(d)
    }
}

/// Mondays to Fridays from a fixed origin through day `day` (days since 1970-01-01):
/// differences of two values count the weekdays in between.
fn weekdays_through(day: i32) -> i64 {
    // 1970-01-01 was a Thursday: day + 3 is 0 on Mondays (mod 7).
    let t = i64::from(day) + 4;
    5 * t.div_euclid(7) + t.rem_euclid(7).min(5)
}

#[cfg(test)]
mod tests;
