//! The one training-loop skeleton, for the model's trainer and the VAE's alike: the
//! learning-rate schedule, when to evaluate, when to checkpoint (every N steps, every M minutes,
//! at the end, on a stop request), the clean stop, and the events an observer sees. What a step
//! *is* (batch, loss, gradients) is the run's own, behind [`TrainingRun`].
//!
//! Both trainers report through an `FnMut(LoopEvent)`; the library prints nothing (burn's
//! learner sends its events to a renderer the same way), and `&mut |_| {}` ignores them.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use crate::checkpoint::checkpoint_dir;
use crate::schedule::learning_rate;

/// How a training call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Every step is done; the trained network is in `RUN/model/`.
    Finished,
    /// Stopped on request; a checkpoint holds the progress.
    Stopped,
}

/// One thing that happened in a training loop; `S` is a step's record, `E` an evaluation's.
#[derive(Debug)]
pub enum LoopEvent<'a, S, E> {
    /// The loop starts (or resumes) at `step` of `steps`.
    Started {
        /// Steps already done.
        step: usize,
        /// Steps in all.
        steps: usize,
    },
    /// One optimizer step is done.
    Step(&'a S),
    /// A held-out evaluation.
    Eval(&'a E),
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
    /// Every step is done and the network is exported.
    Finished,
}

// By hand: a derive would ask `S: Copy` and `E: Copy`, and the event only holds references.
impl<S, E> Clone for LoopEvent<'_, S, E> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<S, E> Copy for LoopEvent<'_, S, E> {}

/// The loop's timetable, from a run's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoopPlan {
    /// Steps in all.
    pub steps: usize,
    /// Peak learning rate.
    pub lr: f64,
    /// Linear warm-up steps.
    pub warmup: usize,
    /// The cosine decay's floor, as a fraction of `lr`.
    pub min_lr_ratio: f64,
    /// Evaluate every this many steps (0: only at the end).
    pub eval_every: usize,
    /// Checkpoint every this many steps (0: by time only).
    pub checkpoint_every: usize,
    /// Checkpoint when this many minutes passed since the last one.
    pub checkpoint_minutes: f64,
}

/// A run the skeleton drives: its state, a step, an evaluation, a checkpoint, the export.
pub trait TrainingRun {
    /// A step's record (what [`LoopEvent::Step`] shows).
    type Step;
    /// An evaluation's record.
    type Eval;
    /// The run's error type.
    type Error;

    /// Steps done so far (read from a checkpoint when resuming).
    fn steps_done(&self) -> usize;
    /// An evaluation before the loop's first step, where the run wants one (none by default).
    fn evaluate_first(&mut self) -> Result<Option<&Self::Eval>, Self::Error> {
        Ok(None)
    }
    /// One optimizer step at learning rate `lr`; the count of steps done grows by one.
    fn train_step(&mut self, lr: f64) -> Result<&Self::Step, Self::Error>;
    /// A held-out evaluation; `None` where the run has nothing to evaluate on.
    fn evaluate(&mut self) -> Result<Option<&Self::Eval>, Self::Error>;
    /// Writes the checkpoint; `session_seconds` is the wall time of this call so far.
    fn checkpoint(&mut self, session_seconds: f64) -> Result<(), Self::Error>;
    /// Exports the trained network after the last step.
    fn export(&mut self) -> Result<(), Self::Error>;
}

/// The events of the run `R`.
pub type EventsOf<'a, R> = LoopEvent<'a, <R as TrainingRun>::Step, <R as TrainingRun>::Eval>;

