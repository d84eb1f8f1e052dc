use std::collections::{HashMap, HashSet};

use credithub_protocol::ids::{
    DivisionCode, OrgCode, RegNo, ResidentId, SubjectId, SubjectKind, Uscc,
};
use credithub_protocol::record::{Details, RecordStatus, Severity};
use credithub_protocol::{Date, RecordBody, RecordKey, RecordKind};

use super::*;

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).unwrap()
}

fn generator(origin: &str, seed: u64) -> Generator {
    Generator::new(seed, GeneratorConfig::new(code(origin))).unwrap()
}

fn csv_bytes(seed: u64, kind: FileKind, n: u64, options: &CsvOptions) -> (Vec<u8>, CsvReport) {
    let mut g = generator("320500", seed);
    let bodies = g
        .bodies(n, &RecordMix::only(kind.record_kind()))
        .map(|(_, b)| b);
    let mut out = Vec::new();
    let report = write_csv(kind, bodies, &mut out, options).unwrap();
    (out, report)
}

fn check_ids(body: &RecordBody) {
    match &body.subject.id {
        SubjectId::Uscc(u) => {
            Uscc::parse_strict(u.as_str()).unwrap();
            let individual = body.subject.kind == SubjectKind::IndividualBusiness;
            assert_eq!(
                u.is_individual_business(),
                individual,
                "{}",
                body.subject.name
            );
        }
        SubjectId::ResidentId(r) => {
            let parsed = ResidentId::parse(r.unmasked()).unwrap();
            assert!((1950..=2004).contains(&parsed.birth_date().year()));
            let level = parsed.division().level();
            assert_eq!(level, credithub_protocol::ids::DivisionLevel::County, "{r}");
            assert_eq!(body.subject.kind, SubjectKind::NaturalPerson);
        }
        other => panic!("unexpected subject id {other:?}"),
    }
    for id in &body.other_ids {
        match id {
            SubjectId::RegNo(r) => drop(RegNo::parse(r.as_str()).unwrap()),
            SubjectId::OrgCode(o) => drop(OrgCode::parse(o.as_str()).unwrap()),
            other => panic!("unexpected other id {other:?}"),
        }
    }
    if let Some(rep) = &body.representative {
        ResidentId::parse(rep.id_number.as_deref().unwrap()).unwrap();
    }
    let authority = body.authority.uscc.unwrap();
    assert_eq!(
        Uscc::parse_strict(authority.as_str()).unwrap().authority(),
        '1'
    );
    if let Some(source) = &body.source_unit {
        Uscc::parse_strict(source.uscc.unwrap().as_str()).unwrap();
    }
}

#[test]
fn every_identifier_validates() {
    for origin in ["320500", "320583", "320000", "000000", "110000"] {
        let mut g = generator(origin, 7);
        for (_, body) in g.bodies(1500, &RecordMix::default()) {
            check_ids(&body);
        }
    }
}

#[test]
fn subjects_are_distinct_and_mostly_inside_the_jurisdiction() {
    for origin in ["320500", "320583", "330100", "320000"] {
        let jurisdiction = code(origin);
        let config = GeneratorConfig {
            pool_size: 3000,
            ..GeneratorConfig::new(jurisdiction)
        };
        let g = Generator::new(3, config).unwrap();
        let subjects: Vec<_> = g.subjects().collect();
        assert_eq!(subjects.len(), 3000);
        let ids: HashSet<_> = subjects.iter().map(|s| s.id).collect();
        assert_eq!(ids.len(), subjects.len());
        let businesses: Vec<_> = subjects
            .iter()
            .filter(|s| s.kind != SubjectKind::NaturalPerson)
            .collect();
        let names: HashSet<_> = businesses.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names.len(), businesses.len());
        let inside = subjects
            .iter()
            .filter(|s| jurisdiction.contains(s.id.division().unwrap()))
            .count();
        let share = inside as f64 / subjects.len() as f64;
        assert!((0.95..0.995).contains(&share), "{origin}: {share}");
    }
    // Suzhou and Hangzhou carry retired codes (Wujiang 320584, Fuyang 330183, …).
    let g = Generator::new(
        5,
        GeneratorConfig {
            pool_size: 3000,
            ..GeneratorConfig::new(code("320500"))
        },
    )
    .unwrap();
    assert!(g
        .subjects()
        .any(|s| s.id.division() == Some(code("320584"))));
}

