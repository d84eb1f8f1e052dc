//! The node's wall clock, the only source of time for record versions.
//!
//! # Testing aid: a clock offset
//!
//! `CREDIT_CLOCK_OFFSET_MS` (a signed integer of milliseconds, e.g. `-300000`) is
//! added to every reading of [`now_millis`]. It exists **only for testing**: the chaos
//! scenarios (`scenarios chaos clock-skew`) run nodes whose clocks disagree by
//! minutes, and restart a node with a negative offset to step its clock back, without
//! touching the machine's clock (which needs root and disturbs everything else on it).
//! It is read once, on the first reading of the clock, and never again; a value that is
//! not an integer is ignored (offset 0) with a warning. Production nodes leave it unset.
//!
//! Record versions stay monotonic whatever the offset does between two writes:
//! [`Version::next`](credithub_protocol::Version::next) never returns a version below
//! the one a record already has.

use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

/// The environment variable of the test-only clock offset, in milliseconds.
pub const OFFSET_VARIABLE: &str = "CREDIT_CLOCK_OFFSET_MS";

static OFFSET: OnceLock<i64> = OnceLock::new();

/// Reads an offset's text: a signed integer of milliseconds (`None` if malformed).
fn parse_offset(text: &str) -> Option<i64> {
    text.trim().parse::<i64>().ok()
}

/// The test-only offset added to the clock (0 unless `CREDIT_CLOCK_OFFSET_MS` is set),
/// read from the environment once.
pub fn offset_millis() -> i64 {
    *OFFSET.get_or_init(|| {
        let Ok(text) = std::env::var(OFFSET_VARIABLE) else {
            return 0;
        };
        match parse_offset(&text) {
            Some(0) => 0,
            Some(ms) => {
                tracing::warn!(
                    offset_ms = ms,
                    "{OFFSET_VARIABLE} is set: this node's clock is shifted (a testing aid)"
                );
                ms
            }
            None => {
                tracing::warn!(
                    value = %text,
                    "{OFFSET_VARIABLE} is not an integer of milliseconds; ignored"
                );
                0
            }
        }
    })
}

/// `real` shifted by `offset` milliseconds, saturating at 0 and `u64::MAX`.
fn shifted(real: u64, offset: i64) -> u64 {
    if offset >= 0 {
        real.saturating_add(offset.unsigned_abs())
    } else {
        real.saturating_sub(offset.unsigned_abs())
    }
}

/// Milliseconds since the Unix epoch (0 if the system clock is before it), plus the
/// test-only offset of `CREDIT_CLOCK_OFFSET_MS` when set.
pub fn now_millis() -> u64 {
    let real = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    shifted(real, offset_millis())
}

/// Today's date by [`now_millis`] (UTC), for publication windows and list steps.
pub fn today() -> credithub_protocol::Date {
    // A clock outside the calendar's range falls back to a fixed day.
    credithub_protocol::Date::from_millis(now_millis())
        .unwrap_or(credithub_protocol::Date::new(2026, 1, 1).unwrap_or_else(|| unreachable!()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_parse_as_signed_milliseconds() {
        assert_eq!(parse_offset("-300000"), Some(-300_000));
        assert_eq!(parse_offset(" 120000\n"), Some(120_000));
        assert_eq!(parse_offset("0"), Some(0));
        assert_eq!(parse_offset("5m"), None);
        assert_eq!(parse_offset(""), None);
    }

    #[test]
    fn a_shift_saturates_instead_of_wrapping() {
        assert_eq!(shifted(1_000, 500), 1_500);
        assert_eq!(shifted(1_000, -400), 600);
        assert_eq!(shifted(1_000, -4_000), 0);
        assert_eq!(shifted(u64::MAX - 1, 10), u64::MAX);
    }
}
