//! Answers to admin requests (see [`crate::admin`]): each runs with the rights of an
//! admin certificate whose jurisdiction covers this node.

use std::sync::Arc;
use std::time::{Duration, Instant};

use credithub_protocol::link::{Frame, LinkScope};
use quinn::RecvStream;

use super::{export, lifecycle, lists, reads, Node};
use crate::admin::{
    AdminRequest, AdminResponse, Holdings, PeerRound, ReconcileTarget, StatsReport,
};
use crate::certs::{Identity, Role};
use crate::clock::now_millis;
use crate::import::ImportOptions;
use crate::ingest;
use crate::link::frame::{read_frame, read_value, write_frame};
use crate::link::session::{blocking, SessionStats};
use crate::store::ApplyStats;
use credithub_protocol::record::Details;

/// How long a child may take over a reconciliation asked of it.
const CHILD_ROUND_TIMEOUT: Duration = Duration::from_secs(600);

/// How long draining waits for running sessions.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Reads one admin request from the stream and answers it.
pub async fn request(
    node: &Arc<Node>,
    who: &Identity,
    recv: &mut RecvStream,
) -> anyhow::Result<AdminResponse> {
    let request: AdminRequest = match read_value(recv).await {
        Ok(Some(r)) => r,
        Ok(None) => anyhow::bail!("empty request"),
        Err(e) => {
            tracing::warn!(who = %who.name, role = who.role.as_str(), error = %e, "refused a malformed request");
            node.metrics.refused_request("malformed-request");
            return Err(e.into());
        }
    };
    if let Err(e) = permitted(who, &request) {
        node.metrics.refused_request("role-not-permitted");
        return Err(e);
    }
    let admin = who.name.as_str();
    let store = &node.store;
    Ok(match request {
        AdminRequest::Status => AdminResponse::Status(Box::new(node.status()?)),
        AdminRequest::Reconcile { target } => {
            tracing::info!(admin, ?target, "reconcile requested");
            AdminResponse::Reconciled(reconcile(node, target).await?)
        }
        AdminRequest::Diff { limit } => {
            tracing::info!(admin, "diff requested");
            AdminResponse::Diff(super::upstream::diff(node, limit).await?)
        }
        AdminRequest::Verify => {
            tracing::info!(admin, "verify requested (writes wait)");
            let report = blocking(|| store.verify_online(|_| {}))?;
            AdminResponse::Verified(serde_json::to_string(&report)?)
        }
        AdminRequest::Stats => AdminResponse::Stats(blocking(|| stats(node))?),
        AdminRequest::Backup { name } => {
            tracing::info!(admin, backup = %name, "backup requested");
            blocking(|| backup(node, &name))?
        }
        AdminRequest::Drain => {
            tracing::info!(admin, "drain requested");
            drain(node).await
        }
        AdminRequest::Put { records } => {
            tracing::info!(admin, records = records.len(), "write requested");
            if let Some((kind, _)) = records
                .iter()
                .find(|(_, b)| matches!(b.details, Details::Listing(_)))
            {
                anyhow::bail!(
                    "{kind} entries with a review trail are proposed (list propose), reviewed and confirmed, not written directly"
                );
            }
            let outcomes = blocking(|| store.write_local(records, now_millis()))?;
            node.dirty.notify_one();
            written(ApplyStats::of(&outcomes))
        }
        AdminRequest::Delete { keys } => {
            tracing::info!(admin, records = keys.len(), "delete requested");
            if let Some(k) = keys.iter().find(|k| k.origin != node.config.jurisdiction) {
                anyhow::bail!(
                    "{k} does not originate at this node ({}); only its origin may delete it",
                    node.config.jurisdiction
                );
            }
            let outcomes = blocking(|| store.delete_local(&keys, now_millis()))?;
            node.dirty.notify_one();
            written(ApplyStats::of(&outcomes))
        }
        AdminRequest::Get { key } => {
            AdminResponse::Record(store.get_encoded(&key)?.map(|r| r.bytes))
        }
        AdminRequest::Holdings {
            jurisdiction,
            subscriptions,
            origins_only,
            sample,
        } => {
            let scope = LinkScope::new(jurisdiction, subscriptions);
            AdminResponse::Holdings(blocking(|| holdings(node, &scope, origins_only, sample))?)
        }
        AdminRequest::Query {
            subject,
            purpose,
            audience,
            fresh,
        } => {
            tracing::info!(reader = admin, subject = %mask(&subject), fresh, "subject query");
            let a = reads::query(node, who, &subject, purpose.as_deref(), audience, fresh).await?;
            AdminResponse::Answer(Box::new(a))
        }
        AdminRequest::Search {
            name,
            audience,
            page,
            per_page,
        } => AdminResponse::Found(Box::new(blocking(|| {
            reads::search(node, who, &name, audience, page, per_page)
        })?)),
        AdminRequest::Check {
            subject,
            action,
            purpose,
        } => {
            tracing::info!(reader = admin, subject = %mask(&subject), "measures check");
            AdminResponse::Checked(blocking(|| {
                reads::check(node, who, &subject, action.as_deref(), purpose.as_deref())
            })?)
        }
        AdminRequest::Report { subject, purpose } => {
            tracing::info!(reader = admin, subject = %mask(&subject), "credit report");
            let r = blocking(|| reads::report(node, who, &subject, purpose.as_deref()))?;
            let text = r.to_text();
            AdminResponse::Report(Box::new(r), text)
        }
        AdminRequest::Timeliness => {
            let calendar = &node.config.calendar;
            AdminResponse::Timeliness(blocking(|| {
                crate::query::timeliness::compute(store, calendar)
            })?)
        }
        AdminRequest::Accounts { fresh } => {
            AdminResponse::Accounts(Box::new(blocking(|| node.subtree_accounts(fresh))?))
        }
        AdminRequest::Object { target, reason } => {
            blocking(|| lifecycle::object(node, who, target, &reason))?
        }
        AdminRequest::Decide { target, decision } => {
            blocking(|| lifecycle::decide(node, who, target, decision))?
        }
        AdminRequest::Withdraw { target } => blocking(|| lifecycle::withdraw(node, who, target))?,
        AdminRequest::Repair { target } => blocking(|| lifecycle::repair(node, who, target))?,
        AdminRequest::AuditVerify => {
            AdminResponse::AuditChecked(blocking(|| store.verify_audit())?)
        }
        AdminRequest::AuditList { from, limit } => AdminResponse::AuditEntries(blocking(|| {
            store.audit_entries(from, limit.min(10_000) as usize)
        })?),
        AdminRequest::ImportBegin { name } => import(node, admin, &name, None, recv).await?,
        AdminRequest::ImportBeginSheet { name, sheet } => {
            import(node, admin, &name, Some(sheet), recv).await?
        }
        AdminRequest::ImportChunk(_) | AdminRequest::ImportEnd => {
            anyhow::bail!("import chunk without import-begin")
        }
        AdminRequest::ListPropose { records, note } => {
            blocking(|| lists::propose(node, who, records, &note))?
        }
        AdminRequest::ListStep { key, action, note } => {
            if key.origin != node.config.jurisdiction {
                anyhow::bail!(
                    "{key} is reviewed at its origin ({}); this node is {}",
                    key.origin,
                    node.config.jurisdiction
                );
            }
            blocking(|| lists::step(node, who, key, action, &note))?
        }
        AdminRequest::ListRemove {
            key,
            cause,
            reason,
            on,
        } => blocking(|| lists::remove(node, who, key, cause, &reason, on))?,
        AdminRequest::ListEntries {
            kind,
            state,
            origin,
            limit,
        } => blocking(|| lists::entries(node, kind, state.as_deref(), origin, limit))?,
        AdminRequest::ListShow { key } => blocking(|| lists::show(node, key))?,
        AdminRequest::ExportPlan { selection, purpose } => {
            blocking(|| export::plan(node, who, &selection, purpose.as_deref()))?
        }
        AdminRequest::ExportPage {
            selection,
            purpose,
            extra,
            after,
            limit,
        } => blocking(|| {
            export::page(
                node,
                who,
                &selection,
                purpose.as_deref(),
                &extra,
                after,
                limit,
            )
        })?,
    })
}

