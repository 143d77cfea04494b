//! `Shard` I/N: which units of a job one run of a batch scheduler's array makes.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// Shard `index` of `count` (0 ≤ index < count); [`Shard::WHOLE`] is the unsharded job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    index: usize,
    count: usize,
}

impl Shard {
    /// The whole job in one run.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Shard `index` of `count`.
    pub fn new(index: usize, count: usize) -> Result<Self> {
        if count == 0 || index >= count {
            return Err(Error::InvalidParameter(format!(
                "shard {index}/{count}: the index must be in 0..{count} and the count at least 1 \
                 (e.g. --shard 0/{}, the first of {})",
                count.max(1),
                count.max(1)
            )));
        }
        Ok(Self { index, count })
    }

    /// This shard's index, from 0.
    pub fn index(&self) -> usize {
        self.index
    }

    /// How many shards the job is split into.
    pub fn count(&self) -> usize {
        self.count
    }

    /// True for the unsharded job.
    pub fn is_whole(&self) -> bool {
        self.count == 1
    }

    /// True when unit `unit` is this shard's to make.
    pub fn owns(&self, unit: usize) -> bool {
        unit % self.count == self.index
    }

    /// The shard of `count` that makes unit `unit`.
    pub fn of_unit(unit: usize, count: usize) -> Shard {
        Shard {
            index: unit % count,
            count,
        }
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// `I/N`, as `--shard $SLURM_ARRAY_TASK_ID/N` or `--shard $JOB_COMPLETION_INDEX/N` give it.
impl FromStr for Shard {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::InvalidParameter(format!(
                "'{s}' is not a shard: write I/N with 0 ≤ I < N (e.g. 0/8 for the first of 8)"
            ))
        };
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let parse = |t: &str| t.trim().parse::<usize>().map_err(|_| bad());
        Shard::new(parse(i)?, parse(n)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_split_units_round_robin() {
        let s: Shard = "2/3".parse().unwrap();
        assert_eq!((s.index(), s.count()), (2, 3));
        assert_eq!(s.to_string(), "2/3");
        let owned: Vec<usize> = (0..10).filter(|&k| s.owns(k)).collect();
        assert_eq!(owned, [2, 5, 8]);
        // Every unit has exactly one owner.
        for k in 0..50 {
            let owners = (0..4)
                .filter(|&i| Shard::new(i, 4).unwrap().owns(k))
                .count();
            assert_eq!(owners, 1);
        }
        assert!(Shard::WHOLE.is_whole() && Shard::WHOLE.owns(7));
        for bad in ["3/3", "1/0", "x/2", "2", "-1/3", "1/3/4"] {
            let e = bad.parse::<Shard>().unwrap_err().to_string();
            assert!(e.contains("I/N") || e.contains("index"), "{bad}: {e}");
        }
    }
}
