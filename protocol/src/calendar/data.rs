//! The holiday data file: its line format, parsed and checked line by line.
//!
//! ```text
//! year 2025 国务院办公厅关于2025年部分节假日安排的通知（…）
//! holiday 2025-01-28..2025-02-04  春节
//! workday 2025-01-26              春节
//! ```
//!
//! `year` starts a block (and names its source), `holiday` gives a day or a range of
//! days off, `workday` a Saturday or Sunday worked; `#` starts a comment.

use crate::date::{Date, DateError};

use super::{Adjustment, CalendarError};

/// The festivals of the national holiday rules, as the notices name them.
pub const FESTIVALS: [&str; 7] = [
    "元旦",
    "春节",
    "清明节",
    "劳动节",
    "端午节",
    "中秋节",
    "国庆节",
];

/// The longest run of days off one line may give (春节 has been 9 days at most).
pub const MAX_RANGE_DAYS: i32 = 14;

/// How many days of December before a block's year its dates may reach back (元旦's
/// days off and the working day moved for them sometimes fall there).
const DAYS_BEFORE_YEAR: i32 = 8;

/// One line of a year's block: days off, or a weekend day worked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayEntry {
    /// Days off or a day worked.
    pub adjustment: Adjustment,
    /// The first day.
    pub first: Date,
    /// The last day (the first for a single day).
    pub last: Date,
    /// The festival (`春节`; `国庆节、中秋节` when the notice joins two).
    pub festival: String,
    /// The line of the file, from 1.
    pub line: usize,
}

impl HolidayEntry {
    /// Every day of the entry, in order.
    pub fn days(&self) -> impl Iterator<Item = Date> + '_ {
        let (a, b) = (self.first.days_since_epoch(), self.last.days_since_epoch());
        (a..=b).filter_map(Date::from_days_since_epoch)
    }
}

/// One year's arrangement: the notice it comes from and its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HolidayYear {
    /// The year.
    pub year: u16,
    /// The source notice, as the `year` line names it.
    pub notice: String,
    /// Its holidays and adjusted working days, in file order.
    pub entries: Vec<HolidayEntry>,
}

/// A parsed holiday data file: one block per year, in file order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HolidayData {
    /// The years' blocks.
    pub years: Vec<HolidayYear>,
}

impl HolidayData {
    /// Parses and checks a data file: the line forms, ISO dates, each date within its
    /// block's year, ranges in order and at most [`MAX_RANGE_DAYS`] long, known
    /// festivals, working days on weekends only, no year twice and no date twice.
    pub fn parse(text: &str) -> Result<Self, CalendarError> {
        let mut data = HolidayData::default();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw.split('#').next().unwrap_or("").trim();
            if content.is_empty() {
                continue;
            }
            let (word, rest) = split_word(content);
            match word {
                "year" => data.begin_year(line, rest)?,
                "holiday" | "workday" => {
                    let adjustment = if word == "holiday" {
                        Adjustment::Holiday
                    } else {
                        Adjustment::WorkingDay
                    };
                    let entry = entry(line, adjustment, rest)?;
                    let Some(block) = data.years.last_mut() else {
                        return Err(CalendarError::NoYear { line });
                    };
                    check_in_year(&entry, block.year)?;
                    block.entries.push(entry);
                }
                _ => {
                    return Err(CalendarError::Syntax {
                        line,
                        text: content.to_string(),
                    })
                }
            }
        }
        data.check_each_date_once()?;
        Ok(data)
    }

    fn begin_year(&mut self, line: usize, rest: &str) -> Result<(), CalendarError> {
        let (year, notice) = split_word(rest);
        let year = year
            .parse::<u16>()
            .ok()
            .filter(|y| (1900..=2199).contains(y))
            .ok_or_else(|| CalendarError::Syntax {
                line,
                text: format!("year {rest}"),
            })?;
        if notice.is_empty() {
            return Err(CalendarError::NoNotice { line, year });
        }
        if self.years.iter().any(|y| y.year == year) {
            return Err(CalendarError::DuplicateYear { line, year });
        }
        self.years.push(HolidayYear {
            year,
            notice: notice.to_string(),
            entries: Vec::new(),
        });
        Ok(())
    }

    /// Every entry of every year.
    pub fn entries(&self) -> impl Iterator<Item = &HolidayEntry> {
        self.years.iter().flat_map(|y| y.entries.iter())
    }

    fn check_each_date_once(&self) -> Result<(), CalendarError> {
        let mut seen: std::collections::BTreeMap<Date, Adjustment> = Default::default();
        for e in self.entries() {
            for d in e.days() {
                match seen.insert(d, e.adjustment) {
                    None => {}
                    Some(before) if before != e.adjustment => {
                        return Err(CalendarError::Contradiction { date: d })
                    }
                    Some(_) => {
                        return Err(CalendarError::Repeated {
                            line: e.line,
                            date: d,
                        })
                    }
                }
            }
        }
        Ok(())
    }
}

