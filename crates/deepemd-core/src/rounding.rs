//! Rounding a score matrix to a bijection in O(n²): used for Sinkhorn plans and model logits.

use crate::error::{Error, Result};
use crate::matching::Matching;

/// How many best columns of each row enter the global greedy pass. Rows whose candidates are
/// all taken fall back to a scan of the free columns, so the result is always a bijection.
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
    if scores.len() != n * n {
        return Err(Error::InvalidParameter(format!(
            "a score matrix of {} entries is not {n} × {n}",
            scores.len()
        )));
    }
    if let Some(pos) = scores.iter().position(|s| (*s).into().is_nan()) {
        return Err(Error::InvalidParameter(format!(
            "score ({}, {}) is NaN",
            pos / n,
            pos % n
        )));
    }
    const FREE: usize = usize::MAX;
    let mut target = vec![FREE; n];
    let mut col_taken = vec![false; n];
    let mut rows: Vec<usize> = (0..n).collect();
    let mut candidates: Vec<(f64, usize, usize)> = Vec::new();
    let mut row_best: Vec<(f64, usize)> = Vec::with_capacity(CANDIDATES_PER_ROW + 1);
    // Each round, every unmatched row proposes its best free columns and the proposals are
    // accepted greedily. The best proposal of a round is always accepted, so rounds terminate;
    // in practice one or two rounds match almost every row.
    while !rows.is_empty() {
        // As many columns are free as rows are unmatched.
        let k = CANDIDATES_PER_ROW.min(rows.len());
        candidates.clear();
        for &i in &rows {
            row_best.clear();
            for (j, s) in scores[i * n..(i + 1) * n].iter().enumerate() {
                if col_taken[j] {
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
        for &(_, i, j) in &candidates {
            if target[i] == FREE && !col_taken[j] {
                target[i] = j;
                col_taken[j] = true;
            }
        }
        rows.retain(|&i| target[i] == FREE);
    }
    Matching::new(target)
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
    fn rejects_nan_and_bad_shape() {
        assert!(greedy_bijection(&[0.0f32, f32::NAN, 0.0, 0.0], 2).is_err());
        assert!(greedy_bijection(&[0.0f64; 3], 2).is_err());
    }
}
