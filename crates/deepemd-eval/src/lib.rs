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

pub use error::{Error, Result};
