//! Red and black lists and dishonest debtors (`list propose|review|confirm|reject|
//! remove|show|ls`): entries are proposed (from files), reviewed and confirmed by
//! another administrator than the proposer, published, and later removed.

use std::path::PathBuf;

use anyhow::bail;
use clap::{Args, Subcommand, ValueEnum};
use credithub_node::admin::{AdminRequest, AdminResponse, ListAction, ListEntryView};
use credithub_protocol::record::RemovalCause;
use credithub_protocol::{Date, DivisionCode, RecordKey, RecordKind};

use crate::online::{self, NodeArgs};
use crate::output::{print_json, table, Format};

/// `list` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum ListCommand {
    /// Propose the entries of red/black-list or court (失信被执行人) files at a running
    /// node, on behalf of this certificate (an online import).
    Propose(ProposeArgs),
    /// Review (审核) a proposed entry: another administrator than the proposer.
    Review(StepArgs),
    /// Confirm (确认) a reviewed entry, which publishes it: it reaches every
    /// subscribed node with the next round and joint measures apply.
    Confirm(StepArgs),
    /// Reject a proposed or reviewed entry (never published); needs --note.
    Reject(StepArgs),
    /// Take a published entry off its list (repair, expiry, performance, revocation).
    Remove(RemoveArgs),
    /// One entry with its whole trail.
    Show(KeyArgs),
    /// Entries held at the node, drafts included.
    Ls(LsArgs),
}

/// Arguments of `list propose`.
#[derive(Debug, Args)]
pub(crate) struct ProposeArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// List files (名单名称, 认定单位, 列入事由, …) or court files (执行法院, 案号, …).
    #[arg(required = true)]
    files: Vec<PathBuf>,
}

/// An entry.
#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// The entry's key (`ORIGIN:KIND:ID`, as `list ls` prints it).
    key: String,
}

/// A review step.
#[derive(Debug, Args)]
pub(crate) struct StepArgs {
    #[command(flatten)]
    entry: KeyArgs,
    /// Why, as recorded in the entry's trail (required to reject).
    #[arg(long, default_value = "")]
    note: String,
}

/// Why an entry leaves its list.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Cause {
    /// Credit repair granted (信用修复).
    Repair,
    /// The listing period ended.
    Expiry,
    /// The court's deletion on performance, settlement or the end of execution.
    Performed,
    /// The recognising decision was revoked.
    Revoked,
}

impl From<Cause> for RemovalCause {
    fn from(c: Cause) -> Self {
        match c {
            Cause::Repair => RemovalCause::Repair,
            Cause::Expiry => RemovalCause::Expiry,
            Cause::Performed => RemovalCause::Performed,
            Cause::Revoked => RemovalCause::Revoked,
        }
    }
}

/// Arguments of `list remove`.
#[derive(Debug, Args)]
pub(crate) struct RemoveArgs {
    #[command(flatten)]
    entry: KeyArgs,
    /// Why it leaves.
    #[arg(long, value_enum)]
    cause: Cause,
    /// The reason as written (移出事由).
    #[arg(long)]
    reason: String,
    /// The day it leaves (YYYY-MM-DD; today by default).
    #[arg(long)]
    on: Option<String>,
    /// Go ahead.
    #[arg(long)]
    yes: bool,
}

/// Arguments of `list ls`.
#[derive(Debug, Args)]
pub(crate) struct LsArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// Of this kind only (red-list, black-list, dishonest-debtor).
    #[arg(long)]
    kind: Option<String>,
    /// In this state only (proposed, reviewed, rejected, published, removed).
    #[arg(long)]
    state: Option<String>,
    /// Of this origin only (a division code).
    #[arg(long)]
    origin: Option<DivisionCode>,
    /// Entries at most.
    #[arg(long, default_value_t = 100)]
    limit: u32,
}

fn key(s: &str) -> anyhow::Result<RecordKey> {
    s.parse::<RecordKey>()
        .map_err(|e| anyhow::anyhow!("entry key: {e}"))
}

fn call(node: &NodeArgs, req: AdminRequest) -> anyhow::Result<AdminResponse> {
    node.with(async |c| match c.call(&req).await? {
        AdminResponse::Error(e) => bail!("{} refused: {e}", c.node().name),
        other => Ok(other),
    })
}

