//! A transport plan between the uniform distributions on two clouds, held exactly.

use crate::error::{Error, Result};

/// An optimal-transport plan between the uniform distributions on a cloud of `n_a` points and
/// one of `n_b` points (weights `1/n_a` and `1/n_b`).
///
/// Every vertex of that transportation polytope moves mass in multiples of `1 / lcm(n_a, n_b)`,
/// so the plan is stored exactly as integer `amount`s of that unit: each point of A sends
/// `lcm / n_a` units, each point of B receives `lcm / n_b`. Entries are sorted by `(i, j)`,
/// distinct, with positive amounts (a vertex of the polytope has at most `n_a + n_b − 1` of
/// them; an optimal plan that is not a vertex may have more).
///
/// ```
/// use deepemd_core::TransportPlan;
/// // A has 2 points, B has 3: lcm 6, A's points send 3 units, B's receive 2.
/// let plan = TransportPlan::new(2, 3, vec![(0, 0, 2), (0, 1, 1), (1, 1, 1), (1, 2, 2)]).unwrap();
/// assert_eq!(plan.unit(), 6);
/// let masses: Vec<f64> = plan.weighted().map(|(_, _, w)| w).collect();
/// assert_eq!(masses, vec![2.0 / 6.0, 1.0 / 6.0, 1.0 / 6.0, 2.0 / 6.0]);
/// assert!(TransportPlan::new(2, 3, vec![(0, 0, 3), (1, 1, 3)]).is_err()); // B's 3rd point gets nothing
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransportPlan {
    n_a: usize,
    n_b: usize,
    unit: u64,
    entries: Vec<(usize, usize, u64)>,
}

impl TransportPlan {
    /// Checks the entries: indices in range, amounts positive, no pair twice, and every
    /// point's total exactly its share (`lcm / n_a` for A's points, `lcm / n_b` for B's).
    pub fn new(n_a: usize, n_b: usize, mut entries: Vec<(usize, usize, u64)>) -> Result<Self> {
        let bad = |m: String| Err(Error::InvalidMatching(format!("transport plan: {m}")));
        if n_a == 0 || n_b == 0 {
            return bad("a cloud with no points".into());
        }
        let unit = lcm(n_a as u64, n_b as u64)
            .ok_or_else(|| Error::InvalidMatching("transport plan: lcm overflows u64".into()))?;
        let (share_a, share_b) = (unit / n_a as u64, unit / n_b as u64);
        let mut sent = vec![0u64; n_a];
        let mut received = vec![0u64; n_b];
        entries.sort_unstable();
        for (k, &(i, j, amount)) in entries.iter().enumerate() {
            if i >= n_a || j >= n_b {
                return bad(format!(
                    "entry ({i}, {j}) is out of range for clouds of {n_a} and {n_b} points"
                ));
            }
            if amount == 0 {
                return bad(format!("entry ({i}, {j}) moves no mass"));
            }
            if k > 0 && (entries[k - 1].0, entries[k - 1].1) == (i, j) {
                return bad(format!("entry ({i}, {j}) appears twice"));
            }
            sent[i] = sent[i].saturating_add(amount);
            received[j] = received[j].saturating_add(amount);
        }
        if let Some(i) = sent.iter().position(|&s| s != share_a) {
            return bad(format!(
                "point {i} of A sends {} of {unit} units, not {share_a}",
                sent[i]
            ));
        }
        if let Some(j) = received.iter().position(|&r| r != share_b) {
            return bad(format!(
                "point {j} of B receives {} of {unit} units, not {share_b}",
                received[j]
            ));
        }
        Ok(Self {
            n_a,
            n_b,
            unit,
            entries,
        })
    }

    /// Size of cloud A.
    pub fn n_a(&self) -> usize {
        self.n_a
    }

    /// Size of cloud B.
    pub fn n_b(&self) -> usize {
        self.n_b
    }

    /// The number of units in the total mass 1: `lcm(n_a, n_b)`.
    pub fn unit(&self) -> u64 {
        self.unit
    }

    /// The unit of a plan between clouds of `n_a` and `n_b` points, `lcm(n_a, n_b)` (`None` if it
    /// overflows u64): each point of A sends `unit / n_a` of them, each point of B receives
    /// `unit / n_b`.
    pub fn unit_for(n_a: usize, n_b: usize) -> Option<u64> {
        lcm(n_a as u64, n_b as u64)
    }

    /// The entries `(i, j, amount)`, amounts in units of `1 / unit()`, sorted by `(i, j)`.
    pub fn entries(&self) -> &[(usize, usize, u64)] {
        &self.entries
    }

    /// The entries with their masses `amount / unit()` (summing to 1).
    pub fn weighted(&self) -> impl Iterator<Item = (usize, usize, f64)> + '_ {
        let unit = self.unit as f64;
        self.entries
            .iter()
            .map(move |&(i, j, amount)| (i, j, amount as f64 / unit))
    }
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `lcm(a, b)`, `None` on overflow.
pub(crate) fn lcm(a: u64, b: u64) -> Option<u64> {
    (a / gcd(a, b)).checked_mul(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_is_checked_point_by_point() {
        // Equal sizes: unit n, one unit per point, so a permutation.
        let p = TransportPlan::new(2, 2, vec![(1, 0, 1), (0, 1, 1)]).unwrap();
        assert_eq!(p.entries(), &[(0, 1, 1), (1, 0, 1)]);
        assert!(TransportPlan::new(2, 2, vec![(0, 1, 1), (1, 0, 1), (1, 1, 1)]).is_err());
        assert!(TransportPlan::new(2, 3, vec![(0, 0, 3), (1, 1, 3), (1, 2, 0)]).is_err());
        assert!(TransportPlan::new(2, 3, vec![(0, 0, 3), (1, 1, 1), (1, 1, 2)]).is_err());
        assert!(TransportPlan::new(2, 3, vec![(0, 0, 3), (2, 1, 3)]).is_err());
        assert!(TransportPlan::new(0, 3, vec![]).is_err());
        // 4 vs 6: unit 12, A's points send 3 units, B's receive 2.
        let p = TransportPlan::new(
            4,
            6,
            vec![
                (0, 0, 2),
                (0, 1, 1),
                (1, 1, 1),
                (1, 2, 2),
                (2, 3, 2),
                (2, 4, 1),
                (3, 4, 1),
                (3, 5, 2),
            ],
        )
        .unwrap();
        assert_eq!(p.unit(), 12);
        assert!((p.weighted().map(|e| e.2).sum::<f64>() - 1.0).abs() < 1e-15);
        assert_eq!(lcm(u64::MAX, 2), None);
    }
}