/// Runs `run` to the end of `plan` or until `stop` is set, then writes a final checkpoint and
/// returns [`Outcome::Stopped`]. `folder` is the run folder (for the checkpoint events).
pub fn drive<R: TrainingRun>(
    run: &mut R,
    plan: &LoopPlan,
    folder: &Path,
    stop: &AtomicBool,
    observer: &mut dyn FnMut(EventsOf<'_, R>),
) -> Result<Outcome, R::Error> {
    observer(LoopEvent::Started {
        step: run.steps_done(),
        steps: plan.steps,
    });
    let session = Instant::now();
    let mut last_checkpoint = Instant::now();
    let dir = checkpoint_dir(folder);
    if let Some(record) = run.evaluate_first()? {
        observer(LoopEvent::Eval(record));
    }
    while run.steps_done() < plan.steps {
        let lr = learning_rate(
            run.steps_done(),
            plan.steps,
            plan.lr,
            plan.warmup,
            plan.min_lr_ratio,
        );
        observer(LoopEvent::Step(run.train_step(lr)?));
        let step = run.steps_done();
        let last = step == plan.steps;
        if (plan.eval_every > 0 && step % plan.eval_every == 0) || last {
            if let Some(record) = run.evaluate()? {
                observer(LoopEvent::Eval(record));
            }
        }
        let stopping = stop.load(Ordering::SeqCst);
        let by_steps = plan.checkpoint_every > 0 && step % plan.checkpoint_every == 0;
        let by_time = last_checkpoint.elapsed().as_secs_f64() >= plan.checkpoint_minutes * 60.0;
        if stopping || by_steps || by_time || last {
            run.checkpoint(session.elapsed().as_secs_f64())?;
            last_checkpoint = Instant::now();
            observer(LoopEvent::Checkpoint { step, dir: &dir });
        }
        if stopping && !last {
            observer(LoopEvent::Stopped { step });
            return Ok(Outcome::Stopped);
        }
    }
    run.export()?;
    observer(LoopEvent::Finished);
    Ok(Outcome::Finished)
}

/// The factor that clips a gradient of norm `norm` to at most `clip_norm`.
pub fn clip_scale(norm: f64, clip_norm: f64) -> f64 {
    if norm > clip_norm {
        clip_norm / norm
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run whose steps only count, to check the timetable.
    struct Counting {
        done: usize,
        lrs: Vec<f64>,
        evals: Vec<usize>,
        checkpoints: Vec<usize>,
        exported: bool,
        stop_after: Option<(usize, &'static AtomicBool)>,
    }

    impl TrainingRun for Counting {
        type Step = usize;
        type Eval = usize;
        type Error = ();
        fn steps_done(&self) -> usize {
            self.done
        }
        fn train_step(&mut self, lr: f64) -> Result<&usize, ()> {
            self.lrs.push(lr);
            self.done += 1;
            if let Some((n, flag)) = self.stop_after {
                if self.done == n {
                    flag.store(true, Ordering::SeqCst);
                }
            }
            Ok(&self.done)
        }
        fn evaluate(&mut self) -> Result<Option<&usize>, ()> {
            self.evals.push(self.done);
            Ok(self.evals.last())
        }
        fn checkpoint(&mut self, _: f64) -> Result<(), ()> {
            self.checkpoints.push(self.done);
            Ok(())
        }
        fn export(&mut self) -> Result<(), ()> {
            self.exported = true;
            Ok(())
        }
    }

    fn plan(steps: usize) -> LoopPlan {
        LoopPlan {
            steps,
            lr: 1e-3,
            warmup: 2,
            min_lr_ratio: 0.1,
            eval_every: 3,
            checkpoint_every: 4,
            checkpoint_minutes: 1e9,
        }
    }

    fn counting(stop_after: Option<(usize, &'static AtomicBool)>) -> Counting {
        Counting {
            done: 0,
            lrs: vec![],
            evals: vec![],
            checkpoints: vec![],
            exported: false,
            stop_after,
        }
    }

    #[test]
    fn evaluates_and_checkpoints_on_schedule_and_at_the_end() {
        let mut run = counting(None);
        let mut events = Vec::new();
        let outcome = drive(
            &mut run,
            &plan(10),
            Path::new("r"),
            &AtomicBool::new(false),
            &mut |e| events.push(format!("{e:?}")),
        )
        .unwrap();
        assert_eq!(outcome, Outcome::Finished);
        assert_eq!(run.evals, [3, 6, 9, 10]);
        assert_eq!(run.checkpoints, [4, 8, 10]);
        assert!(run.exported);
        let schedule: Vec<f64> = (0..10)
            .map(|s| learning_rate(s, 10, 1e-3, 2, 0.1))
            .collect();
        assert_eq!(run.lrs, schedule);
        assert!(events[0].starts_with("Started"), "{events:?}");
        assert_eq!(events.last().unwrap(), "Finished");
    }

    #[test]
    fn a_stop_request_checkpoints_and_returns_without_exporting() {
        static STOP: AtomicBool = AtomicBool::new(false);
        let mut run = counting(Some((5, &STOP)));
        let mut events = Vec::new();
        let outcome = drive(&mut run, &plan(10), Path::new("r"), &STOP, &mut |e| {
            events.push(format!("{e:?}"))
        })
        .unwrap();
        assert_eq!(outcome, Outcome::Stopped);
        assert_eq!(run.checkpoints, [4, 5]);
        assert!(!run.exported);
        assert_eq!(events.last().unwrap(), "Stopped { step: 5 }");
    }

    #[test]
    fn clipping_only_shrinks() {
        assert_eq!(clip_scale(0.5, 1.0), 1.0);
        assert_eq!(clip_scale(4.0, 1.0), 0.25);
    }
}
