//! What a long computation reports to its caller and obeys: one tick per item done (progress),
//! and a stop request (Ctrl-C in the CLI or in Python), checked before each item, after which
//! it returns [`Error::Interrupted`] instead of running to the end.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::{Error, Result};

/// A flag never set: the stop request of a caller that asks for none.
static NEVER: AtomicBool = AtomicBool::new(false);

/// A computation's progress callback and stop request.
#[derive(Clone, Copy)]
pub struct Watch<'a> {
    tick: &'a (dyn Fn() + Sync),
    stop: &'a AtomicBool,
}

impl std::fmt::Debug for Watch<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watch")
            .field("stop", &self.stop.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<'a> Watch<'a> {
    /// Calls `tick` once per item, from any thread; never stops early.
    pub fn new(tick: &'a (dyn Fn() + Sync)) -> Self {
        Self { tick, stop: &NEVER }
    }

    /// The same, stopping (with [`Error::Interrupted`]) once `stop` is set.
    pub fn with_stop(self, stop: &'a AtomicBool) -> Self {
        Self { stop, ..self }
    }

    /// Whether a stop was requested.
    pub fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Before an item: the interruption, if one was requested.
    pub(crate) fn check(&self) -> Result<()> {
        if self.stopped() {
            return Err(Error::Interrupted);
        }
        Ok(())
    }

    /// After an item: its tick.
    pub(crate) fn tick(&self) {
        (self.tick)()
    }
}
