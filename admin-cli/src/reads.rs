//! Reading the data: subject queries (with each origin's freshness), joint-measure
//! checks, credit reports, and timeliness figures.

use anyhow::bail;
use clap::{Args, ValueEnum};
use credithub_node::admin::{AdminRequest, AdminResponse};
use credithub_node::clock::today;
use credithub_node::query::{self, OriginFreshness, SubjectAnswer};
use credithub_node::Store;
use credithub_protocol::ids::SubjectId;
use credithub_protocol::lifecycle::{Audience, PublicationRules};

use crate::online::{NodeArgs, Target};
use crate::output::{print_json, table, Format};

/// Who the answer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AudienceArg {
    /// Published records only.
    Public,
    /// Every shared record.
    Government,
    /// Everything held, personal numbers in full (auditor certificates only).
    Auditor,
}

impl From<AudienceArg> for Audience {
    fn from(a: AudienceArg) -> Self {
        match a {
            AudienceArg::Public => Audience::Public,
            AudienceArg::Government => Audience::Government,
            AudienceArg::Auditor => Audience::Auditor,
        }
    }
}

/// Arguments of `query`.
#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    #[command(flatten)]
    target: Target,
    /// The subject's USCC, resident identity number, registration number or
    /// organisation code (any of a company's codes finds all its records), or a code
    /// with its kind: `tax-no:110108600037341`, `passport:E12345678`,
    /// `hk-macao-permit:H12345678`, `taiwan-permit:12345678`,
    /// `foreign-permanent-resident:…`.
    #[arg(long)]
    subject: String,
    /// Why you ask (required for natural persons; written to the audit log).
    #[arg(long)]
    purpose: Option<String>,
    /// At a hub: also ask the children directly and merge what they hold newer.
    #[arg(long)]
    fresh: bool,
    /// Read as this audience (the certificate's role decides what is allowed).
    #[arg(long = "as", value_enum)]
    audience: Option<AudienceArg>,
}

/// Arguments of `search`.
#[derive(Debug, Args)]
pub(crate) struct SearchArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// The whole name or a fragment of it (two characters at least).
    name: String,
    /// The page (from 1).
    #[arg(long, default_value_t = 1)]
    page: u32,
    /// Subjects per page (at most 100).
    #[arg(long, default_value_t = 20)]
    per_page: u32,
    /// Read as this audience (the public never finds natural persons by name).
    #[arg(long = "as", value_enum)]
    audience: Option<AudienceArg>,
}

/// Runs `search`.
pub(crate) fn run_search(args: &SearchArgs, format: Format) -> anyhow::Result<bool> {
    let req = AdminRequest::Search {
        name: args.name.clone(),
        audience: args.audience.map(Into::into),
        page: args.page,
        per_page: args.per_page,
    };
    let AdminResponse::Found(a) = call(&args.node, "searching", req)? else {
        bail!("unexpected answer");
    };
    match format {
        Format::Json => print_json(&a)?,
        Format::Table => {
            say!(
                "{} subject(s) named like {:?} at {} (page {} of {}, read as {:?}){}",
                a.total,
                a.query,
                a.node,
                a.page,
                a.total.div_ceil(a.per_page.max(1)).max(1),
                a.audience.unwrap_or(Audience::Government),
                if a.complete {
                    ""
                } else {
                    "; more names match than one search ranks: give more of the name"
                }
            );
            let mut t = table(&["NAME", "SUBJECT", "KIND", "RECORDS", "ORIGINS"]);
            for h in &a.hits {
                let origins: Vec<String> = h.origins.iter().map(ToString::to_string).collect();
                t.add_row(vec![
                    h.name.clone(),
                    h.subject.clone(),
                    h.kind.clone(),
                    if h.more {
                        format!("{}+", h.records)
                    } else {
                        h.records.to_string()
                    },
                    origins.join(" "),
                ]);
            }
            say!("{t}");
        }
    }
    Ok(true)
}

fn call(node: &NodeArgs, what: &str, req: AdminRequest) -> anyhow::Result<AdminResponse> {
    let bar = crate::output::spinner(what);
    let answer = node.with(async |c| match c.call(&req).await? {
        AdminResponse::Error(e) => bail!("{} refused: {e}", c.node().name),
        other => Ok(other),
    });
    bar.finish_and_clear();
    answer
}

