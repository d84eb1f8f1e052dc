//! Accounts per reporting unit and the monthly report card of a three-tier federation:
//! cities and a province import penalty files (some rows refused) for several units,
//! each node accounts for its own units, the figures travel up in the sessions' reports
//! (link version 4), and the report card at the national hub matches what this test
//! counts itself from the rows it wrote: records, refused rows, on-time share, delays,
//! completeness, the unit that reported nothing (零报送), totals and the city ranking.
//! Ningbo speaks link version 3 only: it sends no accounts, so Zhejiang accounts for
//! Ningbo's records itself, from what it holds.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use common::{cli, json, text};
use credithub_protocol::accounts::Month;
use credithub_protocol::{Date, RecordKind, Uscc, WorkCalendar};
use credithub_scenarios::federation::cluster::{Cluster, ADMIN};
use credithub_scenarios::federation::three_tier_specs;

const HEADER: &str = "CF_XDR_MC,CF_XDR_LB,CF_XDR_SHXYM,CF_WSH,CF_JDRQ,CF_CFJG,CF_CFJGDM,CF_SJLY,CF_CFLB,CF_NR,CF_NR_FK,CF_GSJZQ";

/// One row this test writes.
#[derive(Clone)]
struct Row {
    authority: &'static str,
    authority_uscc: bool,
    source: Option<&'static str>,
    decided: Date,
    publication_end: bool,
    fine: bool,
    valid: bool,
}

/// A unit's figures as this test counts them.
#[derive(Debug, Default, Clone, PartialEq)]
struct Expected {
    records: u64,
    rejected: u64,
    on_time: u64,
    delays: Vec<u32>,
    slots: u64,
    filled: u64,
}

impl Expected {
    fn quantile(&self, p: f64) -> Option<u32> {
        let mut d = self.delays.clone();
        d.sort_unstable();
        (!d.is_empty()).then(|| d[((d.len() - 1) as f64 * p).round() as usize])
    }
}

/// An authority USCC (valid) for the rows that give one.
fn authority_uscc(division: &str) -> String {
    Uscc::with_checks(&format!("11{division}MB000000"))
        .expect("authority USCC")
        .to_string()
}

fn subject_uscc(division: &str) -> String {
    Uscc::with_checks(&format!("91{division}MA1MEXXM"))
        .expect("subject USCC")
        .to_string()
}

/// Rows of a city: its units' rows across the previous month and the current one.
fn rows(
    units: &[(&'static str, Option<&'static str>, usize, usize)],
    today: Date,
    seed: usize,
) -> Vec<Row> {
    let previous = Month::of(today).minus(1);
    let mut out = Vec::new();
    for (u, (authority, source, valid, invalid)) in units.iter().enumerate() {
        for i in 0..valid + invalid {
            let n = seed + u * 7 + i;
            // Days of the previous month, and a few of this month up to today.
            let decided = if i % 4 == 3 && today.day() > 1 {
                Date::new(today.year(), today.month(), 1 + (n as u8) % today.day()).expect("date")
            } else {
                Date::new(previous.year, previous.month, 1 + (n % 28) as u8).expect("date")
            };
            out.push(Row {
                authority,
                authority_uscc: n % 3 == 0,
                source: *source,
                decided,
                publication_end: n % 2 == 0,
                fine: n % 5 != 0,
                valid: i < *valid,
            });
        }
    }
    out
}

/// Writes the rows as a penalty CSV file issued at `division`.
fn write_file(path: &Path, rows: &[Row], division: &str) {
    let mut text = format!("{HEADER}\n");
    for (i, r) in rows.iter().enumerate() {
        let subject = if r.valid {
            subject_uscc(division)
        } else {
            // A wrong check character: refused.
            let mut s = subject_uscc(division);
            let last = if s.ends_with('1') { '2' } else { '1' };
            s.pop();
            s.push(last);
            s
        };
        text.push_str(&format!(
            "某科技有限公司,法人及非法人组织,{subject},{division}罚〔{}〕{i}号,{},{},{},{},罚款,罚款人民币一万元,{},{}\n",
            r.decided.year(),
            r.decided,
            r.authority,
            if r.authority_uscc { authority_uscc(division) } else { String::new() },
            r.source.unwrap_or(""),
            if r.fine { "1" } else { "" },
            if r.publication_end { "2030-12-31" } else { "" },
        ));
    }
    std::fs::write(path, text).expect("file written");
}

