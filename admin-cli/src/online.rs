//! Commands that talk to a running node (`--node`) over its QUIC listener, with an
//! admin client certificate: status (and the federation tree below a hub), sync
//! status, reconcile, diff, verify, stats, backup, drain, online import and query.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use credithub_node::admin::client::AdminClient;
use credithub_node::admin::{
    AdminRequest, AdminResponse, DiffReport, NodeStatus, PeerRound, ReconcileTarget, StatsReport,
};
use credithub_node::clock::now_millis;
use credithub_node::store::VerifyReport;
use credithub_protocol::report::ChildReport;

use crate::output::{print_json, spinner, table, Format};

/// How to reach a running node.
#[derive(Debug, Clone, Args)]
pub(crate) struct NodeArgs {
    /// The node's address (`host:port`).
    #[arg(long, env = "CREDIT_NODE")]
    pub node: Option<String>,
    /// The certificates directory holding `ca.crt` and `client.<name>.crt/.key`.
    #[arg(long, env = "CREDIT_CERTS_DIR", default_value = "certs")]
    pub certs_dir: PathBuf,
    /// The name of the admin client certificate to present.
    #[arg(long, env = "CREDIT_CLIENT", default_value = "admin")]
    pub client: String,
}

/// A stopped node's data directory, or a running node.
#[derive(Debug, Clone, Args)]
pub(crate) struct Target {
    /// A stopped node's data directory; when given, --node is not used.
    #[arg(long, env = "CREDIT_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    #[command(flatten)]
    pub node: NodeArgs,
}

impl NodeArgs {
    /// Runs `f` with a connection to the node, on a runtime of its own.
    pub(crate) fn with<T>(
        &self,
        f: impl AsyncFnOnce(&AdminClient) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let address = self
            .node
            .as_deref()
            .context("no node given: use --node HOST:PORT or set CREDIT_NODE (or --data-dir for a stopped node, where the command has one)")?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        runtime.block_on(async {
            let client = AdminClient::connect(address, &self.certs_dir, &self.client)
                .await
                .with_context(|| {
                    format!(
                        "connecting to {address} with {}",
                        self.certs_dir
                            .join(format!("client.{}.crt", self.client))
                            .display()
                    )
                })?;
            let result = f(&client).await;
            client.close().await;
            result
        })
    }

    /// Sends one request, with a spinner saying `what` on a terminal.
    pub(crate) fn call(&self, what: &str, req: AdminRequest) -> anyhow::Result<AdminResponse> {
        let bar = spinner(what);
        let answer = self.with(async |c| call(c, &req).await);
        bar.finish_and_clear();
        answer
    }
}

pub(crate) async fn call(
    client: &AdminClient,
    req: &AdminRequest,
) -> anyhow::Result<AdminResponse> {
    match client.call(req).await? {
        AdminResponse::Error(e) => bail!("{} refused: {e}", client.node().name),
        other => Ok(other),
    }
}

pub(crate) fn unexpected(answer: AdminResponse) -> anyhow::Error {
    anyhow::anyhow!("the node gave an unexpected answer: {answer:?}")
}

pub(crate) fn ago(ms: u64) -> String {
    let secs = now_millis().saturating_sub(ms) / 1000;
    match secs {
        0..=119 => format!("{secs} s ago"),
        120..=7199 => format!("{} min ago", secs / 60),
        _ => format!("{} h ago", secs / 3600),
    }
}

fn place(j: credithub_protocol::DivisionCode) -> String {
    format!("{j} {}", j.name().unwrap_or(""))
}

fn status_of(args: &NodeArgs) -> anyhow::Result<NodeStatus> {
    match args.call("status", AdminRequest::Status)? {
        AdminResponse::Status(s) => Ok(*s),
        other => Err(unexpected(other)),
    }
}

/// Runs `status`; with `tree`, the federation below the node as it last reported
/// itself, unreachable children marked (their last-known figures with `stale`).
pub(crate) fn status(
    args: &NodeArgs,
    tree: bool,
    stale: bool,
    format: Format,
) -> anyhow::Result<bool> {
    let st = status_of(args)?;
    match format {
        Format::Json => print_json(&st)?,
        Format::Table if tree => print_tree(&st, stale),
        Format::Table => print_status(&st),
    }
    Ok(true)
}