#[test]
fn names_look_real() {
    let mut g = generator("320500", 11);
    let orgs: Vec<String> = g
        .subjects()
        .filter(|s| s.kind == SubjectKind::LegalPerson)
        .map(|s| s.name.clone())
        .collect();
    assert!(
        orgs.iter()
            .filter(|n| n.starts_with("苏州") && n.ends_with("有限公司"))
            .count()
            > orgs.len() / 3
    );
    let shops = g
        .subjects()
        .filter(|s| s.kind == SubjectKind::IndividualBusiness);
    assert!(shops.into_iter().any(|s| s.name.starts_with("昆山市")));
    for s in g.subjects() {
        assert!(!s.name.contains([',', '\n', '"']), "{}", s.name);
    }
    let court = g.record(RecordKind::DISHONEST_DEBTOR).authority.name;
    assert!(court.ends_with("人民法院"), "{court}");
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let options = CsvOptions {
        bad_rows: 0.02,
        ..CsvOptions::default()
    };
    for kind in [FileKind::Penalty, FileKind::Licence] {
        let (a, ra) = csv_bytes(42, kind, 800, &options);
        let (b, rb) = csv_bytes(42, kind, 800, &options);
        assert_eq!(a, b);
        assert_eq!(ra.bad, rb.bad);
        assert_ne!(a, csv_bytes(43, kind, 800, &options).0);
    }
}

#[test]
fn decision_numbers_and_keys_are_distinct() {
    let mut g = generator("320000", 9);
    let mut numbers = HashSet::new();
    let mut keys = HashSet::new();
    let mut licence_numbers = HashSet::new();
    for (kind, body) in g.bodies(6000, &RecordMix::default()) {
        assert!(
            numbers.insert(body.decision_no.clone()),
            "{}",
            body.decision_no
        );
        assert!(keys.insert(RecordKey::derive(code("320000"), kind, &body)));
        if let Details::Licence(l) = &body.details {
            let no = l.licence_no.clone().unwrap();
            if !no.contains(&body.subject.id.unmasked()) {
                assert!(licence_numbers.insert(no.clone()), "{no}");
            }
        }
    }
    let mut g = generator("320500", 1);
    let body = g.record(RecordKind::PENALTY);
    assert!(
        body.decision_no.contains("罚〔") && body.decision_no.ends_with('号'),
        "{}",
        body.decision_no
    );
    let body = g.record(RecordKind::DISHONEST_DEBTOR);
    assert!(
        body.decision_no.starts_with('(') && body.decision_no.contains("执"),
        "{}",
        body.decision_no
    );
}

/// The importer's severity policy, which generated penalties must follow.
fn policy_severity(categories: &[String]) -> Severity {
    credithub_node::import::penalty_severity(categories)
}

#[test]
fn severity_and_status_fit_the_kind() {
    let mut g = generator("320500", 5);
    let mut severities = HashMap::new();
    for (kind, body) in g.bodies(5000, &RecordMix::default()) {
        *severities.entry((kind, body.severity)).or_insert(0) += 1;
        let end = body.decision_date;
        assert!(
            body.decision_date >= Date::new(2019, 1, 1).unwrap()
                && end <= Date::new(2026, 10, 31).unwrap()
        );
        match (kind, &body.details) {
            (RecordKind::LICENCE, Details::Licence(l)) => {
                assert_eq!(body.severity, Severity::NotApplicable);
                assert!(l.valid_to.is_none_or(|to| to > l.valid_from));
                assert_ne!(body.status, RecordStatus::Repaired);
            }
            (RecordKind::RED_LIST, Details::ListEntry(_)) => {
                assert_eq!(body.severity, Severity::NotApplicable)
            }
            (RecordKind::PENALTY, Details::Penalty(p)) => {
                assert_ne!(body.severity, Severity::NotApplicable);
                assert_eq!(p.fine_fen.is_some(), body.severity != Severity::Light);
                assert_eq!(
                    policy_severity(&p.categories),
                    body.severity,
                    "{:?}",
                    p.categories
                );
                assert!(p.fine_fen.unwrap_or(1) > 0 && p.confiscated_fen.unwrap_or(1) > 0);
                if body.status == RecordStatus::Repaired {
                    assert_ne!(body.severity, Severity::Light);
                }
            }
            (RecordKind::BLACK_LIST, Details::ListEntry(_))
            | (RecordKind::DISHONEST_DEBTOR, Details::DishonestDebtor(_)) => {
                assert_eq!(body.severity, Severity::Serious)
            }
            other => panic!("kind and details disagree: {other:?}"),
        }
    }
    for s in [Severity::Light, Severity::General, Severity::Serious] {
        assert!(
            severities
                .get(&(RecordKind::PENALTY, s))
                .copied()
                .unwrap_or(0)
                > 20,
            "{s:?}"
        );
    }
}

#[test]
fn some_subjects_have_many_records() {
    let mut g = generator("320500", 2);
    let mut counts: HashMap<SubjectId, usize> = HashMap::new();
    for (_, body) in g.bodies(5000, &RecordMix::only(RecordKind::LICENCE)) {
        *counts.entry(body.subject.id).or_default() += 1;
    }
    let max = counts.values().copied().max().unwrap();
    assert!(max >= 30, "busiest subject has {max} records");
    assert!(counts.len() > 300, "{} subjects", counts.len());
}