/// Runs `query`: at a running node, or on a stopped node's store (read as a
/// government system would).
pub(crate) fn run_query(args: &QueryArgs, format: Format) -> anyhow::Result<bool> {
    let answer = match &args.target.data_dir {
        Some(dir) => {
            let id = SubjectId::parse_tagged(&args.subject)
                .map_err(|e| anyhow::anyhow!("--subject: {e}"))?;
            let store = Store::open(dir, None)?;
            let audience = Audience::Government;
            let about =
                query::records_about(&store, &id, audience, &PublicationRules::default(), today())?;
            let views = about.views;
            if id.is_personal() {
                // Reading the store directly is a query like any other: it needs a
                // purpose and is written to the audit log.
                let purpose = args.purpose.as_deref().map(str::trim).unwrap_or("");
                if purpose.is_empty() {
                    bail!("a query about a natural person needs a stated purpose (--purpose); it is written to the audit log");
                }
                let who = format!(
                    "offline:{}",
                    std::env::var("USER").unwrap_or_else(|_| "unknown".into())
                );
                store.audit(
                    credithub_node::clock::now_millis(),
                    &who,
                    purpose,
                    "query",
                    &id.unmasked(),
                    views.len() as u32,
                )?;
            }
            let origins = query::origin_counts(&views)
                .into_iter()
                .map(|(origin, records)| OriginFreshness {
                    origin,
                    name: origin.name().unwrap_or("").to_string(),
                    records,
                    synced_ms: None,
                    via: "stopped store".into(),
                })
                .collect();
            SubjectAnswer {
                node: format!("store in {}", dir.display()),
                subject: query::id_for(&id, audience),
                subject_name: views
                    .first()
                    .map(|v| v.subject_name.clone())
                    .unwrap_or_default(),
                audience: Some(audience),
                records: views,
                origins,
                at_ms: credithub_node::clock::now_millis(),
                aliases: about.aliases,
                alias_conflicts: about.conflicts,
                ..SubjectAnswer::default()
            }
        }
        None => {
            let req = AdminRequest::Query {
                subject: args.subject.clone(),
                purpose: args.purpose.clone(),
                audience: args.audience.map(Into::into),
                fresh: args.fresh,
            };
            match call(&args.target.node, "querying", req)? {
                AdminResponse::Answer(a) => *a,
                other => bail!("unexpected answer {other:?}"),
            }
        }
    };
    match format {
        Format::Json => print_json(&answer)?,
        Format::Table => print_answer(&answer),
    }
    Ok(true)
}

fn print_answer(a: &SubjectAnswer) {
    say!(
        "{} record(s) about {} {} held by {} (read as {:?}){}",
        a.records.len(),
        a.subject_name,
        a.subject,
        a.node,
        a.audience.unwrap_or(Audience::Government),
        if a.partial {
            format!("; PARTIAL: no answer from {}", a.unanswered.join(", "))
        } else {
            String::new()
        }
    );
    if !a.aliases.is_empty() {
        let codes: Vec<String> = a
            .aliases
            .iter()
            .map(|x| format!("{} {}", x.kind, x.id))
            .collect();
        say!("also filed under: {}", codes.join(", "));
    }
    for c in &a.alias_conflicts {
        say!("CONFLICTING CODES: {}", c.message);
    }
    let mut o = table(&["ORIGIN", "RECORDS", "VIA", "FRESH AS OF"]);
    for f in &a.origins {
        o.add_row(vec![
            format!("{} {}", f.origin, f.name),
            f.records.to_string(),
            f.via.clone(),
            f.synced_ms
                .map(|ms| {
                    format!(
                        "{:.1} s before the answer",
                        a.at_ms.saturating_sub(ms) as f64 / 1000.0
                    )
                })
                .unwrap_or_else(|| "unknown".into()),
        ]);
    }
    say!("{o}");
    let mut t = table(&[
        "KIND",
        "ORIGIN",
        "AUTHORITY",
        "DECISION",
        "DATE",
        "SEVERITY",
        "STATUS",
        "PUBLISHED",
        "CONTENT",
    ]);
    for v in &a.records {
        t.add_row(vec![
            v.kind.clone(),
            v.origin.to_string(),
            v.authority.clone(),
            v.decision_no.clone(),
            v.decision_date.to_string(),
            v.severity.clone(),
            match &v.objection {
                Some(o) => format!("{} ({o})", v.status),
                None => v.status.clone(),
            },
            if v.published { "yes" } else { "no" }.into(),
            v.summary.clone(),
        ]);
    }
    say!("{t}");
}

