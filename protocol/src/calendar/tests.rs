use proptest::prelude::*;

use super::*;

fn day(y: u16, m: u8, d: u8) -> Date {
    Date::new(y, m, d).expect("date")
}

fn shipped() -> &'static WorkCalendar {
    WorkCalendar::shipped()
}

/// Working days counted one day at a time.
fn counted(cal: &WorkCalendar, a: Date, b: Date) -> u32 {
    let (x, y) = (a.days_since_epoch(), b.days_since_epoch());
    ((x + 1)..=y)
        .filter_map(Date::from_days_since_epoch)
        .filter(|d| cal.is_working_day(*d))
        .count() as u32
}

#[test]
fn the_shipped_data_parses_and_names_its_notices() {
    let data = HolidayData::parse(SHIPPED_DATA).unwrap_or_else(|e| panic!("{e}"));
    let years: Vec<u16> = data.years.iter().map(|y| y.year).collect();
    assert_eq!(years, [2024, 2025, 2026]);
    for y in &data.years {
        let title = format!("国务院办公厅关于{}年部分节假日安排的通知", y.year);
        assert!(y.notice.starts_with(&title), "{}: {}", y.year, y.notice);
        for e in &y.entries {
            // Within the year (these three notices never reach into December before).
            assert_eq!(e.first.year(), y.year, "line {}", e.line);
            assert_eq!(e.last.year(), y.year, "line {}", e.line);
            if e.adjustment == Adjustment::WorkingDay {
                assert!(e.first.weekday() >= 5, "line {}", e.line);
            }
        }
        // Every festival of the holiday rules has its days off every year.
        for f in FESTIVALS {
            assert!(
                y.entries.iter().any(|e| e.adjustment == Adjustment::Holiday
                    && e.festival.split('、').any(|n| n == f)),
                "{} has no {f}",
                y.year
            );
        }
    }
    assert_eq!(
        shipped().covered_years().collect::<Vec<_>>(),
        [2024, 2025, 2026]
    );
    assert!(!shipped().covers(2023) && !shipped().covers(2027));
}

#[test]
fn no_shipped_date_is_both_a_holiday_and_a_working_day() {
    let data = HolidayData::parse(SHIPPED_DATA).expect("parses");
    let mut holidays = BTreeSet::new();
    let mut worked = BTreeSet::new();
    for e in data.entries() {
        for d in e.days() {
            let set = match e.adjustment {
                Adjustment::Holiday => &mut holidays,
                Adjustment::WorkingDay => &mut worked,
            };
            assert!(set.insert(d), "{d} twice");
        }
    }
    assert!(holidays.is_disjoint(&worked));
    // 28, 28 and 33 days off; 8, 5 and 6 weekend days worked.
    for (year, off, on) in [(2024, 28, 8), (2025, 28, 5), (2026, 33, 6)] {
        let n = |s: &BTreeSet<Date>| s.iter().filter(|d| d.year() == year).count();
        assert_eq!((n(&holidays), n(&worked)), (off, on), "{year}");
    }
}

/// Days off moved by the notices are given back by the weekend days worked: a year
/// has its days less its weekend days less its statutory holidays as working days
/// (11 statutory days up to 2024, 13 from 2025: one more each for 春节 and 劳动节).
#[test]
fn each_year_has_its_statutory_number_of_working_days() {
    for (year, statutory, want) in [(2024, 11, 251), (2025, 13, 248), (2026, 13, 248)] {
        let (before, last) = (day(year - 1, 12, 31), day(year, 12, 31));
        let weekdays = WorkCalendar::weekdays_only().working_days_between(before, last);
        let working = shipped().working_days_between(before, last);
        assert_eq!(working, want, "{year}");
        assert_eq!(working, weekdays - statutory, "{year}");
    }
}

#[test]
fn spring_festival_2025_with_its_working_saturday() {
    let cal = shipped();
    // Monday 27 January 2025, the last working day before 除夕 (28 January).
    let decided = day(2025, 1, 27);
    assert!(cal.is_working_day(decided));
    assert!(!cal.is_working_day(day(2025, 1, 28)) && !cal.is_working_day(day(2025, 2, 4)));
    // Saturday 8 February is worked; it is the 4th working day after the decision.
    assert!(cal.is_working_day(day(2025, 2, 8)));
    assert_eq!(cal.working_days_between(decided, day(2025, 2, 8)), 4);
    assert_eq!(cal.add_working_days(decided, 7), Some(day(2025, 2, 12)));
    // Counted Monday to Friday it would have been 5 February, a week too early.
    let plain = WorkCalendar::weekdays_only();
    assert_eq!(plain.add_working_days(decided, 7), Some(day(2025, 2, 5)));
    assert_eq!(plain.working_days_between(decided, day(2025, 2, 8)), 9);
    // Sunday 26 January is worked too: a decision of the Friday before counts it.
    assert_eq!(
        cal.working_days_between(day(2025, 1, 24), day(2025, 1, 27)),
        2
    );
}

