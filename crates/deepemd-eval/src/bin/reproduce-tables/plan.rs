//! How much each part of the run measures: the quick mode (≤ 15 minutes on 2 cores) and the
//! full one.

/// Pair counts and sizes of one run.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Pairs per split in Table 1 (at the training size).
    pub table1_pairs: usize,
    /// `((n_a, n_b), pairs)` of each row of Table 2: balanced sizes, then unbalanced pairs
    /// (ratio 1:4 both ways, and the seed paper's open question, 100 vs 1000).
    pub table2_sizes: Vec<((usize, usize), usize)>,
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
            table2_sizes: balanced(&[
                (64, 64),
                (128, 64),
                (256, 48),
                (512, 32),
                (1024, 16),
                (2048, 8),
            ])
            .chain([((128, 512), 32), ((512, 128), 32), ((100, 1000), 16)])
            .collect(),
            speed_sizes: vec![256, 512, 1024, 2048],
            sinkhorn_max: 2048,
        }
    }

    /// The paper's sizes up to 8192 (hours on 2 cores).
    pub fn full() -> Self {
        Self {
            table1_pairs: 400,
            table2_sizes: balanced(&[
                (64, 200),
                (128, 200),
                (256, 150),
                (512, 100),
                (1024, 60),
                (2048, 30),
                (4096, 12),
                (8192, 6),
            ])
            .chain([
                ((128, 512), 100),
                ((512, 128), 100),
                ((100, 1000), 60),
                ((512, 2048), 30),
            ])
            .collect(),
            speed_sizes: vec![256, 512, 1024, 2048, 4096, 8192],
            sinkhorn_max: 4096,
        }
    }
}

fn balanced(rows: &[(usize, usize)]) -> impl Iterator<Item = ((usize, usize), usize)> + '_ {
    rows.iter().map(|&(n, pairs)| ((n, n), pairs))
}
