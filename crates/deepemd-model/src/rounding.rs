//! From logits to a matching: the paper's row argmax, bijective roundings, and a refinement of
//! the bijection on the true costs.

use std::fmt;
use std::str::FromStr;

use deepemd_core::rounding::greedy_bijection;
use deepemd_core::{Assignment, Cost, Error, Matching, Pairing, PointCloud, Result};
use rayon::prelude::*;

/// How the model's logits become a matching. Spelled `argmax`, `greedy`, `sinkhorn-greedy` and
/// `refined` everywhere ([`Display`](fmt::Display) and [`FromStr`]); non-default settings add
/// their numbers (`sinkhorn-greedy-20`, `refined-10-8-10`).
///
/// ```
/// use deepemd_model::Rounding;
/// assert_eq!("refined".parse::<Rounding>().unwrap(), Rounding::REFINED);
/// assert_eq!(Rounding::SinkhornGreedy { iterations: 10 }.to_string(), "sinkhorn-greedy");
/// for r in Rounding::ALL {
///     assert_eq!(r.to_string().parse::<Rounding>().unwrap(), r);
/// }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rounding {
    /// The paper's estimate: each `a_i` takes its best-scoring `b_j`. Not a bijection (a target
    /// can be hit twice); its cost can fall below the EMD.
    RowArgmax,
    /// Greedy bijection on the logits. Costs at least the EMD.
    Greedy,
    /// `iterations` Sinkhorn normalizations of `exp(S)`, then greedy. Costs at least the EMD.
    SinkhornGreedy {
        /// Row/column normalization rounds.
        iterations: usize,
    },
    /// `SinkhornGreedy`, then 2-opt swaps on the true costs among each point's `candidates`
    /// nearest targets, for at most `passes` passes. O(n² + passes·n·candidates).
    Refined {
        /// Sinkhorn rounds before the greedy rounding.
        iterations: usize,
        /// Nearest targets tried per point.
        candidates: usize,
        /// Most 2-opt passes.
        passes: usize,
    },
}

impl Rounding {
    /// The default bijective estimate: 10 Sinkhorn rounds, greedy, 2-opt over 8 candidates.
    pub const REFINED: Rounding = Rounding::Refined {
        iterations: 10,
        candidates: 8,
        passes: 10,
    };

    /// Every variant reported in the tables, cheapest first.
    pub const ALL: [Rounding; 4] = [
        Rounding::RowArgmax,
        Rounding::Greedy,
        Rounding::SinkhornGreedy { iterations: 10 },
        Rounding::REFINED,
    ];

    /// The matching these logits give for `a` and `b`. `logits` is `n × n`, row-major.
    pub fn apply(
        &self,
        logits: &[f32],
        a: &PointCloud,
        b: &PointCloud,
        cost: Cost,
    ) -> Result<Pairing> {
        let n = a.len();
        match *self {
            Rounding::RowArgmax => {
                let targets = logits.par_chunks(n).map(first_max_index).collect();
                Ok(Pairing::Map(Assignment::new(n, targets)?))
            }
            Rounding::Greedy => Ok(Pairing::Bijection(greedy_bijection(logits, n)?)),
            Rounding::SinkhornGreedy { iterations } => Ok(Pairing::Bijection(greedy_bijection(
                &sinkhorn_scores(logits, n, iterations),
                n,
            )?)),
            Rounding::Refined {
                iterations,
                candidates,
                passes,
            } => {
                let m = greedy_bijection(&sinkhorn_scores(logits, n, iterations), n)?;
                Ok(Pairing::Bijection(two_opt(
                    a, b, cost, m, candidates, passes,
                )?))
            }
        }
    }
}

/// The index of the first maximum of `row` (deterministic on ties); 0 for a row without a
/// number above −∞.
pub(crate) fn first_max_index(row: &[f32]) -> usize {
    row.iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (j, &s)| {
            if s > best.1 { (j, s) } else { best }
        })
        .0
}