/// What the card should say about each (origin, role, unit) for `month`.
fn expected(
    files: &[(&str, Vec<Row>)],
    month: Month,
    today: Date,
) -> BTreeMap<(String, String, String), Expected> {
    let calendar = WorkCalendar::shipped();
    let mut out: BTreeMap<(String, String, String), Expected> = BTreeMap::new();
    for (origin, rows) in files {
        for r in rows.iter().filter(|r| Month::of(r.decided) == month) {
            let source = r.source.unwrap_or(r.authority);
            for (role, unit) in [("authority", r.authority), ("source", source)] {
                let e = out
                    .entry((origin.to_string(), role.to_string(), unit.to_string()))
                    .or_default();
                if !r.valid {
                    e.rejected += 1;
                    continue;
                }
                e.records += 1;
                let days = (today.days_since_epoch() - r.decided.days_since_epoch()) as u32;
                e.delays.push(days);
                e.on_time += u64::from(calendar.working_days_between(r.decided, today) <= 7);
                // Authority USCC, representative, publication end, validity, fine.
                e.slots += 5;
                e.filled +=
                    u64::from(r.authority_uscc) + u64::from(r.publication_end) + u64::from(r.fine);
            }
        }
    }
    out
}

fn import(cluster: &Cluster, i: usize, file: &Path) {
    let o = cli(cluster, i, ADMIN, &["import", &file.to_string_lossy()]);
    // 3: partly done (rows were refused).
    assert!(matches!(o.status.code(), Some(0 | 3)), "{}", text(&o));
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn the_national_report_card_matches_the_rows_each_city_imported() {
    let dir = tempfile::tempdir().expect("tmp");
    let matters = dir.path().join("matters.toml");
    std::fs::write(
        &matters,
        "[[matter]]\nunit = \"苏州市市场监督管理局\"\nkinds = [\"penalty\"]\nfrequency = \"monthly\"\n\n\
         [[matter]]\nunit = \"苏州市交通运输局\"\nkinds = [\"penalty\", \"licence\"]\nfrequency = \"monthly\"\n\n\
         [[matter]]\nunit = \"苏州市生态环境局\"\nkinds = [\"penalty\"]\nfrequency = \"monthly\"\n",
    )
    .expect("catalogue");
    let matters_arg = matters.display().to_string();
    let mut cluster = Cluster::start_with_env(
        &dir.path().join("fed"),
        three_tier_specs(),
        vec![RecordKind::BLACK_LIST],
        Duration::from_millis(500),
        move |i| {
            let catalogue = if i == 3 {
                format!("matters_file = \"{matters_arg}\"\n")
            } else {
                String::new()
            };
            format!("{catalogue}[accounts]\nrefresh_secs = 0\n")
        },
        // Ningbo (6) speaks link version 3 only.
        |i| {
            if i == 6 {
                vec![("CREDIT_SYNC__MAX_LINK_VERSION".to_string(), "3".to_string())]
            } else {
                Vec::new()
            }
        },
    )
    .expect("federation starts");
    let today = credithub_node::clock::today();
    let month = Month::of(today).minus(1);

    // Suzhou: market regulation decides, sometimes supplied by the data bureau; the
    // transport bureau's rows are partly refused. Nanjing: the tax bureau's rows are
    // all refused. Jiangsu itself and Hangzhou: one unit each. Ningbo: one unit.
    let files: Vec<(usize, &str, Vec<Row>)> = vec![
        (
            3,
            "320500",
            rows(
                &[
                    ("苏州市市场监督管理局", None, 9, 0),
                    ("苏州市市场监督管理局", Some("苏州市大数据管理局"), 5, 1),
                    ("苏州市交通运输局", None, 6, 3),
                ],
                today,
                0,
            ),
        ),
        (
            4,
            "320100",
            rows(
                &[
                    ("南京市市场监督管理局", None, 7, 1),
                    ("南京市税务局", None, 0, 4),
                ],
                today,
                40,
            ),
        ),
        (
            1,
            "320000",
            rows(&[("江苏省发展和改革委员会", None, 4, 0)], today, 80),
        ),
        (
            5,
            "330100",
            rows(&[("杭州市市场监督管理局", None, 8, 2)], today, 120),
        ),
        (
            6,
            "330200",
            rows(&[("宁波市市场监督管理局", None, 5, 0)], today, 160),
        ),
    ];
    for (i, division, r) in &files {
        let path = dir.path().join(format!("{division}.csv"));
        write_file(&path, r, division);
        import(&cluster, *i, &path);
    }
    // An import day that ended while the test ran would move every delay by one.
    assert_eq!(
        credithub_node::clock::today(),
        today,
        "the day changed during the test"
    );
    let reporting: Vec<(&str, Vec<Row>)> = files.iter().map(|(_, d, r)| (*d, r.clone())).collect();
    let want = expected(&reporting, month, today);

    // The card at the national hub, once every reporting node's accounts arrived.
    let out = dir.path().join("cards");
    let month_arg = month.to_string();
    let started = Instant::now();
    let card = loop {
        let o = cli(
            &cluster,
            0,
            ADMIN,
            &[
                "--format",
                "json",
                "report-card",
                "--month",
                &month_arg,
                "--out",
                &out.to_string_lossy(),
            ],
        );
        let card = json(&o);
        let units = card["units"].as_array().map_or(0, Vec::len);
        let nodes = card["nodes"].as_array().map_or(0, Vec::len);
        // National, the two provinces, and the three cities that speak version 4.
        if units == want.len() && nodes == 6 {
            break card;
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "{units} of {} units: {card:#}",
            want.len()
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let nodes: Vec<&str> = card["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .filter_map(|n| n["name"].as_str())
        .collect();
    for n in [
        "national", "jiangsu", "zhejiang", "suzhou", "nanjing", "hangzhou",
    ] {
        assert!(nodes.contains(&n), "{n} missing from {nodes:?}");
    }
    assert!(
        !nodes.contains(&"ningbo"),
        "ningbo speaks version 3: {nodes:?}"
    );
    let ningbo = card["units"]
        .as_array()
        .expect("units")
        .iter()
        .filter(|u| u["origin"] == "330200")
        .count();
    assert_eq!(
        ningbo, 2,
        "Zhejiang accounts for Ningbo's unit, deciding and supplying"
    );

    // Every unit row, against this test's own counts.
    for u in card["units"].as_array().expect("units") {
        let key = (
            u["origin"].as_str().expect("origin").to_string(),
            u["role"].as_str().expect("role").to_lowercase(),
            u["name"].as_str().expect("name").to_string(),
        );
        let e = want
            .get(&key)
            .unwrap_or_else(|| panic!("unexpected unit {key:?}"));
        let f = &u["figures"];
        assert_eq!(f["records"], e.records, "{key:?}");
        assert_eq!(f["rejected"], e.rejected, "{key:?}");
        assert_eq!(f["on_time"], e.on_time, "{key:?}");
        assert_eq!(f["measured"], e.records, "{key:?}");
        assert_eq!(
            f["delay_p50_days"].as_u64(),
            e.quantile(0.5).map(u64::from),
            "{key:?}"
        );
        assert_eq!(
            f["delay_p90_days"].as_u64(),
            e.quantile(0.9).map(u64::from),
            "{key:?}"
        );
        match f["completeness"].as_f64() {
            Some(c) => assert!(close(c, e.filled as f64 / e.slots as f64), "{key:?}: {c}"),
            None => assert_eq!(e.slots, 0, "{key:?}"),
        }
        if e.rejected > 0 {
            let reasons = u["reasons"].to_string();
            assert!(reasons.contains("CF_XDR_SHXYM"), "{key:?}: {reasons}");
        }
    }

    // The unit that owed a report and made none.
    let silent: Vec<&str> = card["silent"]
        .as_array()
        .expect("silent")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(silent, ["苏州市生态环境局"]);

    // Totals: each record once, under its source unit.
    let total = |prefix: &str| -> (u64, u64, u64) {
        want.iter()
            .filter(|((o, role, _), _)| role == "source" && o.starts_with(prefix))
            .fold((0, 0, 0), |(r, j, t), (_, e)| {
                (r + e.records, j + e.rejected, t + e.on_time)
            })
    };
    for p in card["provinces"].as_array().expect("provinces") {
        let code = p["code"].as_str().expect("code");
        let (records, rejected, on_time) = total(&code[..2]);
        assert_eq!(
            (
                p["figures"]["records"].as_u64(),
                p["figures"]["rejected"].as_u64(),
                p["figures"]["on_time"].as_u64()
            ),
            (Some(records), Some(rejected), Some(on_time)),
            "{code}"
        );
    }
    let js = card["provinces"]
        .as_array()
        .expect("provinces")
        .iter()
        .find(|p| p["code"] == "320000")
        .expect("jiangsu");
    assert_eq!(
        (js["obliged"].as_u64(), js["silent"].as_u64()),
        (Some(3), Some(1))
    );

    // Cities ranked by score: the mean of on-time share, completeness and, for Suzhou,
    // the obligations met (2 of 3).
    let mut scores: Vec<(String, f64)> = Vec::new();
    for (code, obliged) in [
        ("320500", Some((2.0, 3.0))),
        ("320100", None),
        ("330100", None),
        ("330200", None),
    ] {
        let (mut m, mut slots, mut filled, mut on_time) = (0u64, 0u64, 0u64, 0u64);
        for ((o, role, _), e) in &want {
            if role == "source" && o == code {
                m += e.records;
                on_time += e.on_time;
                slots += e.slots;
                filled += e.filled;
            }
        }
        let mut parts = vec![on_time as f64 / m as f64, filled as f64 / slots as f64];
        if let Some((met, due)) = obliged {
            parts.push(met / due);
        }
        scores.push((
            code.to_string(),
            100.0 * parts.iter().sum::<f64>() / parts.len() as f64,
        ));
    }
    let cities = card["cities"].as_array().expect("cities");
    assert_eq!(cities.len(), 4, "{cities:#?}");
    for c in cities {
        let code = c["area"]["code"].as_str().expect("code");
        let (_, s) = scores
            .iter()
            .find(|(k, _)| k == code)
            .expect("a city of the test");
        assert!(close(c["score"].as_f64().expect("score"), *s), "{code}");
    }
    let mut by_score = scores.clone();
    by_score.sort_by(|a, b| b.1.total_cmp(&a.1));
    let ranked: Vec<&str> = cities
        .iter()
        .filter_map(|c| c["area"]["code"].as_str())
        .collect();
    let expected_order: Vec<&str> = by_score.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(ranked, expected_order);
    assert_eq!(cities[0]["rank"], 1);

    // The files: a CSV per table (with a byte-order mark) and one workbook.
    let stem = format!("report-card-{month}");
    let units_csv =
        std::fs::read_to_string(out.join(format!("{stem}-units.csv"))).expect("units csv");
    assert!(units_csv.starts_with('\u{feff}'));
    assert_eq!(units_csv.lines().count(), 1 + want.len());
    assert!(units_csv.contains("苏州市大数据管理局"));
    let silent_csv =
        std::fs::read_to_string(out.join(format!("{stem}-silent.csv"))).expect("silent csv");
    assert!(silent_csv.contains("苏州市生态环境局"));
    let cities_csv =
        std::fs::read_to_string(out.join(format!("{stem}-cities.csv"))).expect("cities csv");
    let first_city = cities_csv.lines().nth(1).expect("a ranked city");
    assert!(
        first_city.starts_with(&format!("1,")) && first_city.contains(expected_order[0]),
        "{first_city}"
    );
    use calamine::Reader;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook(out.join(format!("{stem}.xlsx"))).expect("workbook");
    let names = book.sheet_names();
    assert_eq!(names.len(), 4, "{names:?}");
    let units_sheet = book.worksheet_range(&names[2]).expect("units sheet");
    // A title row and the header, then a row per unit.
    assert_eq!(units_sheet.height(), 2 + want.len());

    // The card in the terminal names the silent unit too.
    let o = cli(
        &cluster,
        0,
        ADMIN,
        &[
            "report-card",
            "--month",
            &month_arg,
            "--out",
            &out.to_string_lossy(),
            "--cached",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("苏州市生态环境局"), "{}", text(&o));
    cluster.stop_node(6, false);
}
