//! # deepemd-eval
//!
//! The experiments behind `docs/results.md`: timing helpers, the benchmark cloud sets, the
//! Python peers (scipy, POT) run on identical inputs, the methods compared in the paper's
//! tables and their statistics, per-process speed and memory measurements, the figures, and
//! the results document writer.

pub mod clouds;
mod error;
pub mod methods;
pub mod peers;
pub mod plot;
pub mod plot_clouds;
pub mod report;
pub mod speed;
pub mod stats;
pub mod timing;

/// The README's Rust examples, compiled and run as this crate's doctests (`cargo test --doc -p
/// deepemd-eval`, part of `cargo xtask test`), so that they cannot stop compiling unnoticed.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeExamples;

pub use error::{Error, Result};
