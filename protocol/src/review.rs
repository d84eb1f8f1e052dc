//! The review of list entries before publication (红黑名单审核、确认), as rules over
//! record bodies: no storage, no clock of its own.
//!
//! An entry of a red list, a black list or the dishonest-debtor list is
//!
//! 1. **proposed** (by import or by hand), then
//! 2. **reviewed** (审核) by an administrator other than the proposer, then
//! 3. **confirmed** (确认) by an administrator other than the proposer, which
//!    **publishes** it: from that version on it travels to every node entitled to it
//!    and joint measures apply;
//! 4. later **removed** (repair, expiry, the court's deletion on performance,
//!    revocation): a new version with the `Removed` status, which travels like the
//!    published one and ends its effects.
//!
//! A proposed or reviewed entry may be **rejected** instead (by someone other than
//! the proposer); it is never published. Each step appends a [`ReviewStep`] (who,
//! when, why) to the entry's trail, so every version records its history. Until it is
//! published an entry is a *draft* kept at its origin only, outside the digest index:
//! it never leaves the origin, no reader but the origin's administrators sees it, and
//! it triggers no measure.

use crate::date::Date;
use crate::record::{
    Details, ListingDetails, RecordBody, RecordKind, RecordStatus, Removal, RemovalCause,
    ReviewAction, ReviewStep,
};

/// Why a review step is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    /// Only list kinds are reviewed.
    #[error("{0} records are not list entries (red-list, black-list, dishonest-debtor)")]
    NotAList(RecordKind),
    /// The body is not a list entry of record form 2.
    #[error("the record is not a list entry with a review trail")]
    NoTrail,
    /// The step does not follow the entry's last one.
    #[error("cannot {action} an entry that is {state}")]
    OutOfOrder {
        /// The step asked.
        action: &'static str,
        /// Where the entry stands.
        state: &'static str,
    },
    /// The proposer may not review, confirm or reject their own proposal.
    #[error("{by} proposed this entry and may not {action} it: another administrator must")]
    SameAdministrator {
        /// Who asked.
        by: String,
        /// The step asked.
        action: &'static str,
    },
    /// A step needs its reason.
    #[error("{0} needs a reason")]
    NoReason(&'static str),
}

/// Where an entry stands, from its trail.
pub fn state(listing: &ListingDetails) -> &'static str {
    match listing.last_action() {
        None => "without a trail",
        Some(a) => a.as_str(),
    }
}

fn listing_mut(
    kind: RecordKind,
    body: &mut RecordBody,
) -> Result<&mut ListingDetails, ReviewError> {
    if !kind.is_list() {
        return Err(ReviewError::NotAList(kind));
    }
    match &mut body.details {
        Details::Listing(l) => Ok(l),
        _ => Err(ReviewError::NoTrail),
    }
}

/// Starts the trail of a proposed entry: any earlier trail is dropped (a proposal
/// of an entry already published, a correction, starts a review of its own). An
/// entry whose removal the source already states keeps it.
pub fn propose(
    kind: RecordKind,
    body: &mut RecordBody,
    by: &str,
    note: &str,
    now_ms: u64,
) -> Result<(), ReviewError> {
    let listing = listing_mut(kind, body)?;
    listing.review.clear();
    listing
        .review
        .push(step(ReviewAction::Proposed, by, note, now_ms));
    // An entry the source says left its list already (移出日期) is proposed as such.
    body.status = if listing.removal.is_some() {
        RecordStatus::Removed
    } else {
        RecordStatus::Active
    };
    body.published_on = None;
    Ok(())
}

/// Appends a review step to a draft: `Reviewed`, `Confirmed` (which publishes: the
/// caller then writes the entry as a record) or `Rejected`. `today` is the origin's
/// date, the publication date of a confirmed entry.
pub fn advance(
    kind: RecordKind,
    body: &mut RecordBody,
    action: ReviewAction,
    by: &str,
    note: &str,
    now_ms: u64,
    today: Date,
) -> Result<(), ReviewError> {
    let listing = listing_mut(kind, body)?;
    let last = listing.last_action();
    let (name, allowed): (&'static str, &[ReviewAction]) = match action {
        ReviewAction::Reviewed => ("review", &[ReviewAction::Proposed]),
        ReviewAction::Confirmed => ("confirm", &[ReviewAction::Reviewed]),
        ReviewAction::Rejected => ("reject", &[ReviewAction::Proposed, ReviewAction::Reviewed]),
        ReviewAction::Proposed => ("propose", &[]),
        ReviewAction::Published => ("publish", &[]),
        ReviewAction::Removed => ("remove", &[]),
    };
    if !last.is_some_and(|l| allowed.contains(&l)) {
        return Err(ReviewError::OutOfOrder {
            action: name,
            state: state(listing),
        });
    }
    if listing.proposer() == Some(by) {
        return Err(ReviewError::SameAdministrator {
            by: by.to_string(),
            action: name,
        });
    }
    if action == ReviewAction::Rejected && note.trim().is_empty() {
        return Err(ReviewError::NoReason("a rejection"));
    }
    listing.review.push(step(action, by, note, now_ms));
    if action == ReviewAction::Confirmed {
        listing
            .review
            .push(step(ReviewAction::Published, by, "", now_ms));
        body.published_on = Some(today);
    }
    Ok(())
}