/// Whether the certificate's role may make this request: readers (client, public,
/// auditor) only read; the audit log is for auditors (its integrity check also for
/// admins); everything else is for admins.
fn permitted(who: &Identity, request: &AdminRequest) -> anyhow::Result<()> {
    let reading = matches!(
        request,
        AdminRequest::Query { .. }
            | AdminRequest::Check { .. }
            | AdminRequest::Report { .. }
            | AdminRequest::Search { .. }
            | AdminRequest::ExportPlan { .. }
            | AdminRequest::ExportPage { .. }
    );
    let ok = match (who.role, request) {
        (_, _) if reading => who.role != Role::Node,
        (
            Role::Auditor,
            AdminRequest::AuditList { .. }
            | AdminRequest::AuditVerify
            | AdminRequest::Timeliness
            | AdminRequest::Accounts { .. },
        ) => true,
        (Role::Admin, AdminRequest::AuditList { .. }) => false,
        (Role::Admin, _) => true,
        _ => false,
    };
    if !ok {
        tracing::warn!(who = %who.name, role = who.role.as_str(), "refused a request the certificate's role does not allow");
        anyhow::bail!(
            "a {} certificate may not make this request",
            who.role.as_str()
        );
    }
    Ok(())
}

/// An identifier as it may appear in messages: all but its first 6 and last 2
/// characters masked when it is long enough to be a personal number.
fn mask(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    if chars.len() < 15 {
        return s.to_string();
    }
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < 6 || i + 2 >= chars.len() {
                *c
            } else {
                '*'
            }
        })
        .collect()
}

