//! From logits to a matching: the paper's row argmax, bijective roundings, and a refinement of
//! the bijection on the true costs. For clouds of different sizes every rounding works from the
//! smaller cloud: the argmax gives each of its points a partner, the others a partial matching
//! that covers it.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use deepemd_core::rounding::greedy_matching;
use deepemd_core::{Cost, Error, Matching, Pairing, PointCloud, Result};
use rayon::prelude::*;

use crate::matching_layer::{potentials, smaller_side_argmax};

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
    /// The paper's estimate: each `a_i` takes its best-scoring `b_j` (for `n > m`, each `b_j`
    /// its best `a_i`). Not injective (a target can be hit twice); its cost can fall below the
    /// EMD.
    RowArgmax,
    /// Greedy bijection (partial matching for `n ≠ m`) on the logits. Costs at least the EMD.
    Greedy,
    /// `iterations` Sinkhorn normalizations of `exp(S)`, then greedy. Costs at least the EMD.
    SinkhornGreedy {
        /// Normalization rounds (the smaller cloud's points to mass 1, the larger's capped at 1).
        iterations: usize,
    },
    /// `SinkhornGreedy`, then 2-opt swaps on the true costs among each point's `candidates`
    /// nearest targets, for at most `passes` passes. O(n·m + passes·min(n, m)·candidates).
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

    /// The rounding a model estimate uses when none is named (the paper's row argmax): the one
    /// place this default is decided.
    pub const DEFAULT: Rounding = Rounding::RowArgmax;

    /// Every variant reported in the tables, cheapest first.
    pub const ALL: [Rounding; 4] = [
        Rounding::RowArgmax,
        Rounding::Greedy,
        Rounding::SinkhornGreedy { iterations: 10 },
        Rounding::REFINED,
    ];

    /// The matching these logits give for `a` and `b`. `logits` is `n × m`, row-major. For
    /// `n ≠ m` every rounding works from the smaller cloud: the argmax gives each of its points
    /// the best partner in the larger cloud ([`Pairing::MapFromB`] when B is the smaller), the
    /// bijective roundings a partial matching that covers it.
    pub fn apply(
        &self,
        logits: &[f32],
        a: &PointCloud,
        b: &PointCloud,
        cost: Cost,
    ) -> Result<Pairing> {
        let (n, m) = (a.len(), b.len());
        if logits.len() != n * m {
            return Err(Error::InvalidInput(format!(
                "{} logits for clouds of {n} and {m} points",
                logits.len()
            )));
        }
        match *self {
            Rounding::RowArgmax => {
                let partners = smaller_side_argmax(n, m, 0, n.max(1), &mut |start, count| {
                    Ok(Cow::Borrowed(&logits[start * m..(start + count) * m]))
                })
                .map_err(|e| Error::InvalidInput(e.to_string()))?;
                Pairing::from_smaller_side_partners(n, m, partners)
            }
            Rounding::Greedy => greedy_matching(logits, n, m),
            Rounding::SinkhornGreedy { iterations } => {
                greedy_matching(&sinkhorn_scores(logits, n, m, iterations)?, n, m)
            }
            Rounding::Refined {
                iterations,
                candidates,
                passes,
            } => {
                let p = greedy_matching(&sinkhorn_scores(logits, n, m, iterations)?, n, m)?;
                two_opt_pairing(a, b, cost, &p, candidates, passes)
            }
        }
    }
}

/// `S + f + g` after `iterations` log-domain Sinkhorn rounds on `exp(S)` (`n × m`, row-major):
/// the log of a nearly doubly stochastic plan for `n == m`, of a plan that covers the smaller
/// cloud for `n ≠ m` (the matching layer's rounds, see [`crate::sinkhorn_layer`]).
pub fn sinkhorn_scores(logits: &[f32], n: usize, m: usize, iterations: usize) -> Result<Vec<f32>> {
    if logits.len() != n * m || n == 0 || m == 0 {
        return Err(Error::InvalidInput(format!(
            "{} logits are not a non-empty {n} × {m} matrix",
            logits.len()
        )));
    }
    let (f, g) = potentials(n, m, iterations, n, &mut |start, count| {
        Ok(Cow::Borrowed(&logits[start * m..(start + count) * m]))
    })
    .expect("borrowed blocks cannot fail");
    let mut out = logits.to_vec();
    out.par_chunks_mut(m).zip(&f).for_each(|(row, fi)| {
        for (s, gj) in row.iter_mut().zip(&g) {
            *s += fi + gj;
        }
    });
    Ok(out)
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
    if a.len() != b.len() || matching.len() != a.len() {
        return Err(Error::InvalidMatching(format!(
            "a bijection of {} points for clouds of {} and {}",
            matching.len(),
            a.len(),
            b.len()
        )));
    }
    let partners = improve_partners(
        a.len(),
        b.len(),
        &|i, j| cost.between(a.point(i), b.point(j)),
        matching.into_targets(),
        candidates,
        passes,
    );
    Matching::new(partners)
}

