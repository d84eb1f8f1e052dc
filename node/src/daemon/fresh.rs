//! Fresh queries: a hub asks its children, in parallel, for what they hold about a
//! subject from their jurisdictions, and stores what they send.
//!
//! Both sides run the protocol's [`Session`]: the hub's [`Session::fetch`] judges every
//! record that comes up exactly as a sync session does (the link's scope, then the
//! store's checks of content and version), and checks the child's closing count; the
//! child's [`Session::answer`] sends only what the link lets go up. A child that does
//! not answer in time, stops early, or sends something the hub refuses is named in
//! the answer, which is then marked partial.

use std::sync::Arc;
use std::time::Duration;

use credithub_protocol::ids::SubjectId;
use credithub_protocol::link::LinkScope;
use credithub_protocol::session::{Session, SessionConfig};

use super::Node;
use crate::link::quic::negotiated_version;
use crate::link::session::{blocking, drive};
use crate::link::LinkError;

/// How long a `fresh` query waits for each child.
pub const FRESH_TIMEOUT: Duration = Duration::from_secs(5);

/// What went wrong with one child's fresh answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FreshShortfall {
    /// The child.
    pub child: String,
    /// What happened, for the answer's reader (`no connection`, `timed out after 5 s`,
    /// `2 records refused (outside-jurisdiction)`, …).
    pub what: String,
}

impl std::fmt::Display for FreshShortfall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.child, self.what)
    }
}

/// Asks every connected child, in parallel, for what it holds about `subject` from
/// its jurisdiction, and stores what they send. Returns the children whose answer is
/// missing, incomplete or partly refused, sorted by name.
pub async fn fresh_from_children(
    node: &Arc<Node>,
    subject: &str,
    timeout: Duration,
) -> Vec<FreshShortfall> {
    let mut set = tokio::task::JoinSet::new();
    for (name, conn) in node.child_connections(None) {
        let node = node.clone();
        let subject = subject.to_string();
        set.spawn(async move {
            let Some(conn) = conn else {
                return Some(FreshShortfall {
                    child: name,
                    what: "no connection".into(),
                });
            };
            let asked =
                tokio::time::timeout(timeout, ask_child(&node, &name, &conn, &subject)).await;
            let what = match asked {
                Ok(Ok(0)) => return None,
                Ok(Ok(refused)) => format!("{refused} records refused"),
                Ok(Err(e)) => {
                    tracing::warn!(child = %name, error = %e, reason = e.kind(), "fresh query: the child failed");
                    e.to_string()
                }
                Err(_) => format!("no answer within {} s", timeout.as_secs()),
            };
            Some(FreshShortfall { child: name, what })
        });
    }
    let mut short = Vec::new();
    while let Some(done) = set.join_next().await {
        if let Ok(Some(s)) = done {
            short.push(s);
        }
    }
    short.sort_by(|a, b| a.child.cmp(&b.child));
    short
}

/// Asks one child; returns how many of the records it sent were refused.
async fn ask_child(
    node: &Arc<Node>,
    child: &str,
    conn: &quinn::Connection,
    subject: &str,
) -> Result<u64, LinkError> {
    let scope = node
        .child_scope(child)
        .ok_or_else(|| LinkError::Unavailable(format!("no session with {child} yet")))?;
    let (mut send, mut recv) = conn.open_bi().await?;
    let session = Session::fetch(
        &*node.store,
        scope,
        SessionConfig::default(),
        subject.to_string(),
    )
    .at_version(negotiated_version(conn));
    let session = drive(session, child, &mut send, &mut recv).await?;
    let stats = session.stats();
    node.metrics.refused_records(stats);
    if stats.refused_total() > 0 {
        let reasons: Vec<String> = stats.refused.keys().cloned().collect();
        tracing::warn!(child, refused = stats.refused_total(), reasons = %reasons.join(","), "fresh query: refused records from the child");
    }
    Ok(stats.refused_total())
}

/// The child's side of a `fresh` query at link `version`, on a stream the parent
/// opened and whose first frame asked it: first asks its own children (a shorter wait), then sends
/// what it holds about the subject from its jurisdiction.
pub async fn answer_parent_query<W, R>(
    node: &Arc<Node>,
    version: u16,
    subject: &str,
    send: &mut W,
    recv: &mut R,
) -> Result<(), LinkError>
where
    W: tokio::io::AsyncWrite + Unpin + Send,
    R: tokio::io::AsyncRead + Unpin + Send,
{
    let id = SubjectId::parse_tagged(subject)
        .map_err(|e| LinkError::BadRequest(format!("subject: {e}")))?;
    fresh_from_children(node, subject, FRESH_TIMEOUT / 2).await;
    let own = node.config.jurisdiction;
    let store = node.store.clone();
    let keys = blocking(move || store.by_subject_encoded(&id, own))?
        .into_iter()
        .map(|e| e.key);
    let scope = LinkScope::new(own, node.config.sync.subscriptions.iter().copied());
    let session =
        Session::answer(&*node.store, scope, SessionConfig::default(), keys).at_version(version);
    // The parent gives up after its own wait; so does this side.
    tokio::time::timeout(FRESH_TIMEOUT, drive(session, "parent", send, recv))
        .await
        .map_err(|_| {
            LinkError::Timeout(FRESH_TIMEOUT.as_secs(), "for the parent to take the answer")
        })??;
    Ok(())
}
