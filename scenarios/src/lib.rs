//! # credithub-scenarios
//!
//! Synthetic data and scenario tooling for credithub:
//!
//! - [`generate`]: a deterministic generator of realistic record bodies (subjects with
//!   valid identifiers, authorities, decision numbers, amounts, dates) and writers of
//!   the national 双公示 CSV format;
//! - [`bench`]: benchmarks that print their figures beside references measured in the
//!   same run.

pub mod bench;
pub mod chaos;
pub mod federation;
pub mod generate;