fn written(s: ApplyStats) -> AdminResponse {
    AdminResponse::Written {
        inserted: s.inserted,
        updated: s.updated,
        unchanged: s.unchanged,
    }
}

/// What a node of `scope`'s jurisdiction and subscriptions holds when caught up,
/// computed from this node's records (every origin partition, one at a time).
fn holdings(
    node: &Node,
    scope: &LinkScope,
    origins_only: bool,
    sample: u32,
) -> anyhow::Result<Holdings> {
    let mut cell = credithub_protocol::Cell::EMPTY;
    let mut keys = Vec::new();
    for (p, _) in node.store.partitions()? {
        if p.origin_code().is_none() {
            continue;
        }
        node.store
            .for_each_member(&p, credithub_protocol::NodePath::ROOT, |key, item| {
                let held = if origins_only {
                    scope.up(&key).is_ok()
                } else {
                    scope.holds(&key)
                };
                if held {
                    cell.insert(item);
                    keys.push(key);
                    if keys.len() > 4 * sample as usize + 64 {
                        // Keep every other key: the sample stays spread and bounded.
                        let mut i = 0;
                        keys.retain(|_| {
                            i += 1;
                            i % 2 == 1
                        });
                    }
                }
                true
            })?;
    }
    let step = (keys.len() / sample.max(1) as usize).max(1);
    Ok(Holdings {
        count: cell.count,
        fingerprint: hex::encode(&cell.fingerprint()[..8]),
        sample: keys
            .into_iter()
            .step_by(step)
            .take(sample as usize)
            .collect(),
    })
}

async fn import(
    node: &Arc<Node>,
    admin: &str,
    name: &str,
    sheet: Option<String>,
    recv: &mut RecvStream,
) -> anyhow::Result<AdminResponse> {
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dir = node.config.data_dir.join("incoming");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("{}-{safe}", now_millis()));
    let mut file = std::fs::File::create(&path)?;
    loop {
        match read_value::<_, AdminRequest>(recv).await? {
            Some(AdminRequest::ImportChunk(bytes)) => std::io::Write::write_all(&mut file, &bytes)?,
            Some(AdminRequest::ImportEnd) => break,
            _ => {
                let _ = std::fs::remove_file(&path);
                anyhow::bail!("import of {name} interrupted before its end");
            }
        }
    }
    drop(file);
    tracing::info!(admin, file = name, "online import");
    let rejects = path.with_extension("rejects.csv");
    // List and court files: the importing certificate proposes their entries.
    let options = ImportOptions { sheet };
    let summary = blocking(|| {
        ingest::import_with(
            &node.store,
            &path,
            &options,
            &rejects,
            Some(admin),
            |_, _| {},
        )
    });
    let _ = std::fs::remove_file(&path);
    let summary = summary?;
    node.dirty.notify_one();
    Ok(AdminResponse::Imported(serde_json::to_string(&summary)?))
}

