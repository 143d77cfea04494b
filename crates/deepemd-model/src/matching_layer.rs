//! The differentiable matching layer: a few log-domain Sinkhorn rounds on the logits (as in
//! SuperGlue's optimal-transport layer), so that rows and columns compete for their partners
//! and a target is no longer the best choice of two rows at once.
//!
//! Both clouds' points carry mass 1. For `n == m` a round normalizes the rows of `exp(S)`, then
//! the columns, to 1 (a doubly stochastic plan in the limit). For `n ≠ m` the smaller cloud's
//! points are normalized to 1 and the larger cloud's are capped at 1 (`min(0, ·)` on their
//! potential: the KL projection on "receives at most one unit"), so the limit is a partial plan
//! that covers the smaller cloud, as the exact partial matching does.
//!
//! Each round normalizes the smaller cloud first. The order does not change the limit, but it
//! decides how fast it is reached: the logits span hundreds of units, so capping the larger
//! cloud first (from zero potentials) drives all its potentials to about −max S, and the cap
//! lets them climb back only slowly (measured on a trained model's logits of a 220 vs 55 pair:
//! 500 rounds to converge that way, 5 the other way; after 5 rounds the argmax of the
//! capped-first order cost +76 % over the exact EMD, the other +11 %).
//!
//! Two implementations of the same rounds: [`sinkhorn_layer`] on tensors (differentiable, for
//! training and for the full logits) and [`potentials`] streaming over row blocks of `S` on the
//! CPU (inference without storing the `n × m` logits).

use std::borrow::Cow;

use candle_core::Tensor;
use rayon::prelude::*;

use crate::error::Result;

/// `log Σ exp(x)` along `dim`, kept; the shift by the maximum is detached (the value and the
/// gradient do not depend on it), so only primitive ops with a backward pass are used.
fn log_sum_exp_keepdim(x: &Tensor, dim: usize) -> candle_core::Result<Tensor> {
    let max = x.max_keepdim(dim)?.detach();
    x.broadcast_sub(&max)?
        .exp()?
        .sum_keepdim(dim)?
        .log()?
        .broadcast_add(&max)
}

/// `S + f + g` after `iterations` rounds on logits `[B, n, m]` (each round the smaller side's
/// potential, then the larger side's; rows first for `n == m`): the log of the layer's plan.
/// Zero iterations return `S` itself.
pub fn sinkhorn_layer(logits: &Tensor, iterations: usize) -> Result<Tensor> {
    if iterations == 0 {
        return Ok(logits.clone());
    }
    let (_, n, m) = logits.dims3()?;
    let (cap_rows, cap_cols) = (n > m, n < m);
    let rows = |g: &Tensor| -> candle_core::Result<Tensor> {
        let f = log_sum_exp_keepdim(&logits.broadcast_add(g)?, 2)?.neg()?;
        if cap_rows { f.minimum(0.0) } else { Ok(f) }
    };
    let cols = |f: &Tensor| -> candle_core::Result<Tensor> {
        let g = log_sum_exp_keepdim(&logits.broadcast_add(f)?, 1)?.neg()?;
        if cap_cols { g.minimum(0.0) } else { Ok(g) }
    };
    // B is the smaller cloud: its columns come first, so the updates are g, (f, g) × (T − 1), f.
    let columns_first = n > m;
    let mut f = logits.zeros_like()?.narrow(2, 0, 1)?; // [B, n, 1]
    let mut g = match columns_first {
        true => cols(&f)?,
        false => logits.zeros_like()?.narrow(1, 0, 1)?, // [B, 1, m]
    };
    for round in 0..iterations {
        f = rows(&g)?;
        if columns_first && round + 1 == iterations {
            break;
        }
        g = cols(&f)?;
    }
    Ok(logits.broadcast_add(&f)?.broadcast_add(&g)?)
}

/// Columns per task in the column accumulation (each task owns a contiguous run of columns).
const COLUMNS_PER_TASK: usize = 512;