fn print_status(st: &NodeStatus) {
    let r = &st.report;
    say!(
        "node {} ({}), {}: {} record versions (tombstones included; `stats` counts them), store root {}",
        r.name,
        place(r.jurisdiction),
        st.health,
        r.records,
        r.store_root
    );
    print_parent(st);
    if r.children.is_empty() {
        say!("children: none has synced since start");
    } else {
        print_children(&r.children);
    }
    let by_reason = |m: &std::collections::BTreeMap<String, u64>| -> String {
        if m.is_empty() {
            return "none".into();
        }
        m.iter()
            .map(|(r, n)| format!("{r} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    say!("refused records: {}", by_reason(&st.refused));
    say!(
        "refused connections: {}",
        by_reason(&st.refused_connections_by)
    );
    say!("refused requests: {}", by_reason(&st.refused_requests));
    say!("failed sessions: {}", by_reason(&st.session_failures));
}

fn print_parent(st: &NodeStatus) {
    match &st.parent {
        None => say!("parent: none (national hub)"),
        Some(p) => {
            let peer = p.peer.clone().unwrap_or_else(|| "not yet reached".into());
            say!(
                "parent {} at {}: {}, {}; last success {}; {} sessions, {} failures",
                peer,
                p.address,
                if p.connected {
                    "connected"
                } else {
                    "NOT connected"
                },
                if p.caught_up {
                    "caught up"
                } else {
                    "not caught up"
                },
                p.last_success_ms.map(ago).unwrap_or_else(|| "never".into()),
                p.sessions,
                p.failures
            );
            if let Some(e) = &p.last_error {
                say!("  last error: {e}");
            }
        }
    }
}

fn print_children(children: &[ChildReport]) {
    let now = now_millis();
    let mut t = table(&[
        "CHILD",
        "JURISDICTION",
        "LINK",
        "LAST SESSION",
        "CAUGHT UP",
        "BEHIND",
        "ROOTS",
        "RECORDS",
    ]);
    for c in children {
        t.add_row(vec![
            c.name.clone(),
            place(c.jurisdiction),
            link_state(c, now),
            ago(c.last_session_ms),
            if c.caught_up { "yes" } else { "no" }.into(),
            behind(c),
            roots(c),
            c.report
                .as_ref()
                .map(|r| r.records.to_string())
                .unwrap_or_default(),
        ]);
    }
    say!("{t}");
}

fn link_state(c: &ChildReport, now: u64) -> String {
    if c.is_unreachable(now) {
        format!(
            "UNREACHABLE ({} silent)",
            ago(c.last_session_ms).trim_end_matches(" ago")
        )
    } else if c.ok {
        "connected".into()
    } else {
        format!("failing: {}", c.error.clone().unwrap_or_default())
    }
}

fn behind(c: &ChildReport) -> String {
    match c.behind_records {
        None => "?".into(),
        Some(0) => "0".into(),
        Some(n) if n > 0 => format!("{n} records"),
        Some(n) => format!("{} ahead", -n),
    }
}

fn roots(c: &ChildReport) -> String {
    match c.roots_match {
        None => "?".into(),
        Some(true) => "match".into(),
        Some(false) => "DIFFER".into(),
    }
}

/// Prints a node and, indented, every node below it.
fn print_tree(st: &NodeStatus, stale: bool) {
    let r = &st.report;
    say!(
        "{} ({}) {}: {} records, root {}",
        r.name,
        place(r.jurisdiction),
        st.health,
        r.records,
        r.store_root
    );
    print_parent(st);
    let now = now_millis();
    for c in &r.children {
        print_branch(c, 1, now, stale);
    }
    if r.children.is_empty() {
        say!("  (no child has synced since this node started)");
    }
}

fn print_branch(c: &ChildReport, depth: usize, now: u64, stale: bool) {
    let pad = "  ".repeat(depth);
    let unreachable = c.is_unreachable(now);
    let lag = ago(c.last_session_ms);
    let head = format!("{pad}└ {} ({})", c.name, place(c.jurisdiction));
    if unreachable && !stale {
        say!("{head}: UNREACHABLE, last seen {lag} (--stale shows its last-known state)");
        return;
    }
    let mark = if unreachable {
        " [STALE: last-known state]"
    } else {
        ""
    };
    let Some(report) = &c.report else {
        say!("{head}: {} {lag}; no report{mark}", link_state(c, now));
        return;
    };
    say!(
        "{head}: {}, {} caught up; last session {lag}; behind {}; roots {}; {} records{mark}",
        if unreachable {
            "UNREACHABLE".to_string()
        } else {
            link_state(c, now)
        },
        if c.caught_up { "" } else { "not" },
        behind(c),
        roots(c),
        report.records
    );
    for g in &report.children {
        print_branch(g, depth + 1, report.at_ms, stale);
    }
}

/// Runs `sync status`: the parent link and the children's sessions.
pub(crate) fn sync_status(args: &NodeArgs, format: Format) -> anyhow::Result<bool> {
    let st = status_of(args)?;
    match format {
        Format::Json => print_json(&serde_json::json!({
            "parent": st.parent,
            "children": st.report.children,
            "sessions_running": st.sessions,
        }))?,
        Format::Table => {
            print_parent(&st);
            if let Some(last) = st.parent.as_ref().and_then(|p| p.last.as_ref()) {
                say!(
                    "  last round: {} messages ({} bytes), {} sent, {} received, {} applied, {} refused",
                    last.sync_messages,
                    last.sync_bytes,
                    last.records_sent,
                    last.records_received,
                    last.applied,
                    last.refused_total()
                );
            }
            if !st.report.children.is_empty() {
                print_children(&st.report.children);
            }
            say!("sessions running now: {}", st.sessions);
        }
    }
    Ok(true)
}

/// Runs `reconcile`: with the parent, or have children reconcile with this node.
pub(crate) fn reconcile(
    args: &NodeArgs,
    target: ReconcileTarget,
    yes: bool,
    format: Format,
) -> anyhow::Result<bool> {
    if !yes {
        bail!("reconcile moves records between nodes: add --yes to go ahead");
    }
    let rounds: Vec<PeerRound> =
        match args.call("reconciling", AdminRequest::Reconcile { target })? {
            AdminResponse::Reconciled(r) => r,
            other => return Err(unexpected(other)),
        };
    match format {
        Format::Json => print_json(&rounds)?,
        Format::Table => {
            for r in &rounds {
                match &r.result {
                    Ok(s) => say!(
                        "{}: reconciled; {} messages ({} bytes), {} records sent, {} received ({} applied, {} refused), {} conflicts",
                        r.peer,
                        s.sync_messages,
                        s.sync_bytes,
                        s.records_sent,
                        s.records_received,
                        s.applied,
                        s.refused_total(),
                        s.conflicts
                    ),
                    Err(e) => say!("{}: FAILED: {e}", r.peer),
                }
            }
        }
    }
    if rounds.iter().any(|r| r.result.is_err()) {
        bail!(
            "{} of {} rounds failed",
            rounds.iter().filter(|r| r.result.is_err()).count(),
            rounds.len()
        );
    }
    Ok(rounds
        .iter()
        .all(|r| r.result.as_ref().is_ok_and(|s| s.refused_total() == 0)))
}

/// Runs `diff`: the differences with the parent, nothing moved. Returns whether there
/// were none.
pub(crate) fn diff(args: &NodeArgs, limit: u32, format: Format) -> anyhow::Result<bool> {
    let d: DiffReport =
        match args.call("comparing with the parent", AdminRequest::Diff { limit })? {
            AdminResponse::Diff(d) => d,
            other => return Err(unexpected(other)),
        };
    let none =
        d.parent_newer + d.node_newer + d.conflicts + d.parent_only_subtrees + d.node_only_subtrees
            == 0;
    match format {
        Format::Json => print_json(&d)?,
        Format::Table => {
            say!(
                "compared with {} in {} messages ({} bytes): {} newer or only at the parent, {} newer or only here, {} conflicts, {} subtrees only at the parent, {} subtrees only here ({} records)",
                d.parent,
                d.messages,
                d.bytes,
                d.parent_newer,
                d.node_newer,
                d.conflicts,
                d.parent_only_subtrees,
                d.node_only_subtrees,
                d.node_only_records
            );
            if !d.listed.is_empty() {
                let mut t = table(&["NEWER AT", "PARTITION", "RECORD"]);
                for e in &d.listed {
                    t.add_row(vec![e.side.clone(), e.partition.clone(), e.what.clone()]);
                }
                say!("{t}");
            }
        }
    }
    Ok(none)
}

/// Runs `verify` at a running node.
pub(crate) fn verify(args: &NodeArgs) -> anyhow::Result<VerifyReport> {
    match args.call("verifying (writes wait)", AdminRequest::Verify)? {
        AdminResponse::Verified(json) => Ok(serde_json::from_str(&json)?),
        other => Err(unexpected(other)),
    }
}

/// Runs `stats` at a running node.
pub(crate) fn stats(args: &NodeArgs) -> anyhow::Result<StatsReport> {
    match args.call("stats", AdminRequest::Stats)? {
        AdminResponse::Stats(s) => Ok(s),
        other => Err(unexpected(other)),
    }
}

/// Runs `backup`: a checkpoint under the node's data directory.
pub(crate) fn backup(
    args: &NodeArgs,
    name: &str,
    yes: bool,
    format: Format,
) -> anyhow::Result<bool> {
    if !yes {
        bail!("backup writes a checkpoint into the node's data directory (writes wait meanwhile): add --yes to go ahead");
    }
    match args.call(
        "backing up",
        AdminRequest::Backup {
            name: name.to_string(),
        },
    )? {
        AdminResponse::BackedUp {
            path,
            bytes,
            records,
        } => {
            match format {
                Format::Json => print_json(&serde_json::json!({"path": path, "bytes": bytes, "records": records}))?,
                Format::Table => say!("checkpoint of {records} record versions ({bytes} bytes) written to {path} on the node's machine"),
            }
            Ok(true)
        }
        other => Err(unexpected(other)),
    }
}

/// Runs `drain`.
pub(crate) fn drain(args: &NodeArgs, yes: bool, format: Format) -> anyhow::Result<bool> {
    if !yes {
        bail!("drain stops the node taking sync sessions until it restarts: add --yes to go ahead");
    }
    match args.call("draining", AdminRequest::Drain)? {
        AdminResponse::Drained {
            sessions,
            waited_ms,
        } => {
            match format {
                Format::Json => print_json(&serde_json::json!({"sessions": sessions, "waited_ms": waited_ms}))?,
                Format::Table => say!("drained: {sessions} running session(s) ended in {:.1} s; health now reports not ready; stop the node when convenient", waited_ms as f64 / 1000.0),
            }
            Ok(true)
        }
        other => Err(unexpected(other)),
    }
}

/// Runs `import --node`: uploads each file and imports it at the running node.
/// Returns whether every row was accepted.
pub(crate) fn import(
    args: &NodeArgs,
    files: &[PathBuf],
    sheet: Option<&str>,
    format: Format,
) -> anyhow::Result<bool> {
    let summaries: Vec<serde_json::Value> = args.with(async |c| {
        let mut out = Vec::new();
        for f in files {
            let json = c
                .import(f, sheet)
                .await
                .with_context(|| format!("importing {}", f.display()))?;
            out.push(serde_json::from_str(&json)?);
        }
        Ok(out)
    })?;
    let rejected = |s: &serde_json::Value| s["rejected"].as_u64().unwrap_or(0);
    match format {
        Format::Json => print_json(&summaries)?,
        Format::Table => {
            let mut t = table(&[
                "FILE",
                "KIND",
                "LAYOUT",
                "ROWS",
                "VALID",
                "REJECTED",
                "NEW",
                "UPDATED",
                "UNCHANGED",
            ]);
            for (f, s) in files.iter().zip(&summaries) {
                let n = |k: &str| s[k].as_u64().unwrap_or(0).to_string();
                t.add_row(vec![
                    f.display().to_string(),
                    s["kind"].as_str().unwrap_or("").to_string(),
                    s["layout"].as_str().unwrap_or("").to_string(),
                    n("rows"),
                    n("valid"),
                    n("rejected"),
                    n("inserted"),
                    n("updated"),
                    n("unchanged"),
                ]);
            }
            say!("{t}");
            for (f, s) in files
                .iter()
                .zip(&summaries)
                .filter(|(_, s)| rejected(s) > 0)
            {
                say!(
                    "\nRejected rows of {} ({} in all, written on the node to {}):",
                    f.display(),
                    rejected(s),
                    s["reject_file"].as_str().unwrap_or("?")
                );
                for r in s["first_rejects"].as_array().into_iter().flatten().take(10) {
                    let errors: Vec<&str> = r["errors"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|e| e.as_str())
                        .collect();
                    let at = match r["sheet"].as_str() {
                        Some(sheet) => format!("sheet {sheet} row {}", r["line"]),
                        None => format!("line {}", r["line"]),
                    };
                    say!("  {at}: {}", errors.join("; "));
                }
            }
        }
    }
    Ok(summaries.iter().all(|s| rejected(s) == 0))
}
