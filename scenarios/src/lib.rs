//! # credithub-scenarios
//!
//! Synthetic data and scenario tooling for credithub:
//!
//! - [`generate`]: a deterministic generator of realistic record bodies (subjects with
//!   valid identifiers, authorities, decision numbers, amounts, dates) and writers of
//!   the national 双公示 CSV format;
//! - [`api_client`]: a client of the read API (HTTP/2 or HTTP/1.1 over mutual TLS);
//! - [`bench`]: benchmarks that print their figures beside references measured in the
//!   same run.

pub mod api_client;
pub mod bench;
pub mod chaos;
pub mod federation;
pub mod generate;