/// The row and column potentials `(f, g)` of `iterations` rounds of [`sinkhorn_layer`] on an
/// `n × m` score matrix that `rows(start, count)` returns block by block (`count × m`,
/// row-major). Memory: `O(block · m + n + m)`; the blocks are recomputed for every pass (one
/// per round, and one more when the columns come first).
pub fn potentials<'s>(
    n: usize,
    m: usize,
    iterations: usize,
    block_rows: usize,
    rows: &mut dyn FnMut(usize, usize) -> Result<Cow<'s, [f32]>>,
) -> Result<(Vec<f32>, Vec<f32>)> {
    let (cap_rows, cap_cols) = (n > m, n < m);
    let block_rows = block_rows.max(1);
    let mut f = vec![0.0f32; n];
    let mut g = vec![0.0f32; m];
    if iterations == 0 {
        return Ok((f, g));
    }
    // As in `sinkhorn_layer`: when B is the smaller cloud its columns come first, so the
    // passes update g, then (f, g) × (iterations − 1), then f.
    let columns_first = n > m;
    let passes = iterations + usize::from(columns_first);
    for pass in 0..passes {
        let update_rows = !(columns_first && pass == 0);
        let update_columns = !(columns_first && pass + 1 == passes);
        // Each column's running (max, Σ exp(x − max)): one pass over the blocks.
        let mut columns = vec![(f32::NEG_INFINITY, 0.0f32); m];
        for start in (0..n).step_by(block_rows) {
            let count = block_rows.min(n - start);
            let s = rows(start, count)?;
            if update_rows {
                f[start..start + count]
                    .par_iter_mut()
                    .zip(s.par_chunks(m))
                    .for_each(|(fi, row)| {
                        let v = -log_sum_exp(row.iter().zip(&g).map(|(s, gj)| s + gj));
                        *fi = if cap_rows { v.min(0.0) } else { v };
                    });
            }
            if !update_columns {
                continue;
            }
            let f_block = &f[start..start + count];
            columns
                .par_chunks_mut(COLUMNS_PER_TASK)
                .enumerate()
                .for_each(|(c, acc)| {
                    let j0 = c * COLUMNS_PER_TASK;
                    for (row, fi) in s.chunks(m).zip(f_block) {
                        for (a, s) in acc.iter_mut().zip(&row[j0..]) {
                            accumulate(a, s + fi);
                        }
                    }
                });
        }
        if update_columns {
            for (gj, &(max, sum)) in g.iter_mut().zip(&columns) {
                let v = -(max + sum.ln());
                *gj = if cap_cols { v.min(0.0) } else { v };
            }
        }
    }
    Ok((f, g))
}

/// The partner of every point of the smaller side (rows when `n <= m`) under the layer's plan:
/// each row's first maximum of `S_ij + g_j`, or, when `n > m`, each column's first maximum of
/// `S_ij + f_i`. With zero iterations this is the plain row (or column) argmax of `S`.
pub fn smaller_side_argmax<'s>(
    n: usize,
    m: usize,
    iterations: usize,
    block_rows: usize,
    rows: &mut dyn FnMut(usize, usize) -> Result<Cow<'s, [f32]>>,
) -> Result<Vec<usize>> {
    let (f, g) = potentials(n, m, iterations, block_rows, rows)?;
    let block_rows = block_rows.max(1);
    if n <= m {
        let mut out = Vec::with_capacity(n);
        for start in (0..n).step_by(block_rows) {
            let s = rows(start, block_rows.min(n - start))?;
            out.par_extend(
                s.par_chunks(m)
                    .map(|row| first_max(row.iter().zip(&g).map(|(s, gj)| s + gj))),
            );
        }
        return Ok(out);
    }
    // Columns: a running first maximum over the row blocks (strict `>` keeps the first row).
    let mut best = vec![(f32::NEG_INFINITY, 0usize); m];
    for start in (0..n).step_by(block_rows) {
        let count = block_rows.min(n - start);
        let s = rows(start, count)?;
        best.par_chunks_mut(COLUMNS_PER_TASK)
            .enumerate()
            .for_each(|(c, acc)| {
                let j0 = c * COLUMNS_PER_TASK;
                for (k, row) in s.chunks(m).enumerate() {
                    let fi = f[start + k];
                    for (b, s) in acc.iter_mut().zip(&row[j0..]) {
                        if s + fi > b.0 {
                            *b = (s + fi, start + k);
                        }
                    }
                }
            });
    }
    Ok(best.into_iter().map(|(_, i)| i).collect())
}

/// The index of the first maximum (0 when nothing exceeds −∞).
pub(crate) fn first_max(values: impl Iterator<Item = f32>) -> usize {
    values
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (j, s)| {
            if s > best.1 { (j, s) } else { best }
        })
        .0
}

fn log_sum_exp(values: impl Iterator<Item = f32> + Clone) -> f32 {
    let max = values.clone().fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return max;
    }
    max + values.map(|x| (x - max).exp()).sum::<f32>().ln()
}