#[test]
fn fen_and_wan_round_trip() {
    for (fen, text) in [
        (5_000_000, "5"),
        (123_456, "0.123456"),
        (150, "0.00015"),
        (0, "0"),
        (1, "0.000001"),
        (-150, "-0.00015"),
        (12_345_678_900, "12345.6789"),
    ] {
        assert_eq!(fen_to_wan(fen), text);
        assert_eq!(wan_to_fen(text), Some(fen));
    }
    for fen in (0..5000).map(|i| i * 7919 + i * i * 31) {
        assert_eq!(wan_to_fen(&fen_to_wan(fen)), Some(fen));
    }
    for bad in ["", "1.2345678", "abc", "1,5", "."] {
        assert_eq!(wan_to_fen(bad), None, "{bad}");
    }
}

#[test]
fn gb18030_decodes_to_the_utf8_file() {
    for kind in [FileKind::Penalty, FileKind::Licence] {
        let utf8 = CsvOptions {
            headers: HeaderStyle::Chinese,
            ..CsvOptions::default()
        };
        let gb = CsvOptions {
            encoding: Encoding::Gb18030,
            ..utf8.clone()
        };
        let (plain, _) = csv_bytes(4, kind, 700, &utf8);
        let (encoded, report) = csv_bytes(4, kind, 700, &gb);
        assert_ne!(plain, encoded);
        assert_eq!(report.bytes, encoded.len() as u64);
        let (text, _, errors) = encoding_rs::GB18030.decode(&encoded);
        assert!(!errors);
        assert_eq!(text.as_bytes(), plain.as_slice());
        assert!(text.starts_with("行政相对人名称,行政相对人类别,统一社会信用代码"));
    }
}

/// What an importer would refuse in a row, by the protocol's validators.
fn faults(kind: FileKind, row: &csv::StringRecord) -> Vec<&'static str> {
    let col = |c: &str| {
        row.get(kind.codes().iter().position(|&x| x == c).unwrap())
            .unwrap()
    };
    let p = if kind == FileKind::Penalty {
        "CF_"
    } else {
        "XK_"
    };
    let mut bad = vec![];
    let uscc = col(&format!("{p}XDR_SHXYM"));
    if !uscc.is_empty() && Uscc::parse(uscc).is_err() {
        bad.push("uscc");
    }
    let id = col(&format!("{p}XDR_ZJHM"));
    if !id.is_empty() && ResidentId::parse(id).is_err() {
        bad.push("id");
    }
    if Date::parse(col(&format!("{p}JDRQ"))).is_err() {
        bad.push("date");
    }
    if kind == FileKind::Penalty {
        for c in ["CF_NR_FK", "CF_NR_WFFF"] {
            if !col(c).is_empty() && wan_to_fen(col(c)).is_none_or(|f| f < 0) {
                bad.push("amount");
            }
        }
    }
    bad
}

#[test]
fn exactly_the_reported_rows_are_broken() {
    for kind in [FileKind::Penalty, FileKind::Licence] {
        let options = CsvOptions {
            bad_rows: 0.05,
            seed: 3,
            ..CsvOptions::default()
        };
        let (bytes, report) = csv_bytes(8, kind, 3000, &options);
        assert_eq!(report.rows, 3000);
        assert!(
            (60..=260).contains(&report.bad.len()),
            "{}",
            report.bad.len()
        );
        let mut reader = csv::Reader::from_reader(bytes.as_slice());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            kind.codes()
        );
        let mut found = Vec::new();
        for row in reader.records() {
            let row = row.unwrap();
            let f = faults(kind, &row);
            assert!(f.len() <= 1, "{f:?}");
            if !f.is_empty() {
                found.push(row.position().unwrap().line());
            }
        }
        let reported: Vec<u64> = report.bad.iter().map(|b| b.line).collect();
        assert_eq!(found, reported);
        let kinds: HashSet<Fault> = report.bad.iter().map(|b| b.fault).collect();
        let expected = if kind == FileKind::Penalty { 4 } else { 3 };
        assert_eq!(kinds.len(), expected, "{kinds:?}");
    }
}

#[test]
fn wrong_kinds_are_refused() {
    let mut g = generator("320500", 1);
    let bodies = g
        .bodies(3, &RecordMix::only(RecordKind::LICENCE))
        .map(|(_, b)| b);
    let err = write_csv(
        FileKind::Penalty,
        bodies,
        Vec::new(),
        &CsvOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, GenerateError::KindMismatch { .. }), "{err}");
    assert!(Generator::new(
        1,
        GeneratorConfig {
            pool_size: 0,
            ..GeneratorConfig::new(code("320500"))
        }
    )
    .is_err());
}