/// The first whitespace-separated word and the trimmed rest.
fn split_word(text: &str) -> (&str, &str) {
    match text.split_once(char::is_whitespace) {
        Some((w, rest)) => (w, rest.trim()),
        None => (text, ""),
    }
}

fn date(line: usize, text: &str) -> Result<Date, CalendarError> {
    Date::parse_iso(text).map_err(|e: DateError| CalendarError::Date { line, error: e })
}

fn entry(line: usize, adjustment: Adjustment, rest: &str) -> Result<HolidayEntry, CalendarError> {
    let (days, festival) = split_word(rest);
    let (first, last) = match days.split_once("..") {
        Some((a, b)) if adjustment == Adjustment::Holiday => (date(line, a)?, date(line, b)?),
        Some(_) => {
            return Err(CalendarError::Syntax {
                line,
                text: format!("workday {rest} (one date per working day)"),
            })
        }
        None => {
            let d = date(line, days)?;
            (d, d)
        }
    };
    let span = last.days_since_epoch() - first.days_since_epoch();
    if !(0..MAX_RANGE_DAYS).contains(&span) {
        return Err(CalendarError::BadRange { line, first, last });
    }
    if festival.is_empty() || !festival.split('、').all(|f| FESTIVALS.contains(&f)) {
        return Err(CalendarError::UnknownFestival {
            line,
            name: festival.to_string(),
        });
    }
    if adjustment == Adjustment::WorkingDay && first.weekday() < 5 {
        return Err(CalendarError::WorkdayNotWeekend { line, date: first });
    }
    Ok(HolidayEntry {
        adjustment,
        first,
        last,
        festival: festival.to_string(),
        line,
    })
}

fn check_in_year(entry: &HolidayEntry, year: u16) -> Result<(), CalendarError> {
    let start = Date::new(year, 1, 1).and_then(|d| d.add_days(-DAYS_BEFORE_YEAR));
    let end = Date::new(year, 12, 31);
    for d in [entry.first, entry.last] {
        let inside = matches!((start, end), (Some(s), Some(e)) if s <= d && d <= e);
        if !inside {
            return Err(CalendarError::OutOfYear {
                line: entry.line,
                date: d,
                year,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> CalendarError {
        HolidayData::parse(text).expect_err(text)
    }

    const HEAD: &str = "year 2025 通知\n";

    #[test]
    fn blocks_entries_and_comments() {
        let d = HolidayData::parse(
            "# comment\n\nyear 2025 某通知（2024年）\nholiday 2025-01-28..2025-02-04 春节 # eight days\nworkday 2025-01-26 春节\n",
        )
        .expect("parses");
        assert_eq!(d.years.len(), 1);
        assert_eq!(d.years[0].notice, "某通知（2024年）");
        assert_eq!(d.years[0].entries[0].days().count(), 8);
        assert_eq!(d.years[0].entries[1].line, 5);
    }

    #[test]
    fn every_mistake_is_named_with_its_line() {
        let cases: [(&str, &str); 12] = [
            ("holiday 2025-01-01 元旦\n", "line 1"),
            ("year 2025\n", "names no notice"),
            ("year 25 x\n", "line 2"),
            ("holiday 2025-1-1 元旦\n", "YYYY-MM-DD"),
            ("holiday 2025-02-30 元旦\n", "2025-02-30"),
            ("holiday 2026-01-01 元旦\n", "outside"),
            ("holiday 2025-02-04..2025-01-28 春节\n", "range"),
            ("holiday 2025-01-01 新年\n", "新年"),
            ("workday 2025-01-27 春节\n", "Saturday or Sunday"),
            ("workday 2025-01-25..2025-01-26 春节\n", "one date"),
            ("holidays 2025-01-01 元旦\n", "line 2"),
            (
                "holiday 2025-01-01 元旦\nholiday 2025-01-01 元旦\n",
                "twice",
            ),
        ];
        for (i, (body, want)) in cases.into_iter().enumerate() {
            let text = if i == 0 {
                body.to_string()
            } else {
                format!("{HEAD}{body}")
            };
            let e = err(&text).to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
        let e = err(&format!(
            "{HEAD}holiday 2025-01-26 春节\nworkday 2025-01-26 春节\n"
        ));
        assert_eq!(
            e,
            CalendarError::Contradiction {
                date: Date::new(2025, 1, 26).expect("date")
            }
        );
        let e = err(&format!("{HEAD}year 2025 again\n"));
        assert!(e.to_string().contains("twice"), "{e}");
    }

    #[test]
    fn new_year_may_start_in_the_last_days_of_december() {
        let text = "year 2019 通知\nholiday 2018-12-30..2019-01-01 元旦\nworkday 2018-12-29 元旦\n";
        let d = HolidayData::parse(text).expect("parses");
        assert_eq!(d.entries().count(), 2);
        assert!(err("year 2019 通知\nholiday 2018-12-01 元旦\n")
            .to_string()
            .contains("outside"));
    }
}