/// One value into a running `(max, Σ exp(x − max))`.
fn accumulate(acc: &mut (f32, f32), x: f32) {
    if x == f32::NEG_INFINITY {
        return;
    }
    if x > acc.0 {
        acc.1 = acc.1 * (acc.0 - x).exp() + 1.0;
        acc.0 = x;
    } else {
        acc.1 += (x - acc.0).exp();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{D, Device};

    fn random_logits(n: usize, m: usize, seed: u64) -> Vec<f32> {
        (0..n * m)
            .map(|p| {
                let x = (p as u64 + 1).wrapping_mul(seed.wrapping_mul(2654435761) | 1);
                ((x % 10007) as f32 / 10007.0 - 0.5) * 8.0
            })
            .collect()
    }

    /// The streamed potentials give the tensor layer's plan, at every shape and block size.
    #[test]
    fn streamed_potentials_match_the_tensor_layer() {
        // Including one round only (the two-pass edge when B is smaller) and more columns than
        // one task's run of columns (m > 512).
        let shapes = [
            (5, 5, 4),
            (4, 9, 4),
            (9, 4, 4),
            (33, 70, 4),
            (70, 33, 4),
            (9, 4, 1),
        ];
        for (n, m, rounds) in shapes.into_iter().chain([(1100, 600, 1), (600, 1100, 4)]) {
            let s = random_logits(n, m, (n * 31 + m) as u64);
            let t = Tensor::from_vec(s.clone(), (1, n, m), &Device::Cpu).unwrap();
            let want = sinkhorn_layer(&t, rounds)
                .unwrap()
                .flatten_all()
                .unwrap()
                .to_vec1::<f32>()
                .unwrap();
            for block in [1, 7, 1000] {
                let (f, g) = potentials(n, m, rounds, block, &mut |start, count| {
                    Ok(Cow::Borrowed(&s[start * m..(start + count) * m]))
                })
                .unwrap();
                for i in 0..n {
                    for j in 0..m {
                        let got = s[i * m + j] + f[i] + g[j];
                        let w = want[i * m + j];
                        assert!(
                            (got - w).abs() < 1e-4,
                            "{n}×{m} block {block}: {got} vs {w}"
                        );
                    }
                }
            }
        }
    }

    /// Enough rounds make the plan doubly stochastic (n = m) or cover the smaller side with
    /// the larger side's mass at most 1 (n ≠ m).
    #[test]
    fn the_plan_has_the_layers_marginals() {
        for (n, m) in [(6, 6), (5, 12), (12, 5)] {
            let s = random_logits(n, m, 7);
            let t = Tensor::from_vec(s, (1, n, m), &Device::Cpu).unwrap();
            let p = sinkhorn_layer(&t, 300)
                .unwrap()
                .exp()
                .unwrap()
                .squeeze(0)
                .unwrap();
            let rows = p.sum(1).unwrap().to_vec1::<f32>().unwrap();
            let cols = p.sum(0).unwrap().to_vec1::<f32>().unwrap();
            let (small, large) = if n <= m {
                (&rows, &cols)
            } else {
                (&cols, &rows)
            };
            assert!(small.iter().all(|x| (x - 1.0).abs() < 1e-3), "{small:?}");
            assert!(large.iter().all(|&x| x < 1.0 + 1e-3), "{large:?}");
            if n == m {
                assert!(large.iter().all(|x| (x - 1.0).abs() < 1e-3), "{large:?}");
            }
        }
    }

    /// Logits spanning hundreds of units (as a trained model's do): a few rounds already give
    /// the limit's argmax in both orientations, the larger cloud's mass at most 1 (regression:
    /// capping the larger cloud first needed hundreds of rounds).
    #[test]
    fn wide_logits_converge_in_a_few_rounds_from_either_side() {
        let (small, large) = (12, 40);
        let s: Vec<f32> = random_logits(small, large, 5)
            .iter()
            .map(|x| x * 30.0)
            .collect();
        let wide = Tensor::from_vec(s, (1, small, large), &Device::Cpu).unwrap();
        for tall in [false, true] {
            let t = match tall {
                true => wide.transpose(1, 2).unwrap().contiguous().unwrap(),
                false => wide.clone(),
            };
            let (axis, larger) = if tall { (D::Minus2, 2) } else { (D::Minus1, 1) };
            let solve = |rounds| {
                let plan = sinkhorn_layer(&t, rounds).unwrap();
                let argmax = plan.argmax(axis).unwrap().to_vec2::<u32>().unwrap();
                let mass = plan.exp().unwrap().sum(larger).unwrap();
                let most = mass.flatten_all().unwrap().max(0).unwrap();
                (argmax, most.to_scalar::<f32>().unwrap())
            };
            let (limit, _) = solve(400);
            let (five, most) = solve(5);
            assert_eq!(five, limit, "tall {tall}");
            assert!(
                most < 1.0 + 1e-3,
                "tall {tall}: a larger-cloud point holds {most}"
            );
        }
    }

    /// The smaller side's argmax is the argmax of the layer's full output, along the right axis.
    #[test]
    fn smaller_side_argmax_is_the_argmax_of_the_full_plan() {
        for (n, m) in [(8, 8), (6, 20), (20, 6)] {
            for iterations in [0, 3] {
                let s = random_logits(n, m, 11);
                let t = Tensor::from_vec(s.clone(), (1, n, m), &Device::Cpu).unwrap();
                let plan = sinkhorn_layer(&t, iterations).unwrap().squeeze(0).unwrap();
                let axis = if n <= m { D::Minus1 } else { D::Minus2 };
                let want: Vec<usize> = plan
                    .argmax(axis)
                    .unwrap()
                    .to_vec1::<u32>()
                    .unwrap()
                    .into_iter()
                    .map(|x| x as usize)
                    .collect();
                let got = smaller_side_argmax(n, m, iterations, 3, &mut |start, count| {
                    Ok(Cow::Borrowed(&s[start * m..(start + count) * m]))
                })
                .unwrap();
                assert_eq!(got, want, "{n}×{m}, {iterations} rounds");
            }
        }
    }
}
