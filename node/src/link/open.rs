//! The opening of a sync session: the child names its subscriptions, the parent checks
//! who the child is (from its certificate) and answers with its jurisdiction.
//!
//! Both sides open at the link version their connection negotiated
//! ([`super::quic::negotiated_version`]); a child whose opening names another version
//! is refused.

use credithub_protocol::accounts::SubtreeAccounts;
use credithub_protocol::link::{DeclineCode, Frame, LinkScope, SessionMode};
use credithub_protocol::record::RecordKind;
use credithub_protocol::report::{NodeReport, MAX_CHILDREN};
use credithub_protocol::session::PeerError;
use credithub_protocol::DivisionCode;
use tokio::io::{AsyncRead, AsyncWrite};

use super::frame::{read_frame, write_frame};
use super::quic::HANDSHAKE_TIMEOUT;
use super::LinkError;
use crate::certs::{Identity, Role};

/// Most kinds a child may subscribe to.
pub const MAX_SUBSCRIPTIONS: usize = 256;

async fn first_frame<R: AsyncRead + Unpin>(recv: &mut R) -> Result<Frame, LinkError> {
    let read = tokio::time::timeout(HANDSHAKE_TIMEOUT, read_frame(recv))
        .await
        .map_err(|_| {
            LinkError::Timeout(HANDSHAKE_TIMEOUT.as_secs(), "for the session opening")
        })??;
    read.map(|(f, _)| f)
        .ok_or(LinkError::Peer(PeerError::EndedEarly {
            during: "before the session opened",
        }))
}

/// The child's side: opens a session for `mode` at link version `version`, with the
/// child's report and, from link version 4 on, its subtree's accounts per reporting
/// unit, and returns the link's scope.
#[allow(clippy::too_many_arguments)]
pub async fn open_as_child<W, R>(
    send: &mut W,
    recv: &mut R,
    version: u16,
    own: DivisionCode,
    subscriptions: &[RecordKind],
    mode: SessionMode,
    report: NodeReport,
    accounts: SubtreeAccounts,
) -> Result<LinkScope, LinkError>
where
    W: AsyncWrite + Unpin,
    R: AsyncRead + Unpin,
{
    write_frame(
        send,
        &Frame::Open {
            version,
            subscriptions: subscriptions.to_vec(),
            mode,
            report: Box::new(report),
        },
    )
    .await?;
    if version >= ACCOUNTS_SINCE {
        let mut accounts = accounts;
        if let Some(month) = accounts.fit(MAX_ACCOUNTS_BYTES) {
            tracing::warn!(%month, "accounts too large for a frame: months up to this one left out");
        }
        write_frame(send, &Frame::Accounts(Box::new(accounts))).await?;
    }
    match first_frame(recv).await? {
        Frame::Accepted { .. } => Ok(LinkScope::new(own, subscriptions.iter().copied())),
        Frame::Refused { reason } => Err(LinkError::Declined { code: None, reason }),
        Frame::Declined { code, reason } if version >= 2 => Err(LinkError::Declined {
            code: Some(code),
            reason,
        }),
        other => Err(PeerError::UnexpectedFrame {
            got: other.name(),
            during: "before the session opened",
        }
        .into()),
    }
}

/// Why a peer may not open a session with this node, if it may not.
pub fn check_child(own: DivisionCode, peer: &Identity) -> Result<(), (DeclineCode, String)> {
    if peer.role != Role::Node {
        return Err((
            DeclineCode::NotPermitted,
            format!(
                "certificate of role {} may not sync; only node certificates may",
                peer.role.as_str()
            ),
        ));
    }
    if peer.jurisdiction.parent() != Some(own) {
        return Err((
            DeclineCode::NotPermitted,
            format!(
                "{} ({}) is not a direct child of this node's jurisdiction {own}",
                peer.name, peer.jurisdiction
            ),
        ));
    }
    Ok(())
}

/// A session the parent accepted.
#[derive(Debug)]
pub struct Opened {
    /// The link's scope (the child's jurisdiction from its certificate).
    pub scope: LinkScope,
    /// What the session is for.
    pub mode: SessionMode,
    /// What the child says about itself (its name and jurisdiction are overwritten
    /// with its certificate's).
    pub report: NodeReport,
    /// The accounts of its subtree (link version 4 on; checked against its
    /// jurisdiction).
    pub accounts: Option<SubtreeAccounts>,
}

/// The largest encoding of the accounts sent in one frame (half of a frame's limit;
/// the oldest months are left out of larger ones).
pub const MAX_ACCOUNTS_BYTES: usize = credithub_protocol::link::MAX_FRAME / 2;

/// The first link version whose sessions carry [`Frame::Accounts`].
pub const ACCOUNTS_SINCE: u16 = 4;

