//! `accounts` and `report-card`: the accounts per reporting unit of a node's subtree,
//! and the monthly notice (通报) made of them — per unit, the units that reported
//! nothing they owed (零报送), per province, and the cities ranked by the indicators of
//! city monitoring (城市信用状况监测) — as tables, CSV files and an XLSX workbook.

use std::path::PathBuf;

use anyhow::bail;
use credithub_node::admin::{AdminRequest, AdminResponse};
use credithub_protocol::accounts::card::{AreaRow, Figures, ReportCard};
use credithub_protocol::accounts::{Month, SubtreeAccounts};
use credithub_protocol::DivisionCode;

use crate::online::{ago, NodeArgs};
use crate::output::{print_json, Format};
use crate::sheets::{write_xlsx, Sheet, Value};

/// Arguments of `report-card`.
#[derive(Debug, clap::Args)]
pub(crate) struct CardArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// The month (YYYY-MM).
    #[arg(long)]
    month: Month,
    /// The directory the CSV files and the workbook are written to.
    #[arg(long, default_value = ".")]
    out: PathBuf,
    /// Take each node's accounts as kept (up to `accounts.refresh_secs` old) rather
    /// than computing the asked node's own now.
    #[arg(long)]
    cached: bool,
}

/// Arguments of `accounts`.
#[derive(Debug, clap::Args)]
pub(crate) struct AccountsArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// Show this month's figures (by default the current month).
    #[arg(long)]
    month: Option<Month>,
}

fn fetch(node: &NodeArgs, fresh: bool) -> anyhow::Result<SubtreeAccounts> {
    match node.call("collecting the accounts", AdminRequest::Accounts { fresh })? {
        AdminResponse::Accounts(a) => Ok(*a),
        AdminResponse::Error(e) => bail!("the node refused: {e}"),
        other => bail!("unexpected answer {other:?}"),
    }
}

fn place(code: DivisionCode) -> String {
    format!("{code} {}", code.name().unwrap_or(""))
}

fn figure_values(f: &Figures) -> Vec<Value> {
    vec![
        Value::Count(f.records),
        Value::Count(f.penalties),
        Value::Count(f.licences),
        Value::Share(f.on_time_share),
        Value::Days(f.delay_p50_days),
        Value::Days(f.delay_p90_days),
        Value::Share(f.completeness),
        Value::Count(f.rejected),
    ]
}

const FIGURE_HEADER: [&str; 8] = [
    "记录数 records",
    "行政处罚 penalties",
    "行政许可 licences",
    "按时率 on time",
    "延迟中位数(天) delay p50",
    "延迟P90(天) delay p90",
    "可选项完整率 completeness",
    "退回行数 rejected",
];

fn units_sheet(card: &ReportCard) -> Sheet {
    let mut header = vec![
        "省 province",
        "市 city",
        "来源地 origin",
        "角色 role",
        "单位 unit",
        "统一社会信用代码 USCC",
    ];
    header.extend(FIGURE_HEADER);
    header.push("主要退回原因 reasons");
    let rows = card
        .units
        .iter()
        .map(|u| {
            let mut r = vec![
                Value::Text(place(u.province)),
                Value::Text(u.city.map(place).unwrap_or_default()),
                Value::Text(u.origin.to_string()),
                Value::Text(u.role.as_str().to_string()),
                Value::Text(u.name.clone()),
                Value::Text(u.uscc.clone().unwrap_or_default()),
            ];
            r.extend(figure_values(&u.figures));
            let reasons: Vec<String> = u.reasons.iter().map(|(r, n)| format!("{r} ×{n}")).collect();
            r.push(Value::Text(reasons.join("; ")));
            r
        })
        .collect();
    Sheet {
        name: "单位通报 units",
        file: "units",
        header,
        rows,
    }
}

fn silent_sheet(card: &ReportCard) -> Sheet {
    let rows = card
        .silent
        .iter()
        .map(|s| {
            vec![
                Value::Text(place(s.origin)),
                Value::Text(s.name.clone()),
                Value::Text(s.uscc.clone().unwrap_or_default()),
                Value::Text(s.kinds.join(", ")),
                Value::Text(s.frequency.clone()),
                Value::Text(s.period.clone()),
                Value::Text(s.node.clone()),
            ]
        })
        .collect();
    Sheet {
        name: "零报送 silent units",
        file: "silent",
        header: vec![
            "来源地 origin",
            "单位 unit",
            "统一社会信用代码 USCC",
            "应报类型 kinds",
            "频次 frequency",
            "期间 period",
            "节点 node",
        ],
        rows,
    }
}

