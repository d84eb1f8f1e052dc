//! The session's protocol between two nodes, and how it treats a peer that breaks it.

use std::cell::RefCell;

use super::*;
use crate::ids::DivisionCode;
use crate::record::RecordKind;
use crate::sim::model::{NodeCell, SimNode};
use crate::testing::body_about;

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).expect("code")
}

fn node(name: &'static str, j: &str, subs: Vec<RecordKind>) -> NodeCell {
    NodeCell(RefCell::new(SimNode::new(name, code(j), subs, None, None)))
}

/// Writes `n` penalties of `origin` about subjects of `region` at node `at`.
fn write(at: &NodeCell, origin: &str, region: &str, n: u32) -> Vec<RecordKey> {
    (0..n)
        .map(|i| {
            let body = body_about(i + 1000 * region.len() as u32, region);
            let key = RecordKey::derive(code(origin), RecordKind::PENALTY, &body);
            at.0.borrow_mut()
                .write_local(key, Some(body), 1_700_000_000_000);
            key
        })
        .collect()
}

type Infallible = std::convert::Infallible;

/// Runs two sessions against each other until both are finished.
fn run(a: &mut Session<'_, NodeCell>, b: &mut Session<'_, NodeCell>) {
    for _ in 0..100_000 {
        if a.is_finished() && b.is_finished() {
            return;
        }
        let mut moved = false;
        while let Some(f) = a.poll_frame().expect("poll") {
            b.handle_frame(f).expect("b handles");
            moved = true;
        }
        while let Some(f) = b.poll_frame().expect("poll") {
            a.handle_frame(f).expect("a handles");
            moved = true;
        }
        assert!(moved || (a.is_finished() && b.is_finished()), "stuck");
    }
    panic!("no end");
}

fn roots(n: &NodeCell) -> Vec<(PartitionId, crate::digest::Cell)> {
    crate::sync::DigestView::partitions(n).expect("partitions")
}

#[test]
fn a_sync_session_moves_both_ways_and_ends_with_checked_counts() {
    let city = node("suzhou", "320500", vec![]);
    let prov = node("jiangsu", "320000", vec![]);
    write(&city, "320500", "320500", 30);
    // Issued in Nanjing about Suzhou subjects: comes down to Suzhou.
    write(&prov, "320100", "320500", 12);
    let scope = city.0.borrow().uplink_scope();
    let config = SessionConfig {
        frame_records: 7,
        ..SessionConfig::default()
    };
    let mut c = Session::sync(&city, scope.clone(), Side::Child, config, 9).expect("open");
    let mut p = Session::sync(&prov, scope, Side::Parent, config, 0).expect("open");
    run(&mut c, &mut p);
    assert!(c.handle_end().is_ok() && p.handle_end().is_ok());
    assert_eq!(c.stats().records_sent, 30);
    assert_eq!(p.stats().applied, 30);
    assert_eq!(c.stats().applied, 12);
    assert_eq!(c.stats().refused_total() + p.stats().refused_total(), 0);
    // Frames were bounded by the configuration.
    assert_eq!(prov.0.borrow().records().len(), 42);
    // A second session finds nothing to do in one round trip.
    let scope = city.0.borrow().uplink_scope();
    let mut c = Session::sync(&city, scope.clone(), Side::Child, config, 10).expect("open");
    let mut p = Session::sync(&prov, scope, Side::Parent, config, 0).expect("open");
    run(&mut c, &mut p);
    assert_eq!(c.stats().sync_messages, 2);
    assert_eq!(c.stats().records_sent + p.stats().records_sent, 0);
}

#[test]
fn a_diff_session_names_every_difference_and_moves_nothing() {
    let city = node("suzhou", "320500", vec![]);
    let prov = node("jiangsu", "320000", vec![]);
    write(&city, "320500", "320500", 3);
    write(&prov, "320100", "320500", 2);
    let scope = city.0.borrow().uplink_scope();
    let config = SessionConfig::default();
    let mut c = Session::diff(&city, scope.clone(), Side::Child, config, 1).expect("open");
    let mut p = Session::diff(&prov, scope, Side::Parent, config, 0).expect("open");
    let before = (roots(&city), roots(&prov));
    run(&mut c, &mut p);
    let diff = c.diff_outcome().expect("the child has the diff");
    assert!(diff.child_newer.len() + diff.child_only.len() > 0);
    assert!(diff.parent_newer.len() + diff.parent_only.len() > 0);
    assert!(p.diff_outcome().is_none());
    assert_eq!(before, (roots(&city), roots(&prov)));
}