/// Takes a published entry off its list: the new version's body (status `Removed`,
/// the removal, and the step in its trail).
pub fn remove(
    kind: RecordKind,
    body: &mut RecordBody,
    cause: RemovalCause,
    reason: &str,
    by: &str,
    now_ms: u64,
    on: Date,
) -> Result<(), ReviewError> {
    let listing = listing_mut(kind, body)?;
    if !listing.is_published() || listing.removal.is_some() {
        return Err(ReviewError::OutOfOrder {
            action: "remove",
            state: if listing.removal.is_some() {
                "removed already"
            } else {
                "not published"
            },
        });
    }
    if reason.trim().is_empty() {
        return Err(ReviewError::NoReason("a removal"));
    }
    listing.removal = Some(Removal {
        on,
        cause,
        reason: reason.to_string(),
    });
    listing
        .review
        .push(step(ReviewAction::Removed, by, reason, now_ms));
    body.status = RecordStatus::Removed;
    Ok(())
}

/// Whether a list entry may take effect (be shown to public and government readers,
/// trigger measures): every record that is not a list entry of form 2, and list
/// entries that were published and not removed.
pub fn in_force(body: &RecordBody) -> bool {
    match &body.details {
        Details::Listing(l) => l.is_published() && l.removal.is_none(),
        _ => true,
    }
}

/// Whether two list entries state the same thing, whatever their review: equal once
/// their trails, publication dates and statuses are set aside. A proposal of what a
/// draft or the published entry already states changes nothing.
pub fn same_entry(a: &RecordBody, b: &RecordBody) -> bool {
    fn plain(body: &RecordBody) -> RecordBody {
        let mut body = body.clone();
        body.published_on = None;
        body.status = RecordStatus::Active;
        if let Details::Listing(l) = &mut body.details {
            l.review.clear();
        }
        body
    }
    plain(a) == plain(b)
}

fn step(action: ReviewAction, by: &str, note: &str, at_ms: u64) -> ReviewStep {
    ReviewStep {
        action,
        by: by.to_string(),
        at_ms,
        note: note.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::form2_bodies;

    fn listed() -> (RecordKind, RecordBody) {
        form2_bodies()
            .into_iter()
            .find(|(k, _)| *k == RecordKind::BLACK_LIST)
            .expect("a black-list sample")
    }

    fn day() -> Date {
        Date::new(2026, 12, 3).expect("date")
    }

    #[test]
    fn the_whole_life_of_an_entry() {
        let (kind, mut body) = listed();
        propose(kind, &mut body, "alice", "", 1).unwrap();
        assert!(!in_force(&body));
        let refused = advance(
            kind,
            &mut body,
            ReviewAction::Reviewed,
            "alice",
            "",
            2,
            day(),
        );
        assert!(matches!(
            refused,
            Err(ReviewError::SameAdministrator { .. })
        ));
        let early = advance(
            kind,
            &mut body,
            ReviewAction::Confirmed,
            "bob",
            "",
            2,
            day(),
        );
        assert!(matches!(early, Err(ReviewError::OutOfOrder { .. })));
        advance(
            kind,
            &mut body,
            ReviewAction::Reviewed,
            "bob",
            "ok",
            3,
            day(),
        )
        .unwrap();
        assert!(advance(
            kind,
            &mut body,
            ReviewAction::Confirmed,
            "alice",
            "",
            4,
            day()
        )
        .is_err());
        advance(
            kind,
            &mut body,
            ReviewAction::Confirmed,
            "carol",
            "",
            5,
            day(),
        )
        .unwrap();
        assert!(in_force(&body));
        assert_eq!(body.published_on, Some(day()));
        let Details::Listing(l) = &body.details else {
            panic!("a listing")
        };
        let trail: Vec<_> = l.review.iter().map(|s| (s.action, s.by.as_str())).collect();
        assert_eq!(
            trail,
            [
                (ReviewAction::Proposed, "alice"),
                (ReviewAction::Reviewed, "bob"),
                (ReviewAction::Confirmed, "carol"),
                (ReviewAction::Published, "carol"),
            ]
        );
        assert!(remove(
            kind,
            &mut body,
            RemovalCause::Performed,
            "",
            "dave",
            6,
            day()
        )
        .is_err());
        remove(
            kind,
            &mut body,
            RemovalCause::Performed,
            "履行完毕",
            "dave",
            6,
            day(),
        )
        .unwrap();
        assert!(!in_force(&body));
        assert_eq!(body.status, RecordStatus::Removed);
        assert!(remove(kind, &mut body, RemovalCause::Expiry, "x", "dave", 7, day()).is_err());
    }

    #[test]
    fn a_rejection_needs_another_administrator_and_a_reason() {
        let (kind, mut body) = listed();
        propose(kind, &mut body, "alice", "", 1).unwrap();
        assert!(advance(
            kind,
            &mut body,
            ReviewAction::Rejected,
            "bob",
            " ",
            2,
            day()
        )
        .is_err());
        advance(
            kind,
            &mut body,
            ReviewAction::Rejected,
            "bob",
            "依据不足",
            2,
            day(),
        )
        .unwrap();
        assert!(advance(
            kind,
            &mut body,
            ReviewAction::Reviewed,
            "carol",
            "",
            3,
            day()
        )
        .is_err());
        assert!(!in_force(&body));
        let mut penalty = crate::testing::sample_body(1, "91110000600037341L");
        assert!(matches!(
            propose(RecordKind::PENALTY, &mut penalty, "alice", "", 1),
            Err(ReviewError::NotAList(_))
        ));
    }
}
