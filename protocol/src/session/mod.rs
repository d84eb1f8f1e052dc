//! One session on a parent–child link, sans-IO: the whole protocol of a sync, a diff
//! or a fresh query, with no sockets, no disk and no clock of its own.
//!
//! Like `quinn-proto`'s connection, a [`Session`] is driven from outside: the I/O
//! shell hands it every frame that arrives ([`Session::handle_frame`]), takes every
//! frame it has to send ([`Session::poll_frame`]) when the stream can take one, and
//! tells it when the peer's side of the stream ended ([`Session::handle_end`]). The
//! node's QUIC link, the node's fresh queries and the deterministic simulation all
//! drive this one type, so the simulation checks the code that ships.
//!
//! A sync session ([`Session::sync`]):
//!
//! 1. **Reconciles**: the child opens the [`Reconciler`] and both answer until each
//!    knows what to send and fetch ([`Frame::Sync`]).
//! 2. **Plans** from the [`Outcome`] and the [`LinkScope`]: it asks only for what the
//!    peer may send it ([`Frame::Want`], then [`Frame::WantDone`]), and sends only
//!    what may go to the peer.
//! 3. **Transfers**: its own outcome's records and subtrees, then what the peer
//!    wants, read from the [`RecordSource`] when the stream can take the next frame
//!    (at most [`SessionConfig::frame_records`] records, about
//!    [`SessionConfig::frame_bytes`]); subtrees are read a page at a time, so memory
//!    stays bounded whatever the transfer's size.
//! 4. **Judges** every record that arrives in one verdict: the link's scope first,
//!    then the store's checks of content (digest, natural key) and version order in
//!    the atomic write of its frame ([`RecordSource::apply`]). Refusals are counted
//!    and reported ([`Event`]) and never stop the session.
//! 5. **Ends** with [`Frame::Done`] each way, whose count the receiver checks.
//!
//! A diff session ([`Session::diff`]) reconciles and then the parent sends its side of
//! the outcome ([`Frame::Diff`]); nothing moves. A fresh query is a parent's
//! [`Session::fetch`] (it asks [`Frame::SubjectQuery`] and judges what comes up) and
//! a child's [`Session::answer`] (it sends the records it was asked for).
//!
//! Every queue is bounded: frames by the configuration, the peer's wants by
//! [`SessionConfig::max_queued_wants`], reported events by
//! [`SessionConfig::logged_events`].

mod error;
mod source;
mod stats;

use std::collections::{BTreeSet, VecDeque};

pub use error::{close_code, PeerError, SessionError};
pub use source::{Receipt, RecordSource};
pub use stats::{Event, SessionStats};

use crate::codec::{link_version_for_form, EncodedRecord};
use crate::digest::{NodePath, PartitionId};
use crate::link::{
    DiffOutcome, Frame, LinkScope, Refusal, Side, WireRecord, LINK_VERSION, MAX_RECORDS_PER_FRAME,
    MAX_WANTS_PER_FRAME,
};
use crate::record::{RecordId, RecordKey};
use crate::sync::{Limits, Outcome, Reconciler, SyncError};

/// Sizes and bounds of a session; the defaults are the node's.
#[derive(Debug, Clone, Copy)]
pub struct SessionConfig {
    /// Record versions per [`Frame::Records`] at most.
    pub frame_records: usize,
    /// Record bytes per frame: a frame ends once it holds this much.
    pub frame_bytes: usize,
    /// Entries per [`Frame::Want`] at most.
    pub want_chunk: usize,
    /// Records and subtrees the peer may ask for in one session; a peer that asks for
    /// more is cut off rather than allowed to grow this node's memory (what it did not
    /// get, the next session finds again).
    pub max_queued_wants: usize,
    /// Events reported per session at most (refusals and conflicts beyond are only
    /// counted).
    pub logged_events: usize,
    /// The reconciliation's limits.
    pub limits: Limits,
}

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            frame_records: MAX_RECORDS_PER_FRAME,
            frame_bytes: 1 << 20,
            want_chunk: MAX_WANTS_PER_FRAME,
            // 256 want frames' worth (about two million records not yet sent).
            max_queued_wants: 256 * MAX_WANTS_PER_FRAME,
            logged_events: 20,
            limits: Limits::default(),
        }
    }
}

