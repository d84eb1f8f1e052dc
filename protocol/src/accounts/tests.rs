use super::card::ReportCard;
use super::*;
use crate::record::RecordKind;

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).expect("code")
}

fn month(s: &str) -> Month {
    s.parse().expect("month")
}

fn unit_month(delays: &[u32], on_time: u64, slots: (u64, u64), rejected: u64) -> UnitMonth {
    let mut m = UnitMonth {
        records: delays.len() as u64,
        measured: delays.len() as u64,
        on_time,
        optional_slots: slots.0,
        optional_filled: slots.1,
        rejected,
        ..UnitMonth::default()
    };
    m.by_kind
        .insert(RecordKind::PENALTY.code(), delays.len() as u64);
    for d in delays {
        *m.delays.entry(*d).or_default() += 1;
    }
    m
}

#[test]
fn months_parse_order_and_make_periods() {
    assert_eq!(month("2026-03").to_string(), "2026-03");
    for bad in ["2026-3", "2026-13", "26-03", "2026/03", ""] {
        assert!(bad.parse::<Month>().is_err(), "{bad}");
    }
    assert!(month("2025-12") < month("2026-01"));
    assert_eq!(month("2026-01").minus(1), month("2025-12"));
    assert_eq!(month("2026-05").minus(13), month("2025-04"));
    assert_eq!(
        month("2026-05").period(3),
        (month("2026-04"), month("2026-06"))
    );
    assert_eq!(
        month("2026-05").period(12),
        (month("2026-01"), month("2026-12"))
    );
    assert_eq!(
        month("2026-05").period(1),
        (month("2026-05"), month("2026-05"))
    );
}

#[test]
fn quantiles_of_the_delay_histogram_are_those_of_the_sorted_delays() {
    let delays = [9, 1, 3, 3, 20, 2, 7, 5, 4, 30, 3];
    let m = unit_month(&delays, 0, (0, 0), 0);
    let mut sorted = delays.to_vec();
    sorted.sort_unstable();
    for p in [0.0, 0.1, 0.5, 0.9, 1.0] {
        let i = ((sorted.len() - 1) as f64 * p).round() as usize;
        assert_eq!(m.delay_quantile(p), Some(sorted[i]), "p = {p}");
    }
    assert_eq!(UnitMonth::default().delay_quantile(0.5), None);
    // Merged histograms give the quantiles of the union.
    let mut a = unit_month(&[1, 2, 3], 3, (10, 5), 1);
    a.merge(&unit_month(&[10, 11, 12, 13], 1, (10, 10), 2));
    assert_eq!(a.delay_quantile(0.5), Some(10));
    assert_eq!(a.on_time_share(), Some(4.0 / 7.0));
    assert_eq!(a.completeness(), Some(0.75));
    assert_eq!(a.rejected, 3);
}

#[test]
fn reasons_beyond_the_limit_are_counted_together() {
    let mut m = UnitMonth::default();
    for i in 0..MAX_REASONS + 5 {
        m.add_reason(&format!("CF_WSH: reason {i}"), 2);
    }
    m.add_reason("CF_WSH: reason 0", 1);
    assert_eq!(m.reasons.len(), MAX_REASONS + 1);
    assert_eq!(m.reasons[OTHER_REASONS], 10);
    assert_eq!(m.reasons["CF_WSH: reason 0"], 3);
}

fn obligation(frequency: Frequency, reported: &[(&str, u64)]) -> Obligation {
    Obligation {
        name: "苏州市市场监督管理局".into(),
        uscc: None,
        origin: code("320500"),
        kinds: vec![RecordKind::PENALTY],
        frequency,
        since: None,
        reported: reported.iter().map(|(m, n)| (month(m), *n)).collect(),
    }
}

#[test]
fn obligations_fall_due_at_the_end_of_their_period() {
    use catalogue::Due;
    let q = obligation(Frequency::Quarterly, &[("2026-02", 4)]);
    assert_eq!(q.due(month("2026-02")), Due::NotDue);
    assert_eq!(q.due(month("2026-03")), Due::Reported(4));
    assert!(q.silent(month("2026-06")));
    let m = obligation(Frequency::Monthly, &[("2026-02", 4)]);
    assert!(m.silent(month("2026-01")) && !m.silent(month("2026-02")));
    let y = Obligation {
        since: Some(month("2027-01")),
        ..obligation(Frequency::Yearly, &[])
    };
    assert_eq!(y.due(month("2026-12")), Due::NotDue);
    assert!(y.silent(month("2027-12")));
}

fn node(name: &str, j: &str, units: Vec<UnitAccount>) -> NodeAccounts {
    NodeAccounts {
        name: name.into(),
        jurisdiction: code(j),
        at_ms: 1,
        units,
        obligations: Vec::new(),
        monitor: BTreeMap::new(),
    }
}

fn unit(role: UnitRole, name: &str, origin: &str, m: &str, figures: UnitMonth) -> UnitAccount {
    UnitAccount {
        role,
        name: name.into(),
        uscc: None,
        origin: code(origin),
        months: [(month(m), figures)].into_iter().collect(),
    }
}