/// Arguments of `check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// The subject's identifier.
    #[arg(long)]
    subject: String,
    /// The action to check (`government-procurement`, …); all actions when omitted.
    #[arg(long)]
    action: Option<String>,
    /// Why you ask (required for natural persons).
    #[arg(long)]
    purpose: Option<String>,
}

/// Runs `check`; returns whether no measure applies.
pub(crate) fn run_check(args: &CheckArgs, format: Format) -> anyhow::Result<bool> {
    let req = AdminRequest::Check {
        subject: args.subject.clone(),
        action: args.action.clone(),
        purpose: args.purpose.clone(),
    };
    let c = match call(&args.node, "checking", req)? {
        AdminResponse::Checked(c) => c,
        other => bail!("unexpected answer {other:?}"),
    };
    match format {
        Format::Json => print_json(&c)?,
        Format::Table => {
            say!(
                "{} measure(s) apply to {} for {} on {} ({} record(s) considered)",
                c.applies.len(),
                c.subject,
                c.action.as_deref().unwrap_or("any action"),
                c.date.map(|d| d.to_string()).unwrap_or_default(),
                c.records_considered
            );
            let mut t = table(&[
                "ACTION",
                "MEASURE",
                "LEGAL BASIS",
                "MEMORANDUM",
                "BECAUSE OF",
            ]);
            for m in &c.applies {
                t.add_row(vec![
                    m.action.clone(),
                    m.measure.clone(),
                    m.basis.clone(),
                    m.memorandum.clone(),
                    format!(
                        "{} {} ({})",
                        m.record.kind, m.record.decision_no, m.record.origin_name
                    ),
                ]);
            }
            if !c.applies.is_empty() {
                say!("{t}");
            }
        }
    }
    Ok(true)
}

/// Arguments of `report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// The subject's identifier.
    #[arg(long)]
    subject: String,
    /// Why you ask (required for natural persons).
    #[arg(long)]
    purpose: Option<String>,
}

/// Runs `report`: text, or the structured report with `--format json`.
pub(crate) fn run_report(args: &ReportArgs, format: Format) -> anyhow::Result<bool> {
    let req = AdminRequest::Report {
        subject: args.subject.clone(),
        purpose: args.purpose.clone(),
    };
    match call(&args.node, "reporting", req)? {
        AdminResponse::Report(r, text) => {
            match format {
                Format::Json => print_json(&r)?,
                Format::Table => say!("{text}"),
            }
            Ok(true)
        }
        other => bail!("unexpected answer {other:?}"),
    }
}

/// Runs `timeliness`.
pub(crate) fn run_timeliness(node: &NodeArgs, format: Format) -> anyhow::Result<bool> {
    let t = match call(node, "computing", AdminRequest::Timeliness)? {
        AdminResponse::Timeliness(t) => t,
        other => bail!("unexpected answer {other:?}"),
    };
    match format {
        Format::Json => print_json(&t)?,
        Format::Table => {
            let mut table_ = table(&[
                "ORIGIN",
                "RECORDS",
                "BY KIND",
                "DELAY P50 (d)",
                "P90",
                "MAX",
                "LATE (> 7 working days)",
            ]);
            for o in &t.origins {
                let kinds: Vec<String> =
                    o.by_kind.iter().map(|(k, n)| format!("{k} {n}")).collect();
                table_.add_row(vec![
                    format!("{} {}", o.origin, o.name),
                    o.measured.to_string(),
                    kinds.join(", "),
                    o.delay_p50_days.to_string(),
                    o.delay_p90_days.to_string(),
                    o.delay_max_days.to_string(),
                    format!("{} ({:.1} %)", o.late, o.late_share * 100.0),
                ]);
            }
            say!("{table_}");
            if !t.uncovered_years.is_empty() {
                let years: Vec<String> = t.uncovered_years.iter().map(u16::to_string).collect();
                say!(
                    "Working days of decisions in {} counted Monday to Friday plus the node's \
                     [calendar] dates: no public holiday data shipped for them.",
                    years.join(", ")
                );
            }
        }
    }
    Ok(true)
}
