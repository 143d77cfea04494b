//! How much each part of the run measures: the quick mode (≤ 15 minutes on 2 cores) and the
//! full one.

/// Pair counts and sizes of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Pairs per split in Table 1 (at the training size).
    pub table1_pairs: usize,
    /// `(n, pairs)` of each row of Table 2.
    pub table2_sizes: Vec<(usize, usize)>,
    /// Sizes of the speed table.
    pub speed_sizes: Vec<usize>,
    /// Largest n at which Sinkhorn is timed.
    pub sinkhorn_max: usize,
}

impl Plan {
    /// Small pair counts and sizes up to 2048.
    pub fn quick() -> Self {
        Self {
            table1_pairs: 96,
            table2_sizes: vec![
                (64, 64),
                (128, 64),
                (256, 48),
                (512, 32),
                (1024, 16),
                (2048, 8),
            ],
            speed_sizes: vec![256, 512, 1024, 2048],
            sinkhorn_max: 2048,
        }
    }

    /// The paper's sizes up to 8192 (hours on 2 cores).
    pub fn full() -> Self {
        Self {
            table1_pairs: 400,
            table2_sizes: vec![
                (64, 200),
                (128, 200),
                (256, 150),
                (512, 100),
                (1024, 60),
                (2048, 30),
                (4096, 12),
                (8192, 6),
            ],
            speed_sizes: vec![256, 512, 1024, 2048, 4096, 8192],
            sinkhorn_max: 4096,
        }
    }
}