/// Reconciles with the parent, or asks children (over their own connections) to
/// reconcile with this node, and waits for every round.
async fn reconcile(node: &Arc<Node>, target: ReconcileTarget) -> anyhow::Result<Vec<PeerRound>> {
    let name = match &target {
        ReconcileTarget::Parent => {
            if node.config.parent.is_none() {
                anyhow::bail!("this node has no parent (it is the national hub); use --children");
            }
            // The scheduler runs the round, on its own connection to the parent.
            let (tx, rx) = tokio::sync::oneshot::channel();
            node.parent_requests()
                .send(tx)
                .await
                .map_err(|_| anyhow::anyhow!("the sync scheduler is not running"))?;
            let result = rx
                .await
                .unwrap_or_else(|_| Err("the sync scheduler stopped".into()));
            let peer = node
                .config
                .parent
                .as_ref()
                .map(|p| p.address.clone())
                .unwrap_or_else(|| "parent".into());
            return Ok(vec![PeerRound { peer, result }]);
        }
        ReconcileTarget::Child(name) => Some(name.as_str()),
        ReconcileTarget::Children => None,
    };
    let children = node.child_connections(name);
    if children.is_empty() {
        anyhow::bail!(match name {
            Some(n) => format!("no child named {n} has connected to this node"),
            None => "no child has connected to this node".to_string(),
        });
    }
    // All children at once, each on its own connection.
    let mut set = tokio::task::JoinSet::new();
    for (i, (child, conn)) in children.into_iter().enumerate() {
        set.spawn(async move {
            let result = match conn {
                None => Err("not connected".to_string()),
                Some(c) => ask_child(&c).await.map_err(|e| e.to_string()),
            };
            (
                i,
                PeerRound {
                    peer: child,
                    result,
                },
            )
        });
    }
    let mut rounds = Vec::new();
    while let Some(done) = set.join_next().await {
        rounds.push(done?);
    }
    rounds.sort_by_key(|(i, _)| *i);
    Ok(rounds.into_iter().map(|(_, r)| r).collect())
}

/// Asks a child to reconcile now, on a stream this node opens on the child's
/// connection; the child answers when its round is over.
async fn ask_child(conn: &quinn::Connection) -> Result<SessionStats, crate::link::LinkError> {
    use crate::link::LinkError;
    use credithub_protocol::session::PeerError;
    let (mut send, mut recv) = conn.open_bi().await?;
    write_frame(&mut send, &Frame::SyncNow).await?;
    send.finish()?;
    let answer = tokio::time::timeout(CHILD_ROUND_TIMEOUT, read_frame(&mut recv))
        .await
        .map_err(|_| {
            LinkError::Timeout(CHILD_ROUND_TIMEOUT.as_secs(), "for the child's round")
        })??;
    match answer {
        Some((Frame::Done { records }, _)) => Ok(SessionStats {
            records_sent: records,
            ..SessionStats::default()
        }),
        Some((Frame::Refused { reason }, _)) => Err(LinkError::Declined { code: None, reason }),
        Some((Frame::Declined { code, reason }, _)) => Err(LinkError::Declined {
            code: Some(code),
            reason,
        }),
        Some((other, _)) => Err(PeerError::UnexpectedFrame {
            got: other.name(),
            during: "in answer to sync-now",
        }
        .into()),
        None => Err(PeerError::EndedEarly {
            during: "before answering sync-now",
        }
        .into()),
    }
}

fn stats(node: &Node) -> anyhow::Result<StatsReport> {
    let store = &node.store;
    let (live, tombstones) = store.count(credithub_protocol::DivisionCode::NATIONAL, None)?;
    let partitions = store
        .partitions()?
        .into_iter()
        .map(|(p, cell)| {
            (
                p,
                cell.signed_count(),
                hex::encode(&cell.fingerprint()[..8]),
            )
        })
        .collect();
    Ok(StatsReport {
        jurisdiction: node.config.jurisdiction,
        live,
        tombstones,
        store_root: hex::encode(&store.store_root()?.fingerprint()[..8]),
        partitions,
        storage: store.storage_figures(),
    })
}

fn backup(node: &Node, name: &str) -> anyhow::Result<AdminResponse> {
    if name.is_empty()
        || name.len() > 64
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        || name.starts_with('.')
    {
        anyhow::bail!("backup name {name:?}: use 1-64 characters of a-z, 0-9, '-', '_', '.'");
    }
    let dir = node.config.data_dir.join("backups");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(name);
    if path.exists() {
        anyhow::bail!(
            "backup {} exists already; choose another name",
            path.display()
        );
    }
    let records = node.store.checkpoint(&path)?;
    let bytes = dir_size(&path);
    Ok(AdminResponse::BackedUp {
        path: path.display().to_string(),
        bytes,
        records,
    })
}

fn dir_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

async fn drain(node: &Arc<Node>) -> AdminResponse {
    node.health.set_draining();
    let sessions = node.running_sessions();
    let started = Instant::now();
    while node.running_sessions() > 0 && started.elapsed() < DRAIN_TIMEOUT {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    AdminResponse::Drained {
        sessions,
        waited_ms: started.elapsed().as_millis() as u64,
    }
}
