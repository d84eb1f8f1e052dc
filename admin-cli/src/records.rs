//! The life of a record (`record object|decide|withdraw|repair`) and the audit log
//! (`audit verify|list`).

use anyhow::bail;
use clap::{Args, Subcommand};
use credithub_node::admin::{AdminRequest, AdminResponse, Decision};
use credithub_protocol::RecordKey;

use crate::online::NodeArgs;
use crate::output::{print_json, table, Format};

/// `record` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum RecordCommand {
    /// File a subject's objection against a record (at any node).
    Object(ObjectArgs),
    /// Decide on a record's objections (at its origin).
    Decide(DecideArgs),
    /// Withdraw a record whose decision was revoked (at its origin).
    Withdraw(TargetArgs),
    /// Grant credit repair after the minimum publication period (at its origin).
    Repair(TargetArgs),
}

/// A record and a confirmation.
#[derive(Debug, Args)]
pub(crate) struct TargetArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// The record key (`ORIGIN:KIND:ID`, as `query --format json` prints it).
    key: String,
    /// Go ahead.
    #[arg(long)]
    yes: bool,
}

/// Arguments of `record object`.
#[derive(Debug, Args)]
pub(crate) struct ObjectArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// The disputed record's key.
    key: String,
    /// The subject's grounds.
    #[arg(long)]
    reason: String,
}

/// Arguments of `record decide`.
#[derive(Debug, Args)]
pub(crate) struct DecideArgs {
    #[command(flatten)]
    target: TargetArgs,
    /// The record stands.
    #[arg(long, conflicts_with_all = ["delete", "correct"])]
    confirm: bool,
    /// The record is deleted.
    #[arg(long, conflicts_with = "correct")]
    delete: bool,
    /// The record is corrected: its content becomes this text.
    #[arg(long)]
    correct: Option<String>,
}

fn key(s: &str) -> anyhow::Result<RecordKey> {
    s.parse::<RecordKey>()
        .map_err(|e| anyhow::anyhow!("record key: {e}"))
}

fn send(node: &NodeArgs, req: AdminRequest, format: Format) -> anyhow::Result<bool> {
    let answer = node.with(async |c| match c.call(&req).await? {
        AdminResponse::Error(e) => bail!("{} refused: {e}", c.node().name),
        other => Ok(other),
    })?;
    match answer {
        AdminResponse::Lifecycle { key, version, what } => {
            match format {
                Format::Json => print_json(&serde_json::json!({"key": key.to_string(), "version": version, "what": what}))?,
                Format::Table => say!("{what} (version {version} of {key}); it reaches the other nodes with their next rounds"),
            }
            Ok(true)
        }
        other => bail!("unexpected answer {other:?}"),
    }
}

/// Runs a `record` subcommand.
pub(crate) fn run(cmd: &RecordCommand, format: Format) -> anyhow::Result<bool> {
    match cmd {
        RecordCommand::Object(a) => send(
            &a.node,
            AdminRequest::Object {
                target: key(&a.key)?,
                reason: a.reason.clone(),
            },
            format,
        ),
        RecordCommand::Decide(a) => {
            let decision = match (a.confirm, a.delete, &a.correct) {
                (true, _, _) => Decision::Confirm,
                (_, true, _) => Decision::Delete,
                (_, _, Some(text)) => Decision::Correct(text.clone()),
                _ => bail!("say what the decision is: --confirm, --delete or --correct TEXT"),
            };
            if !a.target.yes {
                bail!("a decision writes a new version of the record: add --yes to go ahead");
            }
            send(
                &a.target.node,
                AdminRequest::Decide {
                    target: key(&a.target.key)?,
                    decision,
                },
                format,
            )
        }
        RecordCommand::Withdraw(a) | RecordCommand::Repair(a) => {
            if !a.yes {
                bail!("this writes a new version of the record: add --yes to go ahead");
            }
            let target = key(&a.key)?;
            let req = match cmd {
                RecordCommand::Withdraw(_) => AdminRequest::Withdraw { target },
                _ => AdminRequest::Repair { target },
            };
            send(&a.node, req, format)
        }
    }
}

/// `audit` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Check the audit log's hash chain end to end.
    Verify(NodeArgs),
    /// List audit entries (auditor certificates only).
    List(ListArgs),
}

/// Arguments of `audit list`.
#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    node: NodeArgs,
    /// The first sequence number.
    #[arg(long, default_value_t = 1)]
    from: u64,
    /// Entries at most.
    #[arg(long, default_value_t = 100)]
    limit: u32,
}

/// Runs an `audit` subcommand; `verify` returns whether the chain is intact.
pub(crate) fn audit(cmd: &AuditCommand, format: Format) -> anyhow::Result<bool> {
    let (node, req) = match cmd {
        AuditCommand::Verify(n) => (n, AdminRequest::AuditVerify),
        AuditCommand::List(a) => (
            &a.node,
            AdminRequest::AuditList {
                from: a.from,
                limit: a.limit,
            },
        ),
    };
    let answer = node.with(async |c| match c.call(&req).await? {
        AdminResponse::Error(e) => bail!("{} refused: {e}", c.node().name),
        other => Ok(other),
    })?;
    match answer {
        AdminResponse::AuditChecked(check) => {
            match format {
                Format::Json => print_json(&check)?,
                Format::Table => match &check.broken {
                    None => say!(
                        "audit log intact: {} entries, head {}",
                        check.entries,
                        check.head
                    ),
                    Some((seq, why)) => say!(
                        "AUDIT LOG BROKEN at entry {seq}: {why} ({} entries read)",
                        check.entries
                    ),
                },
            }
            Ok(check.broken.is_none())
        }
        AdminResponse::AuditEntries(entries) => {
            match format {
                Format::Json => print_json(&entries)?,
                Format::Table => {
                    let mut t = table(&[
                        "SEQ", "AT (ms)", "WHO", "ACTION", "PURPOSE", "SUBJECT", "RECORDS",
                    ]);
                    for e in &entries {
                        t.add_row(vec![
                            e.seq.to_string(),
                            e.at_ms.to_string(),
                            e.who.clone(),
                            e.action.clone(),
                            e.purpose.clone(),
                            e.subject.clone(),
                            e.records.to_string(),
                        ]);
                    }
                    say!("{t}");
                }
            }
            Ok(true)
        }
        other => bail!("unexpected answer {other:?}"),
    }
}