#[test]
fn a_fresh_query_judges_what_comes_up_and_counts_refusals() {
    let city = node("suzhou", "320500", vec![]);
    let prov = node("jiangsu", "320000", vec![]);
    let own = write(&city, "320500", "320500", 3);
    // A record the city may not send up: issued in Nanjing.
    let foreign = write(&city, "320100", "320500", 1);
    let scope = city.0.borrow().uplink_scope();
    let config = SessionConfig::default();
    let mut ask = Session::fetch(&prov, scope.clone(), config, "x".into());
    assert!(matches!(
        ask.poll_frame(),
        Ok(Some(Frame::SubjectQuery { .. }))
    ));
    // An honest answer never sends what may not go up; a forged one does.
    let held = |k: &RecordKey| {
        let r = city.0.borrow().get(k).cloned().expect("held");
        WireRecord {
            key: r.key,
            bytes: r.bytes,
        }
    };
    let batch: Vec<WireRecord> = own.iter().chain(&foreign).map(held).collect();
    ask.handle_frame(Frame::Records(batch)).expect("records");
    ask.handle_frame(Frame::Done { records: 4 }).expect("done");
    assert!(ask.is_finished());
    assert_eq!(ask.stats().applied, 3);
    assert_eq!(
        ask.stats().refused.get("outside-jurisdiction").copied(),
        Some(1)
    );
    assert!(matches!(
        ask.poll_event(),
        Some(Event::Refused {
            reason: Refusal::OutsideJurisdiction,
            ..
        })
    ));

    // The honest answering side filters it itself.
    let mut answer = Session::answer(
        &city,
        scope.clone(),
        config,
        own.iter().chain(&foreign).copied(),
    );
    let mut sent = 0;
    while let Some(f) = answer.poll_frame().expect("poll") {
        if let Frame::Records(b) = f {
            sent += b.len();
        }
    }
    assert_eq!(sent, 3);
    assert!(answer.is_finished());

    // A child that stops early leaves the answer partial.
    let mut ask = Session::fetch(&prov, scope, config, "x".into());
    let _ = ask.poll_frame();
    ask.handle_frame(Frame::Records(vec![held(&own[0])]))
        .expect("records");
    let e = ask.handle_end().expect_err("ended early");
    assert!(
        matches!(e, SessionError::Peer(PeerError::EndedEarly { .. })),
        "{e}"
    );
}