/// `S + f + g` after `iterations` log-domain Sinkhorn rounds on `exp(S)` (rows then columns
/// normalized to 1), the log of a nearly doubly stochastic plan.
pub fn sinkhorn_scores(logits: &[f32], n: usize, iterations: usize) -> Vec<f32> {
    let mut f = vec![0.0f32; n];
    let mut g = vec![0.0f32; n];
    let lse = |vals: &mut dyn Iterator<Item = f32>| -> f32 {
        let v: Vec<f32> = vals.collect();
        let m = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        m + v.iter().map(|x| (x - m).exp()).sum::<f32>().ln()
    };
    for _ in 0..iterations {
        f.par_iter_mut().enumerate().for_each(|(i, fi)| {
            *fi = -lse(&mut logits[i * n..(i + 1) * n]
                .iter()
                .zip(&g)
                .map(|(s, gj)| s + gj));
        });
        // Columns: accumulate with a streaming max per column to stay O(n²) and cache-friendly.
        let mut col_max = vec![f32::NEG_INFINITY; n];
        for i in 0..n {
            for (j, s) in logits[i * n..(i + 1) * n].iter().enumerate() {
                col_max[j] = col_max[j].max(s + f[i]);
            }
        }
        let mut col_sum = vec![0.0f32; n];
        for i in 0..n {
            for (j, s) in logits[i * n..(i + 1) * n].iter().enumerate() {
                col_sum[j] += (s + f[i] - col_max[j]).exp();
            }
        }
        for j in 0..n {
            g[j] = -(col_max[j] + col_sum[j].ln());
        }
    }
    let mut out = logits.to_vec();
    out.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        for (j, s) in row.iter_mut().enumerate() {
            *s += f[i] + g[j];
        }
    });
    out
}

/// Improves a bijection on the true costs: for each `a_i` and each of its `candidates` nearest
/// targets `b_j`, swaps targets with `b_j`'s owner when that lowers the total cost. Passes stop
/// when nothing improves. The result is still a bijection and costs no more than the input.
pub fn two_opt(
    a: &PointCloud,
    b: &PointCloud,
    cost: Cost,
    matching: Matching,
    candidates: usize,
    passes: usize,
) -> Result<Matching> {
    let n = a.len();
    let k = candidates.min(n);
    let nearest: Vec<Vec<usize>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut d: Vec<(f64, usize)> = (0..n)
                .map(|j| (cost.between(a.point(i), b.point(j)), j))
                .collect();
            if k < n {
                d.select_nth_unstable_by(k, |x, y| x.0.total_cmp(&y.0));
            }
            d.truncate(k);
            d.sort_by(|x, y| x.0.total_cmp(&y.0));
            d.into_iter().map(|(_, j)| j).collect()
        })
        .collect();
    let mut target = matching.into_targets();
    let mut owner = vec![0; n];
    for (i, &t) in target.iter().enumerate() {
        owner[t] = i;
    }
    let c = |i: usize, j: usize| cost.between(a.point(i), b.point(j));
    for _ in 0..passes {
        let mut improved = false;
        for i in 0..n {
            for &j in &nearest[i] {
                let i2 = owner[j];
                let ji = target[i];
                if i2 == i {
                    continue;
                }
                let delta = c(i, j) + c(i2, ji) - c(i, ji) - c(i2, j);
                if delta < -1e-12 {
                    target[i] = j;
                    target[i2] = ji;
                    owner[j] = i;
                    owner[ji] = i2;
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
    Matching::new(target)
}

impl fmt::Display for Rounding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Rounding::RowArgmax => f.write_str("argmax"),
            Rounding::Greedy => f.write_str("greedy"),
            Rounding::SinkhornGreedy { iterations: 10 } => f.write_str("sinkhorn-greedy"),
            Rounding::SinkhornGreedy { iterations } => write!(f, "sinkhorn-greedy-{iterations}"),
            r if r == Rounding::REFINED => f.write_str("refined"),
            Rounding::Refined {
                iterations,
                candidates,
                passes,
            } => write!(f, "refined-{iterations}-{candidates}-{passes}"),
        }
    }
}

impl FromStr for Rounding {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            Error::InvalidParameter(format!(
                "unknown rounding '{s}' (expected argmax, greedy, sinkhorn-greedy or refined)"
            ))
        };
        let numbers = |rest: &str| -> Result<Vec<usize>> {
            rest.split('-')
                .map(|x| x.parse::<usize>().map_err(|_| bad()))
                .collect()
        };
        match s {
            "argmax" => Ok(Rounding::RowArgmax),
            "greedy" => Ok(Rounding::Greedy),
            "sinkhorn-greedy" => Ok(Rounding::SinkhornGreedy { iterations: 10 }),
            "refined" => Ok(Rounding::REFINED),
            _ => {
                if let Some(rest) = s.strip_prefix("sinkhorn-greedy-") {
                    match numbers(rest)?[..] {
                        [iterations] => Ok(Rounding::SinkhornGreedy { iterations }),
                        _ => Err(bad()),
                    }
                } else if let Some(rest) = s.strip_prefix("refined-") {
                    match numbers(rest)?[..] {
                        [iterations, candidates, passes] => Ok(Rounding::Refined {
                            iterations,
                            candidates,
                            passes,
                        }),
                        _ => Err(bad()),
                    }
                } else {
                    Err(bad())
                }
            }
        }
    }
}