#[test]
fn spring_festival_2026_and_2024() {
    let cal = shipped();
    // Friday 13 February 2026; Saturday 14 February is worked, then nine days off.
    assert_eq!(
        cal.add_working_days(day(2026, 2, 13), 7),
        Some(day(2026, 3, 2))
    );
    // Decided on the working Saturday itself: the 28th (a Saturday) counts.
    assert!(cal.is_working_day(day(2026, 2, 14)) && cal.is_working_day(day(2026, 2, 28)));
    assert_eq!(
        cal.add_working_days(day(2026, 2, 14), 7),
        Some(day(2026, 3, 3))
    );
    assert_eq!(
        cal.working_days_between(day(2026, 2, 14), day(2026, 2, 23)),
        0
    );
    // 2024: 除夕 (9 February) was a working day; Sunday 18 February was worked.
    assert!(cal.is_working_day(day(2024, 2, 9)));
    assert_eq!(
        cal.add_working_days(day(2024, 2, 9), 7),
        Some(day(2024, 2, 26))
    );
}

#[test]
fn national_day_week_and_the_working_sunday_before_it() {
    let cal = shipped();
    // Decided on Friday 3 October 2025, a holiday: counting starts on 9 October and
    // takes in the working Saturday 11 October.
    let decided = day(2025, 10, 3);
    assert!(!cal.is_working_day(decided));
    assert_eq!(cal.add_working_days(decided, 7), Some(day(2025, 10, 16)));
    // Across Sunday 28 September 2025 (worked): Friday 26th to Tuesday 30th is three
    // working days, not two.
    assert!(cal.is_working_day(day(2025, 9, 28)));
    assert_eq!(
        cal.working_days_between(day(2025, 9, 26), day(2025, 9, 30)),
        3
    );
    assert_eq!(
        WorkCalendar::weekdays_only().working_days_between(day(2025, 9, 26), day(2025, 9, 30)),
        2
    );
    assert_eq!(
        cal.add_working_days(day(2025, 9, 26), 7),
        Some(day(2025, 10, 13))
    );
    // 2024 and 2026.
    assert_eq!(
        cal.add_working_days(day(2024, 10, 3), 7),
        Some(day(2024, 10, 15))
    );
    assert_eq!(
        cal.add_working_days(day(2026, 9, 30), 7),
        Some(day(2026, 10, 15))
    );
}

#[test]
fn extra_dates_move_the_deadline_and_do_not_cover_a_year() {
    let decided = day(2025, 1, 27);
    let cal = shipped().with(&[day(2025, 2, 10)], &[]).expect("adjusted");
    assert_eq!(cal.add_working_days(decided, 7), Some(day(2025, 2, 13)));
    // A year without shipped data: Monday to Friday plus what is given.
    assert!(!shipped().covers(2027));
    let (monday, friday) = (day(2027, 2, 1), day(2027, 2, 5));
    let saturday = day(2027, 1, 30);
    assert_eq!(
        (monday.weekday(), friday.weekday(), saturday.weekday()),
        (0, 4, 5)
    );
    assert_eq!(
        shipped().add_working_days(monday, 7),
        Some(day(2027, 2, 10))
    );
    let cal = shipped().with(&[friday], &[saturday]).expect("adjusted");
    assert_eq!(cal.add_working_days(monday, 7), Some(day(2027, 2, 11)));
    // A Saturday worked brings the deadline of the Monday before it one day earlier.
    let before = day(2027, 1, 25);
    assert_eq!(shipped().add_working_days(before, 7), Some(day(2027, 2, 3)));
    assert_eq!(cal.add_working_days(before, 7), Some(day(2027, 2, 2)));
    assert!(!cal.covers(2027));
    assert_eq!(cal.listed_days(2027), 2);
    // The extra dates win over the shipped ones; one date in both lists is refused.
    let cal = shipped().with(&[], &[day(2025, 10, 8)]).expect("adjusted");
    assert!(cal.is_working_day(day(2025, 10, 8)));
    assert_eq!(
        shipped().with(&[friday], &[friday]),
        Err(CalendarError::Contradiction { date: friday })
    );
}

#[test]
fn no_working_days_before_or_on_the_day_itself() {
    let cal = shipped();
    let d = day(2025, 3, 5);
    assert_eq!(cal.working_days_between(d, d), 0);
    assert_eq!(cal.working_days_between(d, day(2025, 3, 1)), 0);
    assert_eq!(cal.add_working_days(d, 0), Some(d));
    assert_eq!(cal.add_working_days(day(2200, 12, 30), 5), None);
}

proptest! {
    #[test]
    fn counting_agrees_with_one_day_at_a_time(a in 19_000i32..21_000, len in 0i32..400) {
        let a = Date::from_days_since_epoch(a).expect("date");
        let b = a.add_days(len).expect("date");
        for cal in [shipped(), &WorkCalendar::weekdays_only()] {
            prop_assert_eq!(cal.working_days_between(a, b), counted(cal, a, b));
        }
    }

    #[test]
    fn the_deadline_is_the_nth_working_day(a in 19_000i32..21_000, n in 0u32..40) {
        let a = Date::from_days_since_epoch(a).expect("date");
        let cal = shipped();
        let due = cal.add_working_days(a, n).expect("in range");
        prop_assert_eq!(cal.working_days_between(a, due), n);
        if n > 0 {
            prop_assert!(cal.is_working_day(due));
            let before = due.add_days(-1).expect("date");
            prop_assert_eq!(cal.working_days_between(a, before), n - 1);
        }
    }
}