#[test]
fn received_accounts_are_checked_against_the_senders_jurisdiction() {
    let a = SubtreeAccounts {
        nodes: vec![node(
            "suzhou",
            "320500",
            vec![unit(
                UnitRole::Source,
                "x",
                "320583",
                "2026-03",
                UnitMonth::default(),
            )],
        )],
    };
    assert_eq!(a.check(code("320000")), Ok(()));
    assert!(matches!(
        a.check(code("330000")),
        Err(AccountsError::Outside { .. })
    ));
    let mut b = a.clone();
    b.nodes[0].units[0].origin = code("330100");
    assert!(b.check(code("320000")).is_err());
    let mut c = a.clone();
    c.keep_from(month("2026-04"));
    assert!(c.nodes[0].units.is_empty());
}

#[test]
fn a_card_totals_source_units_per_province_and_city_and_ranks_cities() {
    let suzhou = {
        let mut n = node(
            "suzhou",
            "320500",
            vec![
                unit(
                    UnitRole::Source,
                    "苏州市场监管",
                    "320500",
                    "2026-03",
                    unit_month(&[1, 2, 9], 2, (10, 9), 1),
                ),
                unit(
                    UnitRole::Authority,
                    "苏州市场监管",
                    "320500",
                    "2026-03",
                    unit_month(&[1, 2, 9], 2, (10, 9), 1),
                ),
                unit(
                    UnitRole::Source,
                    "昆山税务",
                    "320583",
                    "2026-03",
                    unit_month(&[3], 1, (5, 5), 0),
                ),
                unit(
                    UnitRole::Source,
                    "苏州交通",
                    "320500",
                    "2026-02",
                    unit_month(&[3], 1, (5, 5), 0),
                ),
            ],
        );
        n.obligations = vec![
            obligation(Frequency::Monthly, &[("2026-03", 3)]),
            Obligation {
                name: "苏州交通".into(),
                ..obligation(Frequency::Monthly, &[("2026-02", 1)])
            },
        ];
        n
    };
    let nanjing = node(
        "nanjing",
        "320100",
        vec![unit(
            UnitRole::Source,
            "南京环保",
            "320100",
            "2026-03",
            unit_month(&[20, 30], 0, (4, 1), 5),
        )],
    );
    let jiangsu = node(
        "jiangsu",
        "320000",
        vec![unit(
            UnitRole::Source,
            "江苏省发改委",
            "320000",
            "2026-03",
            unit_month(&[2], 1, (2, 2), 0),
        )],
    );
    let accounts = SubtreeAccounts {
        nodes: vec![jiangsu, suzhou, nanjing],
    };
    let card = ReportCard::of(&accounts, month("2026-03"));
    assert_eq!(card.units.len(), 5, "{:#?}", card.units);
    assert_eq!(card.silent.len(), 1);
    assert_eq!(card.silent[0].name, "苏州交通");
    assert_eq!(card.provinces.len(), 1);
    let js = &card.provinces[0];
    assert_eq!(
        (js.units, js.figures.records, js.figures.rejected),
        (4, 7, 6)
    );
    assert_eq!((js.obliged, js.silent), (2, 1));
    assert_eq!(js.figures.on_time, 4);
    let names: Vec<_> = card
        .cities
        .iter()
        .map(|c| c.area.code.to_string())
        .collect();
    assert_eq!(names, ["320500", "320100"]);
    let sz = &card.cities[0];
    assert_eq!(sz.rank, Some(1));
    assert_eq!(sz.area.figures.records, 4);
    assert_eq!(sz.area.figures.delay_p50_days, Some(3));
    // Suzhou: on time 3/4, complete 14/15, obligations 1/2.
    let expected = 100.0 * (0.75 + 14.0 / 15.0 + 0.5) / 3.0;
    assert!((sz.score.expect("score") - expected).abs() < 1e-9);
    assert_eq!(card.cities[1].rank, Some(2));
}

#[test]
fn accounts_too_large_for_a_frame_lose_their_oldest_months() {
    let mut units = Vec::new();
    for i in 0..50 {
        let mut u = unit(
            UnitRole::Source,
            &format!("单位{i}"),
            "320500",
            "2025-01",
            unit_month(&[1, 2, 3], 2, (5, 4), 1),
        );
        for m in ["2025-06", "2026-03"] {
            u.months
                .insert(month(m), unit_month(&[1, 2, 3, 4, 5, 6], 2, (5, 4), 1));
        }
        units.push(u);
    }
    let mut a = SubtreeAccounts {
        nodes: vec![node("suzhou", "320500", units)],
    };
    let full = postcard::to_stdvec(&a).expect("encodes").len();
    assert_eq!(a.fit(full), None);
    assert_eq!(a.fit(full * 2 / 3), Some(month("2025-06")));
    assert!(postcard::to_stdvec(&a).expect("encodes").len() <= full * 2 / 3);
    assert_eq!(a.oldest_month(), Some(month("2026-03")));
    assert_eq!(a.nodes[0].units.len(), 50);
    a.fit(10);
    assert!(a.nodes[0].units.is_empty());
    assert_eq!(month("2025-12").next(), month("2026-01"));
}
