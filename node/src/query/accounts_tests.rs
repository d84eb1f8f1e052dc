use credithub_protocol::accounts::{Frequency, UnitRole};
use credithub_protocol::record::{Authority, Representative};
use credithub_protocol::testing::sample_body;
use credithub_protocol::RecordKey;

use super::*;
use crate::query::matters::Matter;

fn day(y: u16, m: u8, d: u8) -> Date {
    Date::new(y, m, d).expect("date")
}

fn month(s: &str) -> Month {
    s.parse().expect("month")
}

/// Noon in China on `date`, in milliseconds since the epoch.
fn noon(date: Date) -> u64 {
    let days = u64::try_from(date.days_since_epoch()).expect("after 1970");
    days * 86_400_000 + 4 * 3_600_000
}

fn suzhou() -> DivisionCode {
    DivisionCode::parse("320500").expect("code")
}

fn matter(unit: &str, frequency: Frequency) -> Matter {
    Matter {
        unit: unit.into(),
        uscc: None,
        kinds: vec![RecordKind::PENALTY],
        frequency,
        origin: suzhou(),
        since: None,
    }
}

/// A Suzhou store: three penalties of market regulation decided Monday 2 March 2026
/// and arrived 1, 3 and 18 days later; one supplied by the data bureau; one deleted;
/// one decided before the months kept; and two refused rows of the transport bureau.
/// Suzhou's accounts as of 2026-03-31, over 13 months, with the default deadlines.
fn suzhou_on_march_31(matters: &Matters) -> AccountsOptions<'_> {
    AccountsOptions {
        name: "suzhou",
        calendar: WorkCalendar::shipped(),
        matters,
        today: day(2026, 3, 31),
        months: 13,
        children: vec![],
        objection_days: 5,
        repair_days: 3,
        now_ms: 1,
    }
}

fn store(dir: &tempfile::TempDir) -> Store {
    let store = Store::open(dir.path(), Some(suzhou())).expect("store");
    let write = |n: u32, decided: Date, arrived: Date, f: &dyn Fn(&mut RecordBody)| {
        let mut b = sample_body(n, "91110000600037341L");
        b.decision_date = decided;
        f(&mut b);
        store
            .write_local(vec![(RecordKind::PENALTY, b)], noon(arrived))
            .expect("write")
    };
    let none = |_: &mut RecordBody| {};
    write(1, day(2026, 3, 2), day(2026, 3, 3), &none);
    write(2, day(2026, 3, 2), day(2026, 3, 5), &none);
    write(3, day(2026, 3, 2), day(2026, 3, 20), &none);
    write(4, day(2026, 3, 10), day(2026, 3, 11), &|b| {
        b.source_unit = Some(Authority {
            name: "苏州市数据局".into(),
            uscc: None,
        });
        b.representative = Some(Representative {
            name: "张三".into(),
            id_type: None,
            id_number: None,
        });
    });
    let gone = write(5, day(2026, 3, 2), day(2026, 3, 3), &none);
    let key = RecordKey::derive(suzhou(), RecordKind::PENALTY, &{
        let mut b = sample_body(5, "91110000600037341L");
        b.decision_date = day(2026, 3, 2);
        b
    });
    assert!(matches!(gone[0], crate::store::WriteOutcome::Inserted(k, _) if k == key));
    store
        .delete_local(&[key], noon(day(2026, 3, 4)))
        .expect("delete");
    write(6, day(2025, 1, 6), day(2025, 1, 7), &none);
    let tally = |reason: &str| RefusalTally {
        month: month("2026-03"),
        role: UnitRole::Source,
        origin: suzhou(),
        name: "苏州市交通运输局".into(),
        uscc: None,
        rows: 1,
        by_kind: [(RecordKind::PENALTY.code(), 1)].into_iter().collect(),
        reasons: [(reason.to_string(), 1)].into_iter().collect(),
    };
    store
        .add_refusals(&[tally("CF_WSH: required value is empty")])
        .expect("refusals");
    store
        .add_refusals(&[
            tally("CF_WSH: required value is empty"),
            tally("CF_JDRQ: not a date"),
        ])
        .expect("refusals add up");
    store
}