/// The accounts a child sends after its opening, on a link that carries them.
async fn read_accounts<R: AsyncRead + Unpin>(
    recv: &mut R,
    version: u16,
    peer: &Identity,
) -> Result<Option<SubtreeAccounts>, (DeclineCode, String)> {
    if version < ACCOUNTS_SINCE {
        return Ok(None);
    }
    match first_frame(recv).await {
        Ok(Frame::Accounts(a)) => match a.check(peer.jurisdiction) {
            Ok(()) => Ok(Some(*a)),
            Err(e) => Err((DeclineCode::BadRequest, e.to_string())),
        },
        Ok(other) => Err((
            DeclineCode::BadRequest,
            format!("expected accounts after the opening, got {}", other.name()),
        )),
        Err(e) => Err((
            DeclineCode::BadRequest,
            format!("reading the accounts: {e}"),
        )),
    }
}

/// The parent's side: reads the child's opening (which must name the connection's
/// negotiated link `version`), checks it, answers, and returns what was opened.
pub async fn accept_child<W, R>(
    send: &mut W,
    recv: &mut R,
    version: u16,
    own: DivisionCode,
    peer: &Identity,
) -> Result<Opened, LinkError>
where
    W: AsyncWrite + Unpin,
    R: AsyncRead + Unpin,
{
    let checked = match first_frame(recv).await? {
        Frame::Open {
            version: opened,
            subscriptions,
            mode,
            report,
        } => {
            let bad = |why: String| Err((DeclineCode::BadRequest, why));
            if opened != version {
                bad(format!(
                    "the session opens at link version {opened}, the connection negotiated {version}"
                ))
            } else if subscriptions.len() > MAX_SUBSCRIPTIONS {
                bad(format!(
                    "{} subscriptions, at most {MAX_SUBSCRIPTIONS}",
                    subscriptions.len()
                ))
            } else if report.children.len() > MAX_CHILDREN {
                bad(format!(
                    "a report of {} children, at most {MAX_CHILDREN}",
                    report.children.len()
                ))
            } else {
                match check_child(own, peer) {
                    Ok(()) => read_accounts(recv, version, peer)
                        .await
                        .map(|accounts| (subscriptions, mode, report, accounts)),
                    Err(e) => Err(e),
                }
            }
        }
        other => Err((
            DeclineCode::BadRequest,
            format!("expected open, got {}", other.name()),
        )),
    };
    match checked {
        Ok((subscriptions, mode, mut report, accounts)) => {
            write_frame(send, &Frame::Accepted { jurisdiction: own }).await?;
            report.name.clone_from(&peer.name);
            report.jurisdiction = peer.jurisdiction;
            Ok(Opened {
                scope: LinkScope::new(peer.jurisdiction, subscriptions),
                mode,
                report: *report,
                accounts,
            })
        }
        Err((code, reason)) => {
            // Best effort: the peer learns why before the stream closes.
            let _ = write_frame(send, &Frame::decline(version, code, reason.clone())).await;
            Err(LinkError::RefusedPeer { code, reason })
        }
    }
}

#[cfg(test)]
mod tests {
    use credithub_protocol::accounts::NodeAccounts;

    use super::*;

    fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).expect("code")
    }

    fn accounts_of(name: &str, j: &str) -> SubtreeAccounts {
        SubtreeAccounts {
            nodes: vec![NodeAccounts {
                name: name.into(),
                jurisdiction: code(j),
                ..NodeAccounts::default()
            }],
        }
    }

    /// A child of `child_j` opens at `version` with `accounts` to a parent of
    /// Jiangsu: what the parent got, and whether the child was accepted.
    async fn open_at(
        version: u16,
        child_j: &str,
        accounts: SubtreeAccounts,
    ) -> (Result<Opened, LinkError>, Result<LinkScope, LinkError>) {
        let (mut c_send, mut p_recv) = tokio::io::duplex(1 << 16);
        let (mut p_send, mut c_recv) = tokio::io::duplex(1 << 16);
        let peer = Identity {
            role: Role::Node,
            jurisdiction: code(child_j),
            name: "suzhou".into(),
        };
        let parent = accept_child(&mut p_send, &mut p_recv, version, code("320000"), &peer);
        let child = open_as_child(
            &mut c_send,
            &mut c_recv,
            version,
            code(child_j),
            &[],
            SessionMode::Sync,
            NodeReport::default(),
            accounts,
        );
        tokio::join!(parent, child)
    }

    #[tokio::test]
    async fn accounts_follow_the_opening_from_link_version_4_only() {
        let (parent, child) = open_at(4, "320500", accounts_of("suzhou", "320500")).await;
        assert!(child.is_ok());
        let got = parent.expect("accepted").accounts.expect("accounts");
        assert_eq!(got.nodes[0].name, "suzhou");
        // At version 3 nothing follows the opening, and the parent expects nothing.
        let (parent, child) = open_at(3, "320500", accounts_of("suzhou", "320500")).await;
        assert!(child.is_ok());
        assert_eq!(parent.expect("accepted").accounts, None);
    }

    #[tokio::test]
    async fn accounts_of_another_jurisdiction_are_refused() {
        let (parent, child) = open_at(4, "320500", accounts_of("nanjing", "320100")).await;
        assert!(matches!(
            parent,
            Err(LinkError::RefusedPeer {
                code: DeclineCode::BadRequest,
                ..
            })
        ));
        assert!(
            matches!(child, Err(LinkError::Declined { .. })),
            "{child:?}"
        );
    }
}