/// What a session is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Reconcile, then move records both ways.
    Sync,
    /// Reconcile, then the parent sends its side of the outcome.
    Diff,
    /// Ask the peer about a subject and take what it sends.
    Fetch,
    /// Send the records the peer asked for.
    Answer,
}

/// Where a session is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Reconciling,
    Transferring,
    Finished,
}

/// A unit of sending work: one record, or a subtree read a page at a time.
#[derive(Debug, Clone, Copy)]
enum Work {
    Item(PartitionId, RecordId),
    Range(PartitionId, NodePath, Option<RecordId>),
    Key(RecordKey),
}

type ScopeFilter = Box<dyn Fn(&PartitionId) -> bool + Send + Sync>;

/// One side of a session on a parent–child link (see the [module](self) docs).
pub struct Session<'a, R: RecordSource> {
    source: &'a R,
    scope: LinkScope,
    side: Side,
    /// The link version the connection negotiated.
    version: u16,
    config: SessionConfig,
    kind: Kind,
    phase: Phase,
    reconciler: Option<Reconciler<'a, R, ScopeFilter>>,
    outcome: Option<Outcome>,
    /// Control frames ready to go, before any record.
    outbox: VecDeque<Frame>,
    /// What is left to send, in order.
    work: VecDeque<Work>,
    /// Records read and not yet in a frame (at most one page).
    pending: VecDeque<EncodedRecord>,
    /// Records and subtrees the peer asked for so far.
    queued_wants: usize,
    /// Whether the peer said it wants nothing more.
    peer_want_done: bool,
    /// Whether everything this side sends has been taken (its last frame included).
    sending_done: bool,
    /// Whether everything this side expects has arrived.
    receiving_done: bool,
    /// The merged differences, for a diff session's child.
    diff: Option<DiffOutcome>,
    stats: SessionStats,
    events: VecDeque<Event>,
    events_reported: usize,
}

impl<'a, R: RecordSource> Session<'a, R> {
    fn new(source: &'a R, scope: LinkScope, side: Side, config: SessionConfig, kind: Kind) -> Self {
        Session {
            source,
            scope,
            side,
            version: LINK_VERSION,
            config,
            kind,
            phase: Phase::Transferring,
            reconciler: None,
            outcome: None,
            outbox: VecDeque::new(),
            work: VecDeque::new(),
            pending: VecDeque::new(),
            queued_wants: 0,
            peer_want_done: false,
            sending_done: false,
            receiving_done: false,
            diff: None,
            stats: SessionStats::default(),
            events: VecDeque::new(),
            events_reported: 0,
        }
    }

    fn reconciling(
        source: &'a R,
        scope: LinkScope,
        side: Side,
        config: SessionConfig,
        kind: Kind,
        salt: u64,
    ) -> Result<Self, SessionError<R::Error>> {
        let mut s = Session::new(source, scope, side, config, kind);
        let covers = s.scope.clone();
        let filter: ScopeFilter = Box::new(move |p: &PartitionId| covers.covers(p));
        let mut rec = Reconciler::new(source, filter, config.limits).with_salt(salt);
        if side == Side::Child {
            let hello = rec.start().map_err(sync_error)?;
            s.outbox.push_back(Frame::Sync(hello));
            s.stats.sync_messages += 1;
        }
        s.reconciler = Some(rec);
        s.phase = Phase::Reconciling;
        Ok(s)
    }

    /// A sync session on this node's `side` of a link of `scope`; the child starts the
    /// reconciliation with `salt` (a random one, in a node).
    pub fn sync(
        source: &'a R,
        scope: LinkScope,
        side: Side,
        config: SessionConfig,
        salt: u64,
    ) -> Result<Self, SessionError<R::Error>> {
        Session::reconciling(source, scope, side, config, Kind::Sync, salt)
    }

    /// A diff session: reconcile, then the parent sends its side of the outcome and the
    /// child merges both ([`Session::diff_outcome`]). Nothing moves.
    pub fn diff(
        source: &'a R,
        scope: LinkScope,
        side: Side,
        config: SessionConfig,
        salt: u64,
    ) -> Result<Self, SessionError<R::Error>> {
        Session::reconciling(source, scope, side, config, Kind::Diff, salt)
    }

