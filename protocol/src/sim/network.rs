//! The network model: one seeded random stream decides every fault and every choice
//! of the scheduler, so that a seed replays exactly.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::link::WireRecord;

/// Fault probabilities.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Faults {
    /// Per message or frame: it is lost, and the session breaks there.
    pub loss: f64,
    /// Per record frame: it is delivered a second time (at once, or later in the
    /// same stream, behind frames sent after it).
    pub duplicate: f64,
    /// Per scheduler step: a running node crashes (its sessions break; its store
    /// keeps everything already applied).
    pub crash: f64,
}

impl Faults {
    /// No faults: what the quiet phase runs with.
    pub(crate) const NONE: Faults = Faults {
        loss: 0.0,
        duplicate: 0.0,
        crash: 0.0,
    };
}

/// What the network does with one record frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Lost: the session breaks.
    Lost,
    /// Delivered once.
    Once,
    /// Delivered twice in a row.
    Twice,
    /// Delivered now, and a copy later in the stream.
    AgainLater,
    /// Delivered now, and a copy in a later session on the same link (a stray from
    /// an old connection: no real transport does this, but it makes stale versions
    /// arrive, which the store must refuse).
    Stray,
}

/// Counts of the faults the network injected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Injected {
    /// Messages and frames lost.
    pub lost: u64,
    /// Record frames delivered twice.
    pub duplicated: u64,
    /// Node crashes.
    pub crashes: u64,
}

/// The seeded source of every random decision in a run.
#[derive(Debug, Clone)]
pub(crate) struct Network {
    rng: ChaCha8Rng,
    faults: Faults,
    /// What was injected so far.
    pub injected: Injected,
    /// Copies of record frames waiting for a later session: link (the child's
    /// index), direction, frame.
    strays: Vec<(usize, usize, Vec<WireRecord>)>,
}

impl Network {
    /// A network for one seed.
    pub(crate) fn new(seed: u64, faults: Faults) -> Network {
        Network {
            rng: ChaCha8Rng::seed_from_u64(seed),
            faults,
            injected: Injected::default(),
            strays: Vec::new(),
        }
    }

    /// Changes the fault probabilities (the quiet phase turns them off, and then
    /// stray copies of old frames are forgotten too).
    pub(crate) fn set_faults(&mut self, faults: Faults) {
        self.faults = faults;
        if faults == Faults::NONE {
            self.strays.clear();
        }
    }

    /// Whether a reconciliation message (or a frame that is not records) arrives.
    pub(crate) fn arrives(&mut self) -> bool {
        if self.faults.loss > 0.0 && self.rng.gen_bool(self.faults.loss) {
            self.injected.lost += 1;
            return false;
        }
        true
    }

    /// What becomes of a record frame.
    pub(crate) fn record_frame(&mut self) -> Fate {
        if !self.arrives() {
            return Fate::Lost;
        }
        if self.faults.duplicate > 0.0 && self.rng.gen_bool(self.faults.duplicate) {
            self.injected.duplicated += 1;
            return match self.rng.gen_range(0..3) {
                0 => Fate::Twice,
                1 => Fate::AgainLater,
                _ => Fate::Stray,
            };
        }
        Fate::Once
    }

    /// Keeps a copy of a record frame for a later session on the same link.
    pub(crate) fn stray(&mut self, link: usize, dir: usize, batch: Vec<WireRecord>) {
        self.strays.push((link, dir, batch));
    }

    /// Stray copies that arrive in a session now opening on `link`, with their
    /// directions: each waiting copy arrives with chance 1/3, else waits longer
    /// (the older a copy, the likelier its versions are stale).
    pub(crate) fn take_strays(&mut self, link: usize) -> Vec<(usize, Vec<WireRecord>)> {
        let mut out = Vec::new();
        let mut keep = Vec::new();
        for (l, d, batch) in std::mem::take(&mut self.strays) {
            if l == link && self.rng.gen_range(0..3) == 0 {
                out.push((d, batch));
            } else {
                keep.push((l, d, batch));
            }
        }
        self.strays = keep;
        out
    }

    /// Whether a node crashes at this step.
    pub(crate) fn crash(&mut self) -> bool {
        if self.faults.crash > 0.0 && self.rng.gen_bool(self.faults.crash) {
            self.injected.crashes += 1;
            return true;
        }
        false
    }

    /// A uniform index below `n` (`n > 0`).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.rng.gen_range(0..n)
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.rng.gen_bool(p.clamp(0.0, 1.0))
    }

    /// A random 64-bit value (reconciliation salts).
    pub(crate) fn salt(&mut self) -> u64 {
        self.rng.gen()
    }
}
