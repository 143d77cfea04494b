//! What the training loop reports as it runs. The library draws and prints nothing (burn's
//! learner sends its events to a renderer the same way); the `deepemd train` command turns
//! these events into a progress bar and log lines. An observer is any `FnMut(TrainEvent)`, as
//! for the VAE's trainer (`FnMut(VaeEvent)`): one style for both (`&mut |_| {}` ignores them).

use std::path::Path;

use crate::checkpoint::{EvalRecord, StepRecord};

/// One thing that happened in [`crate::train`].
#[derive(Clone, Copy, Debug)]
pub enum TrainEvent<'a> {
    /// The loop starts (or resumes) at `step` of `steps`.
    Started {
        /// Steps already done.
        step: usize,
        /// Steps in all.
        steps: usize,
    },
    /// One optimizer step is done.
    Step {
        /// Its loss, accuracy and learning rate.
        record: &'a StepRecord,
        /// Training pairs per second since this session started.
        pairs_per_second: f64,
    },
    /// A held-out evaluation.
    Eval(&'a EvalRecord),
    /// A checkpoint was written into `dir` after `step` steps.
    Checkpoint {
        /// Steps done.
        step: usize,
        /// The checkpoint folder.
        dir: &'a Path,
    },
    /// Stopped on request after `step` steps (a checkpoint holds them).
    Stopped {
        /// Steps done.
        step: usize,
    },
    /// Every step is done and the model is exported.
    Finished,
}
