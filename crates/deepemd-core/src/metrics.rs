//! Agreement statistics between estimated and exact values, as in the paper's tables.
//!
//! Each follows scipy's definition (`pearsonr`, `spearmanr`, `kendalltau` with variant "b") and
//! is checked against values scipy computed (`tests/fixtures/metrics.json`). Undefined
//! statistics (fewer than two values, constant input, non-finite values) are errors, not NaN.

use crate::error::{Error, Result};
use crate::matching::Pairing;

fn check_pair(metric: &'static str, x: &[f64], y: &[f64]) -> Result<()> {
    let fail = |message: String| Err(Error::Metric { metric, message });
    if x.len() != y.len() {
        return fail(format!("lengths differ ({} and {})", x.len(), y.len()));
    }
    if x.len() < 2 {
        return fail(format!("needs at least 2 values, got {}", x.len()));
    }
    if let Some(i) = x.iter().chain(y).position(|v| !v.is_finite()) {
        let (which, at) = if i < x.len() {
            ("x", i)
        } else {
            ("y", i - x.len())
        };
        return fail(format!("{which}[{at}] is not finite"));
    }
    Ok(())
}

/// Orders numbers so that `-0.0 == 0.0` (unlike `total_cmp`, which would split a run of ties).
fn numeric_cmp(a: f64, b: f64) -> std::cmp::Ordering {
    a.partial_cmp(&b).unwrap_or_else(|| a.total_cmp(&b))
}

fn constant_input(metric: &'static str) -> Error {
    Error::Metric {
        metric,
        message: "an input is constant, so the correlation is undefined".into(),
    }
}

/// Pearson's correlation coefficient r.
///
/// ```
/// let r = deepemd_core::metrics::pearson(&[1.0, 2.0, 3.0], &[2.0, 4.0, 7.0]).unwrap();
/// assert!((r - 0.9933992677987828).abs() < 1e-12);
/// ```
pub fn pearson(x: &[f64], y: &[f64]) -> Result<f64> {
    check_pair("pearson", x, y)?;
    pearson_unchecked(x, y).ok_or_else(|| constant_input("pearson"))
}

fn pearson_unchecked(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx == 0.0 || syy == 0.0 {
        return None;
    }
    Some((sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0))
}

/// Ranks starting at 1, ties given their average rank (scipy's `rankdata(method="average")`).
pub fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&i, &j| numeric_cmp(x[i], x[j]));
    let mut ranks = vec![0.0; x.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && x[order[end]] == x[order[start]] {
            end += 1;
        }
        // Positions start..end (0-based) share ranks start+1..=end; their mean:
        let rank = (start + end + 1) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

/// Spearman's rank correlation ρ: Pearson's r of the average ranks.
pub fn spearman(x: &[f64], y: &[f64]) -> Result<f64> {
    check_pair("spearman", x, y)?;
    pearson_unchecked(&average_ranks(x), &average_ranks(y))
        .ok_or_else(|| constant_input("spearman"))
}

/// Kendall's τ-b, in O(n log n) by Knight's algorithm (the method scipy uses): sort by (x, y),
/// count ties, then count the discordant pairs as the swaps of a merge sort on y.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> Result<f64> {
    check_pair("kendall", x, y)?;
    let n = x.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| numeric_cmp(x[i], x[j]).then(numeric_cmp(y[i], y[j])));

    // Pairs tied in x, and tied in both x and y.
    let (mut tied_x, mut tied_xy) = (0u64, 0u64);
    let mut run_x = 1u64;
    let mut run_xy = 1u64;
    for w in 1..=n {
        let same_x = w < n && x[order[w]] == x[order[w - 1]];
        let same_xy = same_x && y[order[w]] == y[order[w - 1]];
        if same_xy {
            run_xy += 1;
        } else {
            tied_xy += run_xy * (run_xy - 1) / 2;
            run_xy = 1;
        }
        if same_x {
            run_x += 1;
        } else {
            tied_x += run_x * (run_x - 1) / 2;
            run_x = 1;
        }
    }

    // Merge sort of y (in x order) counts the swaps = discordant pairs.
    let mut ys: Vec<f64> = order.iter().map(|&i| y[i]).collect();
    let mut buf = vec![0.0; n];
    let swaps = merge_sort_count(&mut ys, &mut buf);

    // Pairs tied in y (ys is now sorted).
    let mut tied_y = 0u64;
    let mut run = 1u64;
    for w in 1..=n {
        if w < n && ys[w] == ys[w - 1] {
            run += 1;
        } else {
            tied_y += run * (run - 1) / 2;
            run = 1;
        }
    }

    let total = (n as u64) * (n as u64 - 1) / 2;
    if tied_x == total || tied_y == total {
        return Err(constant_input("kendall"));
    }
    let concordant_minus_discordant =
        total as f64 - tied_x as f64 - tied_y as f64 + tied_xy as f64 - 2.0 * swaps as f64;
    let denom = ((total - tied_x) as f64).sqrt() * ((total - tied_y) as f64).sqrt();
    Ok((concordant_minus_discordant / denom).clamp(-1.0, 1.0))
}