#[test]
fn a_peer_that_breaks_the_protocol_gets_a_typed_error() {
    let city = node("suzhou", "320500", vec![]);
    let prov = node("jiangsu", "320000", vec![]);
    write(&city, "320500", "320500", 2);
    let scope = city.0.borrow().uplink_scope();
    let config = SessionConfig {
        max_queued_wants: 3,
        ..SessionConfig::default()
    };
    let open = |n| Session::sync(n, scope.clone(), Side::Parent, config, 0).expect("open");

    // Records before the reconciliation is over.
    let mut p = open(&prov);
    let e = p
        .handle_frame(Frame::Records(vec![]))
        .expect_err("out of place");
    assert!(
        matches!(
            e,
            SessionError::Peer(PeerError::UnexpectedFrame {
                got: "records",
                during: "during the reconciliation"
            })
        ),
        "{e}"
    );
    assert_eq!(
        match e {
            SessionError::Peer(p) => p.close_code(),
            _ => 0,
        },
        close_code::PROTOCOL
    );

    // Reconcile for real, then: a wrong count; too many wants; a want after want-done.
    let reconciled = |p: &mut Session<'_, NodeCell>| {
        let mut c = Session::sync(&city, scope.clone(), Side::Child, config, 3).expect("open");
        while !p.is_reconciled() {
            while let Some(f) = c.poll_frame().expect("poll") {
                if !matches!(f, Frame::Sync(_)) {
                    break;
                }
                p.handle_frame(f).expect("sync");
            }
            while let Some(f) = p.poll_frame().expect("poll") {
                if let Frame::Sync(_) = f {
                    c.handle_frame(f).expect("sync");
                }
            }
        }
    };
    let mut p = open(&prov);
    reconciled(&mut p);
    let e = p
        .handle_frame(Frame::Done { records: 0 })
        .expect_err("done before want-done");
    assert!(
        matches!(
            e,
            SessionError::Peer(PeerError::UnexpectedFrame { got: "done", .. })
        ),
        "{e}"
    );

    let mut p = open(&prov);
    reconciled(&mut p);
    p.handle_frame(Frame::WantDone).expect("want-done");
    let e = p
        .handle_frame(Frame::Done { records: 5 })
        .expect_err("count");
    assert!(
        matches!(
            e,
            SessionError::Peer(PeerError::CountMismatch {
                said: 5,
                arrived: 0
            })
        ),
        "{e}"
    );

    let mut p = open(&prov);
    reconciled(&mut p);
    let id = crate::record::RecordId([0; 16]);
    let part = PartitionId::origin(code("320500"), RecordKind::PENALTY);
    let e = p
        .handle_frame(Frame::Want {
            items: vec![(part, id); 4],
            ranges: vec![],
        })
        .expect_err("too many");
    assert!(
        matches!(e, SessionError::Peer(PeerError::TooManyWants { limit: 3 })),
        "{e}"
    );

    let mut p = open(&prov);
    reconciled(&mut p);
    p.handle_frame(Frame::WantDone).expect("want-done");
    let e = p
        .handle_frame(Frame::Want {
            items: vec![],
            ranges: vec![],
        })
        .expect_err("after want-done");
    assert!(
        matches!(e, SessionError::Peer(PeerError::UnexpectedFrame { .. })),
        "{e}"
    );

    // A version-1 session takes no version-2 frame.
    let mut p = open(&prov).at_version(1);
    let e = p
        .handle_frame(Frame::Declined {
            code: crate::link::DeclineCode::Busy,
            reason: "busy".into(),
        })
        .expect_err("too new");
    assert!(
        matches!(
            e,
            SessionError::Peer(PeerError::FrameTooNew {
                frame: "declined",
                version: 1
            })
        ),
        "{e}"
    );

    // A declined session carries its code.
    let mut p = open(&prov);
    let e = p
        .handle_frame(Frame::Declined {
            code: crate::link::DeclineCode::Draining,
            reason: "draining".into(),
        })
        .expect_err("declined");
    assert!(matches!(
        e,
        SessionError::<Infallible>::Declined {
            code: Some(crate::link::DeclineCode::Draining),
            ..
        }
    ));
}

#[test]
fn records_of_a_newer_form_are_held_back_on_an_older_link_and_refused_from_it() {
    let city = node("suzhou", "320500", vec![]);
    let prov = node("jiangsu", "320000", vec![]);
    write(&city, "320500", "320500", 4);
    // Form-2 records of the city: a passport holder's penalty, a list entry, a
    // code mapping.
    for (kind, body) in crate::testing::form2_bodies() {
        let key = RecordKey::derive(code("320500"), kind, &body);
        city.0
            .borrow_mut()
            .write_local(key, Some(body), 1_700_000_000_000);
    }
    let scope = city.0.borrow().uplink_scope();
    let config = SessionConfig::default();
    // At link version 2 the form-2 records stay behind, counted.
    let mut c = Session::sync(&city, scope.clone(), Side::Child, config, 3)
        .expect("open")
        .at_version(2);
    let mut p = Session::sync(&prov, scope.clone(), Side::Parent, config, 0)
        .expect("open")
        .at_version(2);
    run(&mut c, &mut p);
    assert_eq!(c.stats().records_sent, 4);
    assert_eq!(c.stats().held_back, 3);
    assert_eq!(p.stats().refused_total(), 0);
    // Once both ends speak version 3 they go.
    let mut c = Session::sync(&city, scope.clone(), Side::Child, config, 4).expect("open");
    let mut p = Session::sync(&prov, scope.clone(), Side::Parent, config, 0).expect("open");
    run(&mut c, &mut p);
    assert_eq!((c.stats().records_sent, c.stats().held_back), (3, 0));
    assert_eq!(p.stats().applied, 3);
    // A peer that sends one on a version-2 link has it refused.
    let form2 = city
        .0
        .borrow()
        .records()
        .values()
        .find(|r| r.form() == crate::codec::FORMAT_V2)
        .cloned()
        .expect("a form-2 record");
    let other = node("jiangsu", "320000", vec![]);
    let mut p = Session::fetch(&other, scope, config, "x".into()).at_version(2);
    let _ = p.poll_frame();
    p.handle_frame(Frame::Records(vec![WireRecord {
        key: form2.key,
        bytes: form2.bytes,
    }]))
    .expect("a refusal, not an error");
    assert_eq!(p.stats().refused_total(), 1);
    assert_eq!(p.stats().applied, 0);
}