#[test]
fn units_are_accounted_by_role_and_month_with_refusals_and_obligations() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = store(&dir);
    let matters = Matters {
        matters: vec![
            matter("苏州市市场监督管理局", Frequency::Quarterly),
            matter("苏州市交通运输局", Frequency::Monthly),
            matter("苏州市生态环境局", Frequency::Monthly),
        ],
    };
    let opts = suzhou_on_march_31(&matters);
    let a = compute(&store, &opts).expect("accounts");
    let find = |role: UnitRole, name: &str| {
        a.units
            .iter()
            .find(|u| u.role == role && u.name == name)
            .unwrap_or_else(|| panic!("{role:?} {name} in {:#?}", a.units))
    };
    let march = month("2026-03");
    let market = &find(UnitRole::Source, "苏州市市场监督管理局").months[&march];
    assert_eq!((market.records, market.measured, market.on_time), (3, 3, 2));
    assert_eq!(market.delay_quantile(0.5), Some(3));
    assert_eq!(market.delay_quantile(0.9), Some(18));
    // Authority USCC, representative, publication end, validity, fine: 1 of 5 each.
    assert_eq!((market.optional_slots, market.optional_filled), (15, 3));
    let deciding = &find(UnitRole::Authority, "苏州市市场监督管理局").months;
    assert_eq!(deciding[&march].records, 4);
    assert_eq!(deciding.len(), 1, "2025-01 lies before the months kept");
    let data = &find(UnitRole::Source, "苏州市数据局").months[&march];
    assert_eq!(
        (data.records, data.on_time, data.optional_filled),
        (1, 1, 2)
    );
    let transport = &find(UnitRole::Source, "苏州市交通运输局").months[&march];
    assert_eq!((transport.records, transport.rejected), (0, 3));
    assert_eq!(transport.reasons["CF_WSH: required value is empty"], 2);
    assert_eq!(transport.reasons["CF_JDRQ: not a date"], 1);
    let silent: Vec<&str> = a
        .obligations
        .iter()
        .filter(|o| o.silent(march))
        .map(|o| o.name.as_str())
        .collect();
    assert_eq!(silent, ["苏州市生态环境局"]);
    assert_eq!(a.obligations[0].reported[&march], 3);
    // A child reporting for Suzhou's origin takes its units off this node's accounts.
    let without = compute(
        &store,
        &AccountsOptions {
            children: vec![suzhou()],
            ..opts.clone()
        },
    )
    .expect("accounts");
    assert!(without.units.is_empty());
    let (n, problems) = store.verify_refusals().expect("verify");
    assert_eq!((n, problems.len()), (1, 0));
}

#[test]
fn own_origins_exclude_reporting_children() {
    let js = DivisionCode::parse("320000").expect("code");
    let sz = suzhou();
    let ks = DivisionCode::parse("320583").expect("code");
    assert!(is_own(js, &[], ks));
    assert!(!is_own(js, &[sz], ks));
    assert!(is_own(js, &[sz], js));
    assert!(!is_own(
        sz,
        &[],
        DivisionCode::parse("320100").expect("code")
    ));
}

#[test]
fn objections_and_repairs_are_counted_against_their_deadlines() {
    use credithub_protocol::record::{ObjectionDetails, RecordStatus};

    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::open(dir.path(), Some(suzhou())).expect("store");
    let penalty = |n: u32| {
        let mut b = sample_body(n, "91110000600037341L");
        b.decision_date = day(2026, 3, 2);
        b
    };
    let keys: Vec<RecordKey> = (1..=3)
        .map(|n| RecordKey::derive(suzhou(), RecordKind::PENALTY, &penalty(n)))
        .collect();
    for n in 1..=3 {
        store
            .write_local(
                vec![(RecordKind::PENALTY, penalty(n))],
                noon(day(2026, 3, 3)),
            )
            .expect("write");
    }
    // Objections filed on Monday 9 March to each of the three records.
    let filed = noon(day(2026, 3, 9));
    for (i, key) in keys.iter().enumerate() {
        let version = store.get(key).expect("read").expect("held").version;
        let mut o = sample_body(100 + i as u32, "91110000600037341L");
        o.details = Details::Objection(ObjectionDetails {
            target: *key,
            target_version: version,
            reason: "not us".into(),
        });
        store
            .write_local(vec![(RecordKind::OBJECTION, o)], filed)
            .expect("objection");
    }
    // The first decided on Friday 13 March (4 working days), the second on Wednesday
    // 18 March (7 working days: late); the third is still open.
    for (n, decided) in [(1, day(2026, 3, 13)), (2, day(2026, 3, 18))] {
        let mut b = penalty(n);
        b.extra.insert(
            super::super::monitor::DECISION_FIELD.into(),
            format!("confirmed ({})", noon(decided)),
        );
        store
            .write_local(vec![(RecordKind::PENALTY, b)], noon(decided))
            .expect("decided");
    }
    // A repair recorded on 20 March.
    let mut repaired = sample_body(9, "91110000600037341L");
    repaired.decision_date = day(2026, 3, 2);
    repaired.status = RecordStatus::Repaired;
    store
        .write_local(
            vec![(RecordKind::PENALTY, repaired)],
            noon(day(2026, 3, 20)),
        )
        .expect("repaired");
    let matters = Matters::default();
    let opts = suzhou_on_march_31(&matters);
    let a = compute(&store, &opts).expect("accounts");
    let m = &a.monitor[&suzhou()][&month("2026-03")];
    assert_eq!(
        (m.objections, m.objections_in_time, m.objections_overdue),
        (3, 1, 1)
    );
    assert_eq!((m.repairs, m.repairs_timed), (1, 0));
    // Objections are not units' records.
    let market = a
        .units
        .iter()
        .find(|u| u.role == UnitRole::Source)
        .expect("a unit");
    assert_eq!(market.months[&month("2026-03")].records, 4);
}
