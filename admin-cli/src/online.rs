//! Commands that talk to a running node (`--node`) over its QUIC listener, with an
//! admin client certificate: status, reconcile, online import and query.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use credithub_node::admin::client::AdminClient;
use credithub_node::admin::{AdminRequest, AdminResponse, NodeStatus};
use credithub_node::clock::now_millis;
use credithub_node::link::session::SessionStats;
use credithub_protocol::Record;

use crate::output::{print_json, table, Format};

/// How to reach a running node.
#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
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

impl NodeArgs {
    /// Runs `f` with a connection to the node, on a runtime of its own.
    pub fn with<T>(
        &self,
        f: impl AsyncFnOnce(&AdminClient) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let address = self
            .node
            .as_deref()
            .context("no node given: use --node HOST:PORT or set CREDIT_NODE")?;
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
}

async fn call(client: &AdminClient, req: &AdminRequest) -> anyhow::Result<AdminResponse> {
    match client.call(req).await? {
        AdminResponse::Error(e) => bail!("{} refused: {e}", client.node().name),
        other => Ok(other),
    }
}

fn ago(ms: u64) -> String {
    let secs = now_millis().saturating_sub(ms) / 1000;
    match secs {
        0..=119 => format!("{secs} s ago"),
        120..=7199 => format!("{} min ago", secs / 60),
        _ => format!("{} h ago", secs / 3600),
    }
}

/// Runs `status`.
pub fn status(args: &NodeArgs, format: Format) -> anyhow::Result<bool> {
    let st: NodeStatus = args.with(async |c| match call(c, &AdminRequest::Status).await? {
        AdminResponse::Status(s) => Ok(*s),
        other => bail!("unexpected answer {other:?}"),
    })?;
    match format {
        Format::Json => print_json(&st)?,
        Format::Table => print_status(&st),
    }
    Ok(true)
}

fn print_status(st: &NodeStatus) {
    say!(
        "node {} ({}): {} record versions ({} tombstones), store root {}",
        st.name,
        st.jurisdiction,
        st.records,
        st.tombstones,
        st.store_root
    );
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
    if st.children.is_empty() {
        say!("children: none has synced since start");
    } else {
        let mut t = table(&[
            "CHILD",
            "JURISDICTION",
            "LAST SESSION",
            "RESULT",
            "CAUGHT UP",
            "SENT",
            "RECEIVED",
        ]);
        for c in &st.children {
            let (sent, received) = c
                .last
                .as_ref()
                .map(|s| (s.records_sent, s.records_received))
                .unwrap_or_default();
            t.add_row(vec![
                c.name.clone(),
                c.jurisdiction.clone(),
                ago(c.last_session_ms),
                if c.ok {
                    "ok".into()
                } else {
                    c.error.clone().unwrap_or_else(|| "failed".into())
                },
                if c.caught_up { "yes" } else { "no" }.into(),
                sent.to_string(),
                received.to_string(),
            ]);
        }
        say!("{t}");
    }
    let refused: Vec<String> = st.refused.iter().map(|(r, n)| format!("{r} {n}")).collect();
    say!(
        "refused records: {}; refused connections: {}",
        if refused.is_empty() {
            "none".into()
        } else {
            refused.join(", ")
        },
        st.refused_connections
    );
}

/// Runs `reconcile`: one round with the parent now.
pub fn reconcile(args: &NodeArgs, yes: bool, format: Format) -> anyhow::Result<bool> {
    if !yes {
        bail!("reconcile moves records between the node and its parent: add --yes to go ahead");
    }
    let stats: SessionStats =
        args.with(async |c| match call(c, &AdminRequest::Reconcile).await? {
            AdminResponse::Reconciled(s) => Ok(s),
            other => bail!("unexpected answer {other:?}"),
        })?;
    match format {
        Format::Json => print_json(&stats)?,
        Format::Table => say!(
            "reconciled with the parent: {} messages ({} bytes), {} records sent, {} received ({} applied, {} refused), {} conflicts",
            stats.sync_messages,
            stats.sync_bytes,
            stats.records_sent,
            stats.records_received,
            stats.applied,
            stats.refused_total(),
            stats.conflicts
        ),
    }
    Ok(stats.refused_total() == 0)
}

/// Runs `import --node`: uploads each file and imports it at the running node.
/// Returns whether every row was accepted.
pub fn import(args: &NodeArgs, files: &[PathBuf], format: Format) -> anyhow::Result<bool> {
    let summaries: Vec<serde_json::Value> = args.with(async |c| {
        let mut out = Vec::new();
        for f in files {
            let json = c
                .import(f)
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
                    say!("  line {}: {}", r["line"], errors.join("; "));
                }
            }
        }
    }
    Ok(summaries.iter().all(|s| rejected(s) == 0))
}

/// Every record about a subject held by the running node.
pub fn query(args: &NodeArgs, subject: &str) -> anyhow::Result<(String, Vec<Record>)> {
    args.with(async |c| {
        let req = AdminRequest::Query {
            subject: subject.to_string(),
        };
        match call(c, &req).await? {
            AdminResponse::Records(r) => {
                Ok((format!("{} ({})", c.node().name, c.node().jurisdiction), r))
            }
            other => bail!("unexpected answer {other:?}"),
        }
    })
}
