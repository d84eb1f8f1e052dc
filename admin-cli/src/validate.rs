//! `credit-admin validate uscc|ric|region CODE…`: offline identifier validation.

use clap::{Args, ValueEnum};
use credithub_protocol::ids::{
    uscc, DivisionCode, DivisionLevel, DivisionStatus, ResidentId, Uscc,
};
use serde::Serialize;

use crate::output::{print_json, table, Format};

/// Which identifier kind to validate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum CodeKind {
    /// Unified Social Credit Code (GB 32100-2015).
    Uscc,
    /// Resident identity number (GB 11643-1999), 18 or legacy 15 digits.
    Ric,
    /// GB/T 2260 division code.
    Region,
}

/// Arguments of `validate`.
#[derive(Debug, Args)]
pub(crate) struct ValidateArgs {
    /// The kind of code.
    #[arg(value_enum)]
    kind: CodeKind,
    /// The codes to check.
    #[arg(required = true)]
    codes: Vec<String>,
}

/// The verdict on one code.
#[derive(Debug, Serialize)]
struct Verdict {
    /// The code as given (resident identity numbers masked).
    input: String,
    /// Whether the code is accepted.
    valid: bool,
    /// Why not, or what it is.
    detail: String,
    /// Flags on accepted codes (`pilot-check-exception`, `unlisted-division`, `legacy-15-digit`).
    flags: Vec<&'static str>,
}

fn mask_input(s: &str) -> String {
    let chars: Vec<char> = s.trim().chars().collect();
    if chars.len() < 10 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..6].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}{}{tail}", "*".repeat(chars.len() - 10))
}

fn division_detail(d: DivisionCode) -> (String, Option<&'static str>) {
    match (d.status(), d.name()) {
        (DivisionStatus::Current, Some(name)) => (format!("{d} {name}"), None),
        _ => (
            format!(
                "{d} (not in the 2024 list: retired or unlisted, under {})",
                d.province_name().unwrap_or("?")
            ),
            Some("unlisted-division"),
        ),
    }
}

fn check(kind: CodeKind, code: &str) -> Verdict {
    match kind {
        CodeKind::Uscc => match Uscc::parse(code) {
            Ok(u) => {
                let (division, flag) = division_detail(u.division());
                let mut flags: Vec<&'static str> = flag.into_iter().collect();
                let mut detail = format!(
                    "{}, division {division}",
                    uscc::authority_name(u.authority()).unwrap_or("?")
                );
                if u.is_pilot_exception() {
                    flags.push("pilot-check-exception");
                    detail.push_str("; fails the position-18 check but is a Fujian pilot code, accepted under policy");
                }
                Verdict {
                    input: code.to_string(),
                    valid: true,
                    detail,
                    flags,
                }
            }
            Err(e) => Verdict {
                input: code.to_string(),
                valid: false,
                detail: e.to_string(),
                flags: vec![],
            },
        },
        CodeKind::Ric => match ResidentId::parse(code) {
            Ok(id) => {
                let (division, flag) = division_detail(id.division());
                let mut flags: Vec<&'static str> = flag.into_iter().collect();
                if code.trim().len() == 15 {
                    flags.push("legacy-15-digit");
                }
                Verdict {
                    input: id.masked(),
                    valid: true,
                    detail: format!("issued in {division}"),
                    flags,
                }
            }
            Err(e) => Verdict {
                input: mask_input(code),
                valid: false,
                detail: e.to_string(),
                flags: vec![],
            },
        },
        CodeKind::Region => match DivisionCode::parse(code) {
            Ok(d) => {
                let (detail, flag) = division_detail(d);
                let level = match d.level() {
                    DivisionLevel::National => "national",
                    DivisionLevel::Province => "province",
                    DivisionLevel::Prefecture => "prefecture",
                    DivisionLevel::County => "county",
                };
                Verdict {
                    input: code.to_string(),
                    valid: true,
                    detail: format!("{level}: {detail}"),
                    flags: flag.into_iter().collect(),
                }
            }
            Err(e) => Verdict {
                input: code.to_string(),
                valid: false,
                detail: e.to_string(),
                flags: vec![],
            },
        },
    }
}

/// Runs `validate`; returns whether every code was valid.
pub(crate) fn run(args: &ValidateArgs, format: Format) -> anyhow::Result<bool> {
    let verdicts: Vec<Verdict> = args.codes.iter().map(|c| check(args.kind, c)).collect();
    match format {
        Format::Json => print_json(&verdicts)?,
        Format::Table => {
            let mut t = table(&["CODE", "VALID", "DETAIL"]);
            for v in &verdicts {
                let mut detail = v.detail.clone();
                if !v.flags.is_empty() {
                    detail = format!("{detail} [{}]", v.flags.join(", "));
                }
                t.add_row(vec![
                    v.input.clone(),
                    if v.valid { "yes".into() } else { "NO".into() },
                    detail,
                ]);
            }
            say!("{t}");
        }
    }
    Ok(verdicts.iter().all(|v| v.valid))
}