const AREA_HEADER: [&str; 10] = [
    "报送单位 units",
    "应报事项 obliged",
    "零报送 silent",
    "红名单 red listed",
    "黑名单 black listed",
    "异议 objections",
    "异议按期办结率 objections in time",
    "异议逾期 overdue",
    "信用修复 repairs",
    "修复按期率 repairs in time",
];

fn area_values(a: &AreaRow) -> Vec<Value> {
    let m = &a.monitor;
    let mut r = vec![Value::Text(place(a.code))];
    r.extend(figure_values(&a.figures));
    r.extend([
        Value::Count(a.units),
        Value::Count(a.obliged),
        Value::Count(a.silent),
        Value::Count(m.red_listed),
        Value::Count(m.black_listed),
        Value::Count(m.objections),
        Value::Share(a.objections_in_time_share()),
        Value::Count(m.objections_overdue),
        Value::Count(m.repairs),
        Value::Share(
            (m.repairs_timed > 0).then(|| m.repairs_in_time as f64 / m.repairs_timed as f64),
        ),
    ]);
    r
}

fn area_header(first: &[&'static str]) -> Vec<&'static str> {
    let mut h = first.to_vec();
    h.extend(FIGURE_HEADER);
    h.extend(AREA_HEADER);
    h
}

fn province_sheet(card: &ReportCard) -> Sheet {
    Sheet {
        name: "省级汇总 provinces",
        file: "provinces",
        header: area_header(&["省 province"]),
        rows: card.provinces.iter().map(area_values).collect(),
    }
}

fn city_sheet(card: &ReportCard) -> Sheet {
    let rows = card
        .cities
        .iter()
        .map(|c| {
            let mut r = vec![
                Value::Text(c.rank.map(|r| r.to_string()).unwrap_or_default()),
                Value::Score(c.score),
            ];
            r.extend(area_values(&c.area));
            r
        })
        .collect();
    Sheet {
        name: "城市信用状况监测 cities",
        file: "cities",
        header: area_header(&["排名 rank", "得分 score", "市 city"]),
        rows,
    }
}

/// The card's sheets, in the workbook's order.
fn sheets(card: &ReportCard) -> Vec<Sheet> {
    vec![
        province_sheet(card),
        city_sheet(card),
        units_sheet(card),
        silent_sheet(card),
    ]
}

/// Runs `report-card`.
pub(crate) fn run_card(args: &CardArgs, format: Format) -> anyhow::Result<bool> {
    let accounts = fetch(&args.node, !args.cached)?;
    let card = ReportCard::of(&accounts, args.month);
    let sheets = sheets(&card);
    std::fs::create_dir_all(&args.out)?;
    let stem = format!("report-card-{}", args.month);
    let mut written = Vec::new();
    for s in &sheets {
        let path = args.out.join(format!("{stem}-{}.csv", s.file));
        s.write_csv(&path)?;
        written.push(path);
    }
    let book = args.out.join(format!("{stem}.xlsx"));
    write_xlsx(&sheets, &format!("信用信息报送通报 {}", args.month), &book)?;
    written.push(book);
    match format {
        Format::Json => print_json(&card)?,
        Format::Table => {
            say!("Report card {} of {} nodes:", args.month, card.nodes.len());
            for n in &card.nodes {
                say!(
                    "  {} ({}), accounts computed {}",
                    n.name,
                    n.jurisdiction,
                    ago(n.at_ms)
                );
            }
            for s in &sheets {
                s.print();
            }
            for p in &written {
                say!("written {}", p.display());
            }
        }
    }
    Ok(true)
}

/// Runs `accounts`: each unit's figures of one month, and the units that owed a
/// report and made none.
pub(crate) fn run_accounts(args: &AccountsArgs, format: Format) -> anyhow::Result<bool> {
    let accounts = fetch(&args.node, true)?;
    match format {
        Format::Json => print_json(&accounts)?,
        Format::Table => {
            let month = match args.month {
                Some(m) => m,
                None => {
                    let today = credithub_node::clock::today();
                    Month::of(today)
                }
            };
            let card = ReportCard::of(&accounts, month);
            say!("Accounts of {month} from {} nodes", card.nodes.len());
            units_sheet(&card).print();
            silent_sheet(&card).print();
        }
    }
    Ok(true)
}
