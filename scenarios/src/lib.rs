//! Synthetic data and scenario tooling (being written).
