//! What the model's training loop reports as it runs: the skeleton's [`LoopEvent`] with this
//! trainer's records. The `deepemd train` command turns these events into a progress bar and
//! log lines; the VAE's trainer reports the same events with its own records.

use crate::checkpoint::{EvalRecord, StepRecord};
use crate::run_loop::LoopEvent;

/// One thing that happened in [`crate::train`].
pub type TrainEvent<'a> = LoopEvent<'a, StepRecord, EvalRecord>;
