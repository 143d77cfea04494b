//! Rounding a score matrix to a matching in O(n·m): used for Sinkhorn plans and model logits.

use crate::error::{Error, Result};
use crate::matching::{Matching, Pairing};
use crate::transport_plan::TransportPlan;

/// How many best columns of each row enter the global greedy pass. Rows whose candidates are
/// all taken fall back to a scan of the free columns, so the result always covers every row.
const CANDIDATES_PER_ROW: usize = 8;

/// Greedy bijective rounding of an `n × n` row-major score matrix (higher is better).
///
/// Each row proposes its best 8 columns; the proposals are taken in decreasing score order
/// when both row and column are still free; rows left over propose again among the free
/// columns, until every row is matched. Ties are broken by the lower (row, column) index, so the
/// result is deterministic. Cost: O(n²) for the candidate scan plus O(n log n) for the sort.
///
/// ```
/// use deepemd_core::rounding::greedy_bijection;
/// let scores = [0.9, 0.8, 0.95, 0.1];
/// assert_eq!(greedy_bijection(&scores, 2).unwrap().targets(), &[1, 0]);
/// ```
pub fn greedy_bijection<T>(scores: &[T], n: usize) -> Result<Matching>
where
    T: Copy + Into<f64>,
{
    check_scores(scores, n, n)?;
    Matching::new(greedy_rows(scores, n, n))
}

/// Greedy rounding of an `n × m` row-major score matrix to a matching that covers the smaller
/// side: a bijection when `n == m`, else a partial matching in which every point of the smaller
/// cloud has a distinct partner (the same greedy rule as [`greedy_bijection`], run from the
/// smaller side).
///
/// ```
/// use deepemd_core::rounding::greedy_matching;
/// // Two rows, three columns: row 0 takes column 2, row 1 its best free column, 0.
/// let scores = [0.1, 0.5, 0.9, 0.8, 0.2, 0.85];
/// let p = greedy_matching(&scores, 2, 3).unwrap();
/// assert_eq!(p.pairs().collect::<Vec<_>>(), vec![(0, 2), (1, 0)]);
/// ```
pub fn greedy_matching<T>(scores: &[T], n: usize, m: usize) -> Result<Pairing>
where
    T: Copy + Into<f64>,
{
    check_scores(scores, n, m)?;
    if n <= m {
        let targets = greedy_rows(scores, n, m);
        return Pairing::from_pairs(n, m, targets.into_iter().enumerate().collect());
    }
    let transposed: Vec<f64> = (0..m)
        .flat_map(|j| (0..n).map(move |i| scores[i * m + j].into()))
        .collect();
    let sources = greedy_rows(&transposed, m, n);
    Pairing::from_pairs(
        n,
        m,
        sources
            .into_iter()
            .enumerate()
            .map(|(j, i)| (i, j))
            .collect(),
    )
}

/// Greedy rounding of an `n × m` row-major score matrix (higher is better) to a
/// [`TransportPlan`] between the uniform distributions on `n` and `m` points: the same rule as
/// [`greedy_bijection`] with amounts — each row with mass left proposes its best 8 columns with
/// room left, proposals are taken in decreasing score order, each moving as much as both ends
/// still allow — until all mass is placed. Each accepted move empties a row or fills a column,
/// so the plan has at most `n + m − 1` entries. Deterministic (ties by lower index).
///
/// ```
/// use deepemd_core::rounding::greedy_plan;
/// // One row, two columns: the row's mass splits half and half.
/// let plan = greedy_plan(&[0.2, 0.9], 1, 2).unwrap();
/// assert_eq!(plan.entries(), &[(0, 0, 1), (0, 1, 1)]);
/// ```
pub fn greedy_plan<T>(scores: &[T], n: usize, m: usize) -> Result<TransportPlan>
where
    T: Copy + Into<f64>,
{
    check_scores(scores, n, m)?;
    let unit = crate::transport_plan::lcm(n as u64, m as u64)
        .ok_or_else(|| Error::InvalidInput(format!("lcm({n}, {m}) overflows u64")))?;
    let mut row_left = vec![unit / n.max(1) as u64; n];
    let mut col_left = vec![unit / m.max(1) as u64; m];
    let mut amounts: std::collections::BTreeMap<(usize, usize), u64> = Default::default();
    let mut rows: Vec<usize> = (0..n).collect();
    let mut proposals = Proposals::default();
    // As in `greedy_rows`: the best proposal of a round always moves mass, so rounds end.
    while !rows.is_empty() {
        let candidates = proposals.round(scores, m, &rows, CANDIDATES_PER_ROW, |j| col_left[j] > 0);
        for &(_, i, j) in candidates {
            let t = row_left[i].min(col_left[j]);
            if t > 0 {
                row_left[i] -= t;
                col_left[j] -= t;
                *amounts.entry((i, j)).or_default() += t;
            }
        }
        rows.retain(|&i| row_left[i] > 0);
    }
    TransportPlan::new(
        n,
        m,
        amounts.into_iter().map(|((i, j), t)| (i, j, t)).collect(),
    )
}