/// [`two_opt`] for a bijection or a partial matching: for a partial matching, a point of the
/// smaller cloud may also move to a free point of the larger one when that is cheaper.
pub fn two_opt_pairing(
    a: &PointCloud,
    b: &PointCloud,
    cost: Cost,
    pairing: &Pairing,
    candidates: usize,
    passes: usize,
) -> Result<Pairing> {
    let (n, m) = (a.len(), b.len());
    let fits = match pairing {
        Pairing::Bijection(x) => x.len() == n && n == m,
        Pairing::Partial(p) => (p.n_a(), p.n_b()) == (n, m),
        _ => true, // refused below
    };
    if !fits {
        return Err(Error::InvalidMatching(format!(
            "a {} of {} pairs does not fit clouds of {n} and {m} points",
            pairing.kind(),
            pairing.len()
        )));
    }
    let partners = pairing.smaller_side_partners(n, m).ok_or_else(|| {
        Error::InvalidMatching(format!(
            "2-opt needs an injective matching, not a {}",
            pairing.kind()
        ))
    })?;
    if n <= m {
        let c = |i: usize, j: usize| cost.between(a.point(i), b.point(j));
        let t = improve_partners(n, m, &c, partners, candidates, passes);
        Pairing::from_pairs(n, m, t.into_iter().enumerate().collect())
    } else {
        let c = |j: usize, i: usize| cost.between(a.point(i), b.point(j));
        let t = improve_partners(m, n, &c, partners, candidates, passes);
        Pairing::from_pairs(
            n,
            m,
            t.into_iter().enumerate().map(|(j, i)| (i, j)).collect(),
        )
    }
}

/// The 2-opt passes from the smaller side (`small <= large`): `partner[s]` is the point of the
/// larger side matched to `s`, `c(s, l)` the true cost.
fn improve_partners(
    small: usize,
    large: usize,
    c: &(dyn Fn(usize, usize) -> f64 + Sync),
    mut partner: Vec<usize>,
    candidates: usize,
    passes: usize,
) -> Vec<usize> {
    const FREE: usize = usize::MAX;
    let k = candidates.min(large);
    let nearest: Vec<Vec<usize>> = (0..small)
        .into_par_iter()
        .map(|s| {
            let mut d: Vec<(f64, usize)> = (0..large).map(|l| (c(s, l), l)).collect();
            if k < large {
                d.select_nth_unstable_by(k, |x, y| x.0.total_cmp(&y.0));
            }
            d.truncate(k);
            d.sort_by(|x, y| x.0.total_cmp(&y.0));
            d.into_iter().map(|(_, l)| l).collect()
        })
        .collect();
    let mut owner = vec![FREE; large];
    for (s, &l) in partner.iter().enumerate() {
        owner[l] = s;
    }
    for _ in 0..passes {
        let mut improved = false;
        for s in 0..small {
            for &l in &nearest[s] {
                let (s2, current) = (owner[l], partner[s]);
                if s2 == s {
                    continue;
                }
                if s2 == FREE {
                    // A free point of the larger cloud: move there if cheaper.
                    if c(s, l) - c(s, current) < -1e-12 {
                        partner[s] = l;
                        owner[l] = s;
                        owner[current] = FREE;
                        improved = true;
                    }
                    continue;
                }
                let delta = c(s, l) + c(s2, current) - c(s, current) - c(s2, l);
                if delta < -1e-12 {
                    partner[s] = l;
                    partner[s2] = current;
                    owner[l] = s;
                    owner[current] = s2;
                    improved = true;
                }
            }
        }
        if !improved {
            break;
        }
    }
    partner
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
