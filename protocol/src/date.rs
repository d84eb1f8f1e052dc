//! Calendar dates without time zones: decision, publication and validity dates.
//!
//! Source files write dates in many ways (`2024-03-05`, `2024/3/5`, `20240305`,
//! `2024年3月5日`, sometimes followed by a time); [`Date::parse`] accepts them all and
//! refuses anything that is not a real calendar date.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A proleptic Gregorian calendar date.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    year: u16,
    month: u8,
    day: u8,
}

/// Why a text is not a date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a date: {reason}")]
pub struct DateError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

fn is_leap(y: u16) -> bool {
    (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400)
}

fn days_in_month(y: u16, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Date {
    /// Builds a date, or `None` if it is not a calendar date in years 1800-2200.
    pub fn new(year: u16, month: u8, day: u8) -> Option<Self> {
        if !(1800..=2200).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// Parses the date formats found in source files (see the module documentation).
    pub fn parse(text: &str) -> Result<Self, DateError> {
        let err = |reason| DateError {
            text: text.to_string(),
            reason,
        };
        let t = text.trim();
        // Drop a trailing time part ("2024-03-05 00:00:00", "2024-03-05T08:00").
        let t = t.split([' ', 'T']).next().unwrap_or(t);
        let parts: Vec<&str> = t
            .split(['-', '/', '.', '年', '月', '日'])
            .filter(|p| !p.is_empty())
            .collect();
        let (y, m, d) = match parts.as_slice() {
            [ymd] if ymd.len() == 8 && ymd.bytes().all(|c| c.is_ascii_digit()) => {
                (&ymd[..4], &ymd[4..6], &ymd[6..8])
            }
            [y, m, d] => (*y, *m, *d),
            _ => return Err(err("expected year, month and day")),
        };
        let num = |s: &str| -> Result<u32, DateError> {
            if s.is_empty() || s.len() > 4 || !s.bytes().all(|c| c.is_ascii_digit()) {
                return Err(err("non-numeric part"));
            }
            s.parse().map_err(|_| err("non-numeric part"))
        };
        let (y, m, d) = (num(y)?, num(m)?, num(d)?);
        if y < 1000 {
            return Err(err("year must have four digits"));
        }
        Date::new(y as u16, m as u8, d as u8).ok_or_else(|| err("no such day in the calendar"))
    }

    /// Parses a date written exactly `YYYY-MM-DD`, as configuration and data files
    /// write them (no other form, no time part).
    pub fn parse_iso(text: &str) -> Result<Self, DateError> {
        let b = text.as_bytes();
        let shaped = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shaped {
            return Err(DateError {
                text: text.to_string(),
                reason: "expected YYYY-MM-DD",
            });
        }
        Self::parse(text)
    }

    /// The year.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, 1-12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1-31.
    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i32 {
        // Howard Hinnant's days_from_civil.
        let y = i32::from(self.year) - i32::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i32::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i32::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` days after 1970-01-01, if it lies in the supported range.
    pub fn from_days_since_epoch(days: i32) -> Option<Self> {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i32::from(m <= 2);
        Date::new(u16::try_from(y).ok()?, m as u8, d as u8)
    }

    /// The date `n` days later (or earlier for negative `n`), if in range.
    pub fn add_days(self, n: i32) -> Option<Self> {
        Self::from_days_since_epoch(self.days_since_epoch() + n)
    }

    /// The date `n` calendar months later, the day clamped to the month's length
    /// (2024-01-31 + 1 month = 2024-02-29), if in range.
    pub fn add_months(self, n: u32) -> Option<Self> {
        let months = u32::from(self.month) - 1 + n;
        let year = u16::try_from(u32::from(self.year) + months / 12).ok()?;
        let month = (months % 12) as u8 + 1;
        if !(1800..=2200).contains(&year) {
            return None;
        }
        let day = self.day.min(days_in_month(year, month));
        Date::new(year, month, day)
    }

    /// The date `n` calendar months earlier, the day clamped to the month's length
    /// (2024-03-31 - 1 month = 2024-02-29), if in range.
    pub fn sub_months(self, n: u32) -> Option<Self> {
        let months = (i64::from(self.year) * 12 + i64::from(self.month) - 1) - i64::from(n);
        let year = u16::try_from(months.div_euclid(12)).ok()?;
        let month = (months.rem_euclid(12)) as u8 + 1;
        if !(1800..=2200).contains(&year) {
            return None;
        }
        let day = self.day.min(days_in_month(year, month));
        Date::new(year, month, day)
    }

    /// The date of a moment given in milliseconds since the Unix epoch (UTC+8, the
    /// platform's time zone), if in range.
    pub fn from_millis(ms: u64) -> Option<Self> {
        const CST_OFFSET_MS: u64 = 8 * 3600 * 1000;
        let days = (ms + CST_OFFSET_MS) / 86_400_000;
        Self::from_days_since_epoch(i32::try_from(days).ok()?)
    }

    /// Monday = 0 … Sunday = 6.
    pub fn weekday(self) -> u8 {
        // 1970-01-01 was a Thursday (3).
        ((self.days_since_epoch() + 3).rem_euclid(7)) as u8
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

impl std::str::FromStr for Date {
    type Err = DateError;
    fn from_str(s: &str) -> Result<Self, DateError> {
        Self::parse(s)
    }
}

/// Text (`YYYY-MM-DD`) in human-readable formats such as JSON; days since the epoch in
/// compact binary formats such as postcard.
impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_i32(self.days_since_epoch())
        }
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            Date::parse(&s).map_err(D::Error::custom)
        } else {
            let days = i32::deserialize(d)?;
            Date::from_days_since_epoch(days)
                .ok_or_else(|| D::Error::custom(format!("day number {days} is out of range")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formats_in_source_files() {
        let want = Date::new(2024, 3, 5).unwrap();
        for t in [
            "2024-03-05",
            "2024/3/5",
            "20240305",
            "2024年3月5日",
            "2024-03-05 00:00:00",
            "2024.03.05",
        ] {
            assert_eq!(Date::parse(t).unwrap(), want, "{t}");
        }
        for t in [
            "2024-02-30",
            "2023-02-29",
            "2024-13-01",
            "24-03-05",
            "soon",
            "",
        ] {
            assert!(Date::parse(t).is_err(), "{t}");
        }
        assert_eq!(Date::parse("2000-02-29").unwrap().to_string(), "2000-02-29");
    }

    #[test]
    fn iso_dates_only_in_their_one_form() {
        assert_eq!(
            Date::parse_iso("2027-02-05"),
            Ok(Date::new(2027, 2, 5).unwrap())
        );
        for t in [
            "2027-2-5",
            "2027/02/05",
            "20270205",
            "2027-02-05 ",
            "2027-02-30",
            "",
        ] {
            assert!(Date::parse_iso(t).is_err(), "{t}");
        }
    }

    #[test]
    fn epoch_and_weekday() {
        assert_eq!(Date::new(1970, 1, 1).unwrap().days_since_epoch(), 0);
        assert_eq!(Date::new(2026, 11, 27).unwrap().weekday(), 4); // a Friday
    }

    proptest! {
        #[test]
        fn day_numbers_round_trip(days in -60_000i32..80_000) {
            let d = Date::from_days_since_epoch(days).unwrap();
            prop_assert_eq!(d.days_since_epoch(), days);
            prop_assert_eq!(Date::parse(&d.to_string()).unwrap(), d);
        }
    }
}