fn check_scores<T: Copy + Into<f64>>(scores: &[T], n: usize, m: usize) -> Result<()> {
    if scores.len() != n * m {
        return Err(Error::InvalidInput(format!(
            "a score matrix of {} entries is not {n} × {m}",
            scores.len()
        )));
    }
    if let Some(pos) = scores.iter().position(|s| (*s).into().is_nan()) {
        return Err(Error::InvalidInput(format!(
            "score ({}, {}) is NaN",
            pos / m.max(1),
            pos % m.max(1)
        )));
    }
    Ok(())
}

/// One round of proposals of the greedy roundings: each listed row's `k` best columns among
/// those `open` accepts, as `(score, row, column)` sorted by decreasing score (ties by lower
/// row, then column). The buffers are kept between rounds.
#[derive(Default)]
struct Proposals {
    candidates: Vec<(f64, usize, usize)>,
    row_best: Vec<(f64, usize)>,
}

impl Proposals {
    fn round<T: Copy + Into<f64>>(
        &mut self,
        scores: &[T],
        m: usize,
        rows: &[usize],
        k: usize,
        open: impl Fn(usize) -> bool,
    ) -> &[(f64, usize, usize)] {
        let (candidates, row_best) = (&mut self.candidates, &mut self.row_best);
        candidates.clear();
        for &i in rows {
            row_best.clear();
            for (j, s) in scores[i * m..(i + 1) * m].iter().enumerate() {
                if !open(j) {
                    continue;
                }
                let s: f64 = (*s).into();
                if row_best.len() < k || s > row_best[row_best.len() - 1].0 {
                    let at = row_best.partition_point(|&(t, _)| t >= s);
                    row_best.insert(at, (s, j));
                    row_best.truncate(k);
                }
            }
            candidates.extend(row_best.iter().map(|&(s, j)| (s, i, j)));
        }
        candidates.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
        candidates
    }
}

/// The greedy rule on an `n × m` matrix with `n <= m`: the column given to each row.
fn greedy_rows<T: Copy + Into<f64>>(scores: &[T], n: usize, m: usize) -> Vec<usize> {
    debug_assert!(n <= m);
    const FREE: usize = usize::MAX;
    let mut target = vec![FREE; n];
    let mut col_taken = vec![false; m];
    let mut rows: Vec<usize> = (0..n).collect();
    let mut proposals = Proposals::default();
    // Each round, every unmatched row proposes its best free columns and the proposals are
    // accepted greedily. The best proposal of a round is always accepted, so rounds terminate;
    // in practice one or two rounds match almost every row.
    while !rows.is_empty() {
        // At least as many columns are free as rows are unmatched.
        let k = CANDIDATES_PER_ROW.min(rows.len());
        let candidates = proposals.round(scores, m, &rows, k, |j| !col_taken[j]);
        for &(_, i, j) in candidates {
            if target[i] == FREE && !col_taken[j] {
                target[i] = j;
                col_taken[j] = true;
            }
        }
        rows.retain(|&i| target[i] == FREE);
    }
    target
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn always_returns_a_bijection() {
        // Every row prefers column 0: all but one row must fall back.
        let n = 20;
        let scores: Vec<f64> = (0..n * n)
            .map(|p| {
                if p % n < 9 {
                    10.0 - (p % n) as f64
                } else {
                    -(p as f64)
                }
            })
            .collect();
        let m = greedy_bijection(&scores, n).unwrap();
        assert_eq!(m.len(), n);
    }

    #[test]
    fn unequal_sizes_cover_the_smaller_side_from_either_side() {
        // A random 7 × 3 matrix and its transpose give mirrored matchings.
        let (n, m) = (7, 3);
        let scores: Vec<f64> = (0..n * m).map(|p| ((p * 37 % 11) as f64).sin()).collect();
        let transposed: Vec<f64> = (0..m)
            .flat_map(|j| {
                scores
                    .iter()
                    .skip(j)
                    .step_by(m)
                    .copied()
                    .collect::<Vec<_>>()
            })
            .collect();
        let tall = greedy_matching(&scores, n, m).unwrap();
        let wide = greedy_matching(&transposed, m, n).unwrap();
        assert_eq!(tall.len(), 3);
        let mut mirrored: Vec<(usize, usize)> = wide.pairs().map(|(j, i)| (i, j)).collect();
        mirrored.sort_unstable();
        assert_eq!(tall.pairs().collect::<Vec<_>>(), mirrored);
        assert!(greedy_matching(&scores, 3, 3).is_err());
    }

    #[test]
    fn rejects_nan_and_bad_shape() {
        assert!(greedy_bijection(&[0.0f32, f32::NAN, 0.0, 0.0], 2).is_err());
        assert!(greedy_bijection(&[0.0f64; 3], 2).is_err());
    }
}
