//! Standard output that treats a closed pipe as the end of the job, as Unix tools do:
//! `deepemd emd … --matching | head` must not panic when `head` stops reading.

use std::fmt;
use std::io::{ErrorKind, Write};

/// The reader of our standard output went away; `main` exits quietly with success.
#[derive(Debug)]
pub struct ClosedPipe;

impl fmt::Display for ClosedPipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("standard output was closed")
    }
}

impl std::error::Error for ClosedPipe {}

/// Writes one line to standard output.
pub fn print_line(line: impl fmt::Display) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == ErrorKind::BrokenPipe => Err(ClosedPipe.into()),
        Err(e) => Err(anyhow::Error::new(e).context("writing to standard output")),
    }
}
