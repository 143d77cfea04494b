//! # deepemd-eval
//!
//! The experiments behind `docs/results.md`: timing helpers, the benchmark cloud sets, the
//! Python peers (scipy, POT) run on identical inputs, and the results document writer.

pub mod clouds;
pub mod peers;
pub mod report;
pub mod timing;