    /// The parent's side of a fresh query: asks the child what it holds about
    /// `subject` from its jurisdiction, and judges and stores what comes up.
    pub fn fetch(source: &'a R, scope: LinkScope, config: SessionConfig, subject: String) -> Self {
        let mut s = Session::new(source, scope, Side::Parent, config, Kind::Fetch);
        s.outbox.push_back(Frame::SubjectQuery { subject });
        s
    }

    /// The child's side of a fresh query: sends the records `keys` names (those the
    /// link lets go up), then [`Frame::Done`].
    pub fn answer(
        source: &'a R,
        scope: LinkScope,
        config: SessionConfig,
        keys: impl IntoIterator<Item = RecordKey>,
    ) -> Self {
        let mut s = Session::new(source, scope, Side::Child, config, Kind::Answer);
        s.work.extend(keys.into_iter().map(Work::Key));
        s.peer_want_done = true;
        s.receiving_done = true;
        s
    }

    /// Runs the session at the link version the connection negotiated (this build's
    /// newest by default): a frame the version does not have is a protocol violation.
    pub fn at_version(mut self, version: u16) -> Self {
        self.version = version;
        self
    }

    /// The link version the session runs at.
    pub fn version(&self) -> u16 {
        self.version
    }

    /// This node's side of the link.
    pub fn side(&self) -> Side {
        self.side
    }

    /// The link's scope.
    pub fn scope(&self) -> &LinkScope {
        &self.scope
    }

    /// What the session did so far.
    pub fn stats(&self) -> &SessionStats {
        &self.stats
    }

    /// The figures, for the I/O shell to add its byte counts and time to.
    pub fn stats_mut(&mut self) -> &mut SessionStats {
        &mut self.stats
    }

    /// The reconciliation's outcome, once it is over.
    pub fn outcome(&self) -> Option<&Outcome> {
        self.outcome.as_ref()
    }

    /// Whether the reconciliation is over (always, for a fetch or an answer).
    pub fn is_reconciled(&self) -> bool {
        self.phase != Phase::Reconciling
    }

    /// Every difference of a diff session, on the child's side once the parent's side
    /// arrived.
    pub fn diff_outcome(&self) -> Option<&DiffOutcome> {
        self.diff.as_ref()
    }