/// Sorts `v` ascending and returns the number of inversions (pairs i < j with v_i > v_j).
fn merge_sort_count(v: &mut [f64], buf: &mut [f64]) -> u64 {
    let n = v.len();
    if n < 2 {
        return 0;
    }
    let mid = n / 2;
    let mut swaps = {
        let (left, right) = v.split_at_mut(mid);
        let (bl, br) = buf.split_at_mut(mid);
        merge_sort_count(left, bl) + merge_sort_count(right, br)
    };
    let (mut i, mut j, mut k) = (0, mid, 0);
    while i < mid && j < n {
        if v[j] < v[i] {
            buf[k] = v[j];
            swaps += (mid - i) as u64;
            j += 1;
        } else {
            buf[k] = v[i];
            i += 1;
        }
        k += 1;
    }
    buf[k..k + mid - i].copy_from_slice(&v[i..mid]);
    k += mid - i;
    buf[k..k + n - j].copy_from_slice(&v[j..n]);
    v.copy_from_slice(&buf[..n]);
    swaps
}

/// `(estimate − exact) / exact` for each pair; an exact value of zero is an error because the
/// relative error is undefined there.
pub fn relative_errors(estimate: &[f64], exact: &[f64]) -> Result<Vec<f64>> {
    check_pair("relative error", estimate, exact).or_else(|e| {
        // A single pair is a valid input for a relative error.
        if estimate.len() == 1 && exact.len() == 1 {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    estimate
        .iter()
        .zip(exact)
        .enumerate()
        .map(|(i, (e, x))| {
            if *x == 0.0 {
                Err(Error::Metric {
                    metric: "relative error",
                    message: format!("exact value {i} is zero"),
                })
            } else {
                Ok((e - x) / x)
            }
        })
        .collect()
}

/// Cosine similarity `⟨u, v⟩ / (‖u‖ ‖v‖)`; an error when a vector is zero.
pub fn cosine_similarity(u: &[f64], v: &[f64]) -> Result<f64> {
    if u.len() != v.len() || u.is_empty() {
        return Err(Error::Metric {
            metric: "cosine",
            message: format!("vectors of lengths {} and {}", u.len(), v.len()),
        });
    }
    let dot: f64 = u.iter().zip(v).map(|(a, b)| a * b).sum();
    let nu = u.iter().map(|a| a * a).sum::<f64>().sqrt();
    let nv = v.iter().map(|a| a * a).sum::<f64>().sqrt();
    if nu == 0.0 || nv == 0.0 {
        return Err(Error::Metric {
            metric: "cosine",
            message: "a vector is zero".into(),
        });
    }
    Ok((dot / (nu * nv)).clamp(-1.0, 1.0))
}

/// The mean of the values (NaN for an empty slice).
pub fn mean(x: &[f64]) -> f64 {
    x.iter().sum::<f64>() / x.len() as f64
}

/// The `q`-quantile (0 ≤ q ≤ 1) with linear interpolation, numpy's default; NaN when empty.
pub fn quantile(x: &[f64], q: f64) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let mut s = x.to_vec();
    s.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (s.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    s[lo] + (s[hi] - s[lo]) * (pos - lo as f64)
}

/// The median (numpy's convention).
pub fn median(x: &[f64]) -> f64 {
    quantile(x, 0.5)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn brute_kendall_b(x: &[f64], y: &[f64]) -> f64 {
        let n = x.len();
        let (mut c, mut d, mut tx, mut ty) = (0.0_f64, 0.0, 0.0, 0.0);
        for i in 0..n {
            for j in i + 1..n {
                let sx = (x[i] - x[j]).signum() * f64::from(x[i] != x[j]);
                let sy = (y[i] - y[j]).signum() * f64::from(y[i] != y[j]);
                if sx == 0.0 && sy == 0.0 {
                } else if sx == 0.0 {
                    tx += 1.0;
                } else if sy == 0.0 {
                    ty += 1.0;
                } else if sx == sy {
                    c += 1.0;
                } else {
                    d += 1.0;
                }
            }
        }
        (c - d) / ((c + d + tx) * (c + d + ty)).sqrt()
    }

    #[test]
    fn kendall_matches_brute_force_with_ties() {
        // -0.0 and 0.0 are ties; a sort by total_cmp would split them.
        let x = [1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 0.5, 7.0, 2.0, -0.0, 0.0];
        let y = [3.0, 1.0, 1.0, 2.0, 5.0, 2.0, 0.0, 0.0, 4.0, 9.0, 1.0];
        let fast = kendall_tau_b(&x, &y).unwrap();
        assert!((fast - brute_kendall_b(&x, &y)).abs() < 1e-12, "{fast}");
    }

    #[test]
    fn undefined_statistics_are_errors() {
        assert!(pearson(&[1.0, 1.0], &[1.0, 2.0]).is_err());
        assert!(spearman(&[1.0], &[1.0]).is_err());
        assert!(kendall_tau_b(&[1.0, f64::NAN], &[1.0, 2.0]).is_err());
        assert!(relative_errors(&[1.0], &[0.0]).is_err());
        assert!(cosine_similarity(&[0.0, 0.0], &[1.0, 0.0]).is_err());
    }

    #[test]
    fn quantiles_interpolate_like_numpy() {
        assert_eq!(median(&[3.0, 1.0, 2.0, 4.0]), 2.5);
        assert_eq!(quantile(&[0.0, 10.0], 0.1), 1.0);
    }
}

/// Share of rows whose predicted target is the optimal one.
///
/// ```
/// use deepemd_core::metrics::row_accuracy;
/// assert_eq!(row_accuracy(&[0, 2, 1, 3], &[0, 1, 2, 3]), 0.5);
/// ```
pub fn row_accuracy(predicted: &[usize], optimal: &[usize]) -> f64 {
    let hits = predicted
        .iter()
        .zip(optimal)
        .filter(|(x, y)| x == y)
        .count();
    hits as f64 / predicted.len().max(1) as f64
}

/// [`row_accuracy`] of two pairings of clouds of `n_a` and `n_b` points, over the smaller
/// cloud's points (A on a tie); `None` when either gives those points no single partner.
///
/// ```
/// use deepemd_core::metrics::partner_accuracy;
/// use deepemd_core::Pairing;
/// let optimal = Pairing::from_pairs(2, 3, vec![(0, 2), (1, 0)]).unwrap();
/// let argmax = Pairing::from_smaller_side_partners(2, 3, vec![2, 2]).unwrap();
/// assert_eq!(partner_accuracy(&argmax, &optimal, 2, 3), Some(0.5));
/// ```
pub fn partner_accuracy(
    estimate: &Pairing,
    optimal: &Pairing,
    n_a: usize,
    n_b: usize,
) -> Option<f64> {
    let got = estimate.smaller_side_partners(n_a, n_b)?;
    let want = optimal.smaller_side_partners(n_a, n_b)?;
    Some(row_accuracy(&got, &want))
}

/// How well estimates track exact values: the correlations and the mean relative error (NaN
/// where a statistic is undefined, e.g. constant input).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Agreement {
    /// Pearson r.
    pub pearson: f64,
    /// Spearman ρ.
    pub spearman: f64,
    /// Kendall τ-b.
    pub kendall: f64,
    /// Mean of (estimate − exact) / exact.
    pub mean_relative_error: f64,
}

/// The [`Agreement`] of `estimates` with `exact`.
pub fn agreement(estimates: &[f64], exact: &[f64]) -> Agreement {
    Agreement {
        pearson: pearson(estimates, exact).unwrap_or(f64::NAN),
        spearman: spearman(estimates, exact).unwrap_or(f64::NAN),
        kendall: kendall_tau_b(estimates, exact).unwrap_or(f64::NAN),
        mean_relative_error: relative_errors(estimates, exact)
            .map(|r| mean(&r))
            .unwrap_or(f64::NAN),
    }
}
