//! End-to-end tests across the credithub crates live in `tests/`; this library is
//! empty.