    /// Whether this side sent and received everything: the shell then closes its side
    /// of the stream and waits for the peer's end ([`Session::handle_end`]).
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// The next event worth a log line, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn report(&mut self, event: Event) {
        if self.events_reported < self.config.logged_events {
            self.events_reported += 1;
            self.events.push_back(event);
        }
    }

    fn peer_side(&self) -> Side {
        match self.side {
            Side::Child => Side::Parent,
            Side::Parent => Side::Child,
        }
    }

    fn during(&self) -> &'static str {
        match (self.phase, self.kind) {
            (Phase::Reconciling, _) => "during the reconciliation",
            (Phase::Finished, _) => "after done",
            (Phase::Transferring, Kind::Diff) => "before the diff",
            (Phase::Transferring, Kind::Fetch) => "before the answer was complete",
            (Phase::Transferring, _) => "during the transfer",
        }
    }

    fn unexpected(&self, frame: &Frame) -> SessionError<R::Error> {
        SessionError::Peer(PeerError::UnexpectedFrame {
            got: frame.name(),
            during: self.during(),
        })
    }

    fn check_finished(&mut self) {
        if self.phase != Phase::Reconciling
            && self.sending_done
            && self.receiving_done
            && self.outbox.is_empty()
        {
            self.phase = Phase::Finished;
        }
    }

    /// Handles one frame from the peer. An error ends the session: the shell stops
    /// driving it and reports the error (a [`PeerError`] is the peer's fault).
    pub fn handle_frame(&mut self, frame: Frame) -> Result<(), SessionError<R::Error>> {
        if frame.since_version() > self.version {
            return Err(PeerError::FrameTooNew {
                frame: frame.name(),
                version: self.version,
            }
            .into());
        }
        match frame {
            Frame::Refused { reason } => Err(SessionError::Declined { code: None, reason }),
            Frame::Declined { code, reason } => Err(SessionError::Declined {
                code: Some(code),
                reason,
            }),
            Frame::Sync(msg) if self.phase == Phase::Reconciling => {
                self.stats.sync_messages += 1;
                let rec = self.reconciler.as_mut().ok_or(SessionError::Peer(
                    PeerError::UnexpectedFrame {
                        got: "sync",
                        during: "without a reconciliation",
                    },
                ))?;
                if let Some(reply) = rec.receive(msg).map_err(sync_error)? {
                    self.outbox.push_back(Frame::Sync(reply));
                    self.stats.sync_messages += 1;
                }
                if rec.is_finished() {
                    self.reconciled()?;
                }
                Ok(())
            }
            Frame::Want { items, ranges }
                if self.kind == Kind::Sync
                    && self.phase == Phase::Transferring
                    && !self.peer_want_done =>
            {
                self.queued_wants += items.len() + ranges.len();
                if self.queued_wants > self.config.max_queued_wants {
                    return Err(PeerError::TooManyWants {
                        limit: self.config.max_queued_wants,
                    }
                    .into());
                }
                self.work
                    .extend(items.into_iter().map(|(p, id)| Work::Item(p, id)));
                let side = self.side;
                let scope = &self.scope;
                self.work.extend(
                    ranges
                        .into_iter()
                        .filter(|(p, _)| scope.may_flow(side, p))
                        .map(|(p, path)| Work::Range(p, path, None)),
                );
                Ok(())
            }
            Frame::WantDone
                if self.kind == Kind::Sync
                    && self.phase == Phase::Transferring
                    && !self.peer_want_done =>
            {
                self.peer_want_done = true;
                Ok(())
            }
            Frame::Records(batch)
                if matches!(self.kind, Kind::Sync | Kind::Fetch)
                    && self.phase == Phase::Transferring
                    && !self.receiving_done =>
            {
                self.judge(batch)
            }
            // In a sync session, done comes after want-done: a peer that still wants
            // something cannot be done.
            Frame::Done { records }
                if matches!(self.kind, Kind::Sync | Kind::Fetch)
                    && self.phase == Phase::Transferring
                    && !self.receiving_done
                    && (self.kind == Kind::Fetch || self.peer_want_done) =>
            {
                if records != self.stats.records_received {
                    return Err(PeerError::CountMismatch {
                        said: records,
                        arrived: self.stats.records_received,
                    }
                    .into());
                }
                self.receiving_done = true;
                self.check_finished();
                Ok(())
            }
            Frame::Diff(parent)
                if self.kind == Kind::Diff
                    && self.side == Side::Child
                    && self.phase == Phase::Transferring
                    && !self.receiving_done =>
            {
                let ours = self.outcome.clone().unwrap_or_default();
                self.diff = Some(DiffOutcome {
                    parent_newer: merge(parent.parent_newer, &ours.fetch),
                    child_newer: merge(parent.child_newer, &ours.send),
                    parent_only: merge(parent.parent_only, &ours.fetch_ranges),
                    child_only: merge(parent.child_only, &ours.send_ranges),
                    conflicts: merge(parent.conflicts, &ours.conflicts),
                });
                self.receiving_done = true;
                self.check_finished();
                Ok(())
            }
            other => Err(self.unexpected(&other)),
        }
    }

    /// The peer closed its side of the stream: fine once everything this side expects
    /// has arrived (it may still have frames to send), a [`PeerError::EndedEarly`]
    /// before.
    pub fn handle_end(&mut self) -> Result<(), SessionError<R::Error>> {
        if self.receiving_done {
            Ok(())
        } else {
            Err(PeerError::EndedEarly {
                during: self.during(),
            }
            .into())
        }
    }

    /// The reconciliation is over: plan what to ask for and what to send.
    fn reconciled(&mut self) -> Result<(), SessionError<R::Error>> {
        let outcome = self
            .reconciler
            .take()
            .map(|r| r.outcome().clone())
            .unwrap_or_default();
        self.stats.conflicts = outcome.conflicts.len() as u64;
        for (partition, id) in &outcome.conflicts {
            let (partition, id) = (*partition, *id);
            self.report(Event::Conflict { partition, id });
        }
        self.phase = Phase::Transferring;
        match (self.kind, self.side) {
            (Kind::Sync, _) => self.plan(&outcome),
            (Kind::Diff, Side::Parent) => {
                self.outbox.push_back(Frame::Diff(Box::new(DiffOutcome {
                    parent_newer: list(&outcome.send),
                    child_newer: list(&outcome.fetch),
                    parent_only: list(&outcome.send_ranges),
                    child_only: list(&outcome.fetch_ranges),
                    conflicts: list(&outcome.conflicts),
                })));
                self.sending_done = true;
                self.receiving_done = true;
            }
            (Kind::Diff, Side::Child) => self.sending_done = true,
            (Kind::Fetch | Kind::Answer, _) => {}
        }
        self.outcome = Some(outcome);
        self.check_finished();
        Ok(())
    }

    /// Wants first (only what the peer may send), then this side's own records and
    /// subtrees (only what may go to the peer).
    fn plan(&mut self, outcome: &Outcome) {
        let (me, peer) = (self.side, self.peer_side());
        let scope = &self.scope;
        let want_items: Vec<(PartitionId, RecordId)> = outcome
            .fetch
            .iter()
            .filter(|(p, id)| {
                scope.may_flow(peer, p)
                    && p.origin_code().is_none_or(|origin| {
                        let key = RecordKey {
                            origin,
                            kind: p.kind,
                            id: *id,
                        };
                        scope.allows(peer, &key).is_ok()
                    })
            })
            .copied()
            .collect();
        let want_ranges: Vec<(PartitionId, NodePath)> = outcome
            .fetch_ranges
            .iter()
            .filter(|(p, _)| scope.may_flow(peer, p))
            .copied()
            .collect();
        let chunk = self.config.want_chunk.max(1);
        for items in want_items.chunks(chunk) {
            self.outbox.push_back(Frame::Want {
                items: items.to_vec(),
                ranges: Vec::new(),
            });
        }
        for ranges in want_ranges.chunks(chunk) {
            self.outbox.push_back(Frame::Want {
                items: Vec::new(),
                ranges: ranges.to_vec(),
            });
        }
        self.outbox.push_back(Frame::WantDone);
        self.work
            .extend(outcome.send.iter().map(|(p, id)| Work::Item(*p, *id)));
        self.work.extend(
            outcome
                .send_ranges
                .iter()
                .filter(|(p, _)| scope.may_flow(me, p))
                .map(|(p, path)| Work::Range(*p, *path, None)),
        );
    }

    /// The next frame to send, if any now: `Ok(None)` means wait for the peer (or, once
    /// [`Session::is_finished`], that nothing more will come).
    pub fn poll_frame(&mut self) -> Result<Option<Frame>, SessionError<R::Error>> {
        if let Some(f) = self.outbox.pop_front() {
            if matches!(self.kind, Kind::Fetch) && self.outbox.is_empty() {
                self.sending_done = true;
            }
            self.check_finished();
            return Ok(Some(f));
        }
        if self.phase != Phase::Transferring
            || self.sending_done
            || !matches!(self.kind, Kind::Sync | Kind::Answer)
        {
            return Ok(None);
        }
        let batch = self.next_batch()?;
        if !batch.is_empty() {
            self.stats.records_sent += batch.len() as u64;
            return Ok(Some(Frame::Records(batch)));
        }
        if self.work.is_empty() && self.pending.is_empty() && self.peer_want_done {
            self.sending_done = true;
            self.check_finished();
            return Ok(Some(Frame::Done {
                records: self.stats.records_sent,
            }));
        }
        Ok(None)
    }

    /// Reads the next frame's records: pending ones first, then the work in order.
    fn next_batch(&mut self) -> Result<Vec<WireRecord>, SessionError<R::Error>> {
        let mut batch = Vec::new();
        let mut bytes = 0usize;
        loop {
            while let Some(r) = self.pending.pop_front() {
                bytes += r.bytes.len() + 32;
                batch.push(WireRecord {
                    key: r.key,
                    bytes: r.bytes,
                });
                if batch.len() >= self.config.frame_records || bytes >= self.config.frame_bytes {
                    return Ok(batch);
                }
            }
            let Some(work) = self.work.pop_front() else {
                return Ok(batch);
            };
            self.read(work)?;
        }
    }

    /// Reads one unit of work (a record, or one page of a subtree) into `pending`,
    /// keeping only what may go to the peer.
    fn read(&mut self, work: Work) -> Result<(), SessionError<R::Error>> {
        let source = self.source;
        match work {
            Work::Item(p, id) => {
                if let Some(key) = source.member_key(&p, &id).map_err(SessionError::Local)? {
                    if !self.scope.travels_elsewhere(&p, &key) {
                        self.push_held(&key)?;
                    }
                }
            }
            Work::Key(key) => self.push_held(&key)?,
            Work::Range(p, path, after) => {
                let limit = self.config.frame_records.max(1);
                let keys = source
                    .member_page(&p, path, after.as_ref(), limit)
                    .map_err(SessionError::Local)?;
                let full = keys.len() == limit;
                let last = keys.last().map(|k| k.id);
                for key in keys {
                    if !self.scope.travels_elsewhere(&p, &key) {
                        self.push_held(&key)?;
                    }
                }
                if full {
                    self.work.push_front(Work::Range(p, path, last));
                }
            }
        }
        Ok(())
    }

    fn push_held(&mut self, key: &RecordKey) -> Result<(), SessionError<R::Error>> {
        if self.scope.allows(self.side, key).is_err() {
            return Ok(());
        }
        if let Some(r) = self.source.get_encoded(key).map_err(SessionError::Local)? {
            if link_version_for_form(r.form()) > self.version {
                self.stats.held_back += 1;
            } else {
                self.pending.push_back(r);
            }
        }
        Ok(())
    }

    /// The verdict on one frame of records: the link's scope, then the store's checks
    /// in one atomic write.
    fn judge(&mut self, batch: Vec<WireRecord>) -> Result<(), SessionError<R::Error>> {
        self.stats.records_received += batch.len() as u64;
        let from = self.peer_side();
        let mut accepted = Vec::with_capacity(batch.len());
        for r in batch {
            let form = r.bytes.first().copied().unwrap_or(0);
            if link_version_for_form(form) > self.version {
                let detail = format!(
                    "a record of form {form} on a link of version {}, which does not carry it",
                    self.version
                );
                self.refuse(r.key, Refusal::Invalid, Some(detail));
                continue;
            }
            match self.scope.allows(from, &r.key) {
                Ok(()) => accepted.push(EncodedRecord {
                    key: r.key,
                    bytes: r.bytes,
                }),
                Err(reason) => self.refuse(r.key, reason, None),
            }
        }
        if accepted.is_empty() {
            return Ok(());
        }
        let keys: Vec<RecordKey> = accepted.iter().map(|r| r.key).collect();
        let receipts = self.source.apply(accepted).map_err(SessionError::Local)?;
        for (key, receipt) in keys.into_iter().zip(receipts) {
            match receipt {
                Receipt::Applied => self.stats.applied += 1,
                Receipt::Unchanged => self.stats.unchanged += 1,
                Receipt::Stale { .. } => self.refuse(key, Refusal::Stale, None),
                Receipt::Conflict => self.refuse(key, Refusal::Conflict, None),
                Receipt::Invalid(why) => self.refuse(key, Refusal::Invalid, Some(why)),
            }
        }
        Ok(())
    }

    fn refuse(&mut self, key: RecordKey, reason: Refusal, detail: Option<String>) {
        *self
            .stats
            .refused
            .entry(reason.as_str().to_string())
            .or_default() += 1;
        self.report(Event::Refused {
            key,
            reason,
            detail,
        });
    }
}

fn sync_error<E: std::error::Error + 'static>(e: SyncError<E>) -> SessionError<E> {
    match e {
        SyncError::View(e) => SessionError::Local(e),
        SyncError::Version(v) => PeerError::ReconciliationVersion(v).into(),
        SyncError::Protocol(what) => PeerError::Reconciliation(what).into(),
    }
}

fn list<T: Copy>(set: &BTreeSet<T>) -> Vec<T> {
    set.iter().copied().collect()
}

fn merge<T: Copy + Ord>(mut a: Vec<T>, b: &BTreeSet<T>) -> Vec<T> {
    a.extend(b.iter().copied());
    a.sort_unstable();
    a.dedup();
    a
}

#[cfg(test)]
mod tests;