fn print_entries(entries: &[ListEntryView], format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(&entries)?,
        Format::Table => {
            let mut t = table(&[
                "KEY",
                "KIND",
                "LIST",
                "SUBJECT",
                "ID",
                "STATE",
                "DRAFT",
                "LAST STEP",
            ]);
            for e in entries {
                let last = e
                    .trail
                    .last()
                    .map(|(action, by, _, _)| format!("{action} by {by}"))
                    .unwrap_or_default();
                t.add_row(vec![
                    e.key.clone(),
                    e.kind.clone(),
                    e.list_name.clone(),
                    e.subject_name.clone(),
                    e.subject_id.clone(),
                    e.state.clone(),
                    if e.draft { "yes" } else { "" }.to_string(),
                    last,
                ]);
            }
            say!("{t}");
        }
    }
    Ok(())
}

fn print_trail(entries: &[ListEntryView], format: Format) -> anyhow::Result<()> {
    if let Format::Json = format {
        return print_json(&entries);
    }
    for e in entries {
        say!(
            "{} ({}, {}{}): {} — {} {}",
            e.key,
            e.kind,
            e.state,
            if e.draft { ", draft at its origin" } else { "" },
            e.list_name,
            e.subject_name,
            e.subject_id
        );
        let mut t = table(&["STEP", "BY", "AT (ms)", "NOTE"]);
        for (action, by, at, note) in &e.trail {
            t.add_row(vec![
                action.clone(),
                by.clone(),
                at.to_string(),
                note.clone(),
            ]);
        }
        say!("{t}");
    }
    Ok(())
}

/// Runs a `list` subcommand.
pub(crate) fn run(cmd: &ListCommand, format: Format) -> anyhow::Result<bool> {
    let (node, req) = match cmd {
        ListCommand::Propose(a) => return online::import(&a.node, &a.files, None, format),
        ListCommand::Review(a) | ListCommand::Confirm(a) | ListCommand::Reject(a) => {
            let action = match cmd {
                ListCommand::Review(_) => ListAction::Review,
                ListCommand::Confirm(_) => ListAction::Confirm,
                _ => ListAction::Reject,
            };
            if matches!(action, ListAction::Reject) && a.note.trim().is_empty() {
                bail!("a rejection needs its reason: --note TEXT");
            }
            (
                &a.entry.node,
                AdminRequest::ListStep {
                    key: key(&a.entry.key)?,
                    action,
                    note: a.note.clone(),
                },
            )
        }
        ListCommand::Remove(a) => {
            if !a.yes {
                bail!("removal writes a new version of the entry, which every node receives: add --yes to go ahead");
            }
            let on = match &a.on {
                Some(d) => Some(Date::parse(d).map_err(|e| anyhow::anyhow!("--on: {}", e.reason))?),
                None => None,
            };
            (
                &a.entry.node,
                AdminRequest::ListRemove {
                    key: key(&a.entry.key)?,
                    cause: a.cause.into(),
                    reason: a.reason.clone(),
                    on,
                },
            )
        }
        ListCommand::Show(a) => (&a.node, AdminRequest::ListShow { key: key(&a.key)? }),
        ListCommand::Ls(a) => {
            let kind =
                match &a.kind {
                    Some(k) => Some(RecordKind::parse(k).filter(|k| k.is_list()).ok_or_else(
                        || {
                            anyhow::anyhow!(
                                "--kind {k:?}: expected red-list, black-list or dishonest-debtor"
                            )
                        },
                    )?),
                    None => None,
                };
            (
                &a.node,
                AdminRequest::ListEntries {
                    kind,
                    state: a.state.clone(),
                    origin: a.origin,
                    limit: a.limit,
                },
            )
        }
    };
    match call(node, req)? {
        AdminResponse::Lifecycle { key, version, what } => {
            match format {
                Format::Json => print_json(
                    &serde_json::json!({"key": key.to_string(), "version": version, "what": what}),
                )?,
                Format::Table => say!("{what} (version {version})"),
            }
            Ok(true)
        }
        AdminResponse::ListEntries(entries) => {
            match cmd {
                ListCommand::Show(_) => print_trail(&entries, format)?,
                _ => print_entries(&entries, format)?,
            }
            Ok(true)
        }
        other => bail!("unexpected answer {other:?}"),
    }
}
