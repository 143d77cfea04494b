//! Matchings between two clouds: a bijection, a partial matching for unequal sizes, and a
//! plain map (possibly not injective) such as a model's row argmax.

use crate::error::{Error, Result};
use crate::transport_plan::TransportPlan;

/// A bijection between two clouds of equal size: point `a_i` is matched to `b_{target(i)}`.
///
/// ```
/// use deepemd_core::Matching;
/// let m = Matching::new(vec![2, 0, 1]).unwrap();
/// assert_eq!(m.inverse().targets(), &[1, 2, 0]);
/// assert!(Matching::new(vec![0, 0, 1]).is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Matching {
    targets: Vec<usize>,
}

impl Matching {
    /// Checks that `targets` is a permutation of `0..targets.len()`.
    pub fn new(targets: Vec<usize>) -> Result<Self> {
        let n = targets.len();
        let mut seen = vec![false; n];
        for (i, &t) in targets.iter().enumerate() {
            if t >= n {
                return Err(Error::InvalidMatching(format!(
                    "point {i} is matched to {t}, but there are only {n} targets"
                )));
            }
            if std::mem::replace(&mut seen[t], true) {
                return Err(Error::InvalidMatching(format!(
                    "target {t} is matched twice (again by point {i})"
                )));
            }
        }
        Ok(Self { targets })
    }

    /// The identity matching of `n` points.
    pub fn identity(n: usize) -> Self {
        Self {
            targets: (0..n).collect(),
        }
    }

    /// Number of matched pairs.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// True for the matching of two empty clouds (never produced by a solver).
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// `targets()[i]` is the point of B matched to `a_i`.
    pub fn targets(&self) -> &[usize] {
        &self.targets
    }

    /// The point of B matched to `a_i`.
    pub fn target(&self, i: usize) -> usize {
        self.targets[i]
    }

    /// The matching from B to A.
    pub fn inverse(&self) -> Self {
        let mut inv = vec![0; self.len()];
        for (i, &t) in self.targets.iter().enumerate() {
            inv[t] = i;
        }
        Self { targets: inv }
    }

    /// Consumes the matching and returns its targets.
    pub fn into_targets(self) -> Vec<usize> {
        self.targets
    }
}

/// An injective matching between clouds of different sizes in which every point of the smaller
/// cloud is matched exactly once. Pairs are `(i, j)` = (index in A, index in B), sorted by `i`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartialMatching {
    n_a: usize,
    n_b: usize,
    pairs: Vec<(usize, usize)>,
}

impl PartialMatching {
    /// Checks the pairs: indices in range, no point used twice, the smaller cloud covered.
    pub fn new(n_a: usize, n_b: usize, mut pairs: Vec<(usize, usize)>) -> Result<Self> {
        let k = n_a.min(n_b);
        if pairs.len() != k {
            return Err(Error::InvalidMatching(format!(
                "{} pairs for clouds of {n_a} and {n_b} points (expected {k})",
                pairs.len()
            )));
        }
        let mut used_a = vec![false; n_a];
        let mut used_b = vec![false; n_b];
        for &(i, j) in &pairs {
            if i >= n_a || j >= n_b {
                return Err(Error::InvalidMatching(format!(
                    "pair ({i}, {j}) is out of range for clouds of {n_a} and {n_b} points"
                )));
            }
            if std::mem::replace(&mut used_a[i], true) || std::mem::replace(&mut used_b[j], true) {
                return Err(Error::InvalidMatching(format!(
                    "pair ({i}, {j}) reuses a point"
                )));
            }
        }
        pairs.sort_unstable();
        Ok(Self { n_a, n_b, pairs })
    }

    /// Size of cloud A.
    pub fn n_a(&self) -> usize {
        self.n_a
    }

    /// Size of cloud B.
    pub fn n_b(&self) -> usize {
        self.n_b
    }

    /// The matched pairs `(i, j)`, sorted by `i`.
    pub fn pairs(&self) -> &[(usize, usize)] {
        &self.pairs
    }
}

/// A map from A to B that may send several points of A to the same point of B, as a model's
/// row argmax does. It is not a transport plan; its cost is still a useful estimate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assignment {
    n_b: usize,
    targets: Vec<usize>,
}

impl Assignment {
    /// Checks that every target is below `n_b`.
    pub fn new(n_b: usize, targets: Vec<usize>) -> Result<Self> {
        if let Some((i, &t)) = targets.iter().enumerate().find(|&(_, &t)| t >= n_b) {
            return Err(Error::InvalidMatching(format!(
                "point {i} is mapped to {t}, but B has only {n_b} points"
            )));
        }
        Ok(Self { n_b, targets })
    }

    /// `targets()[i]` is the point of B that `a_i` is mapped to.
    pub fn targets(&self) -> &[usize] {
        &self.targets
    }

    /// Size of cloud B.
    pub fn n_b(&self) -> usize {
        self.n_b
    }

    /// Number of points of B that receive two or more points of A.
    pub fn targets_hit_more_than_once(&self) -> usize {
        let mut count = vec![0u32; self.n_b];
        for &t in &self.targets {
            count[t] += 1;
        }
        count.iter().filter(|&&c| c > 1).count()
    }

    /// The assignment as a bijection, when it is one.
    pub fn to_matching(&self) -> Option<Matching> {
        if self.targets.len() != self.n_b {
            return None;
        }
        Matching::new(self.targets.clone()).ok()
    }
}

/// Whichever kind of matching an estimator produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pairing {
    /// A bijection (equal sizes).
    Bijection(Matching),
    /// An injective matching covering the smaller cloud (unequal sizes).
    Partial(PartialMatching),
    /// A map from A to B, possibly not injective.
    Map(Assignment),
    /// A map from B to A, possibly not injective: `b_j` goes to `a_{targets[j]}` (the
    /// [`Assignment`]'s targets index A). What a model's argmax over the smaller cloud gives
    /// when B is the smaller one.
    MapFromB(Assignment),
    /// A transport plan between the uniform distributions on both clouds (the
    /// [`Unequal::Uniform`](crate::Unequal::Uniform) convention): mass may split.
    Plan(TransportPlan),
}

impl Pairing {
    /// The matching a solver's pairs `(i, j)` describe for clouds of `n_a` and `n_b` points: a
    /// [`Matching`] when the sizes are equal (every `i` once, every `j` once), else a
    /// [`PartialMatching`] covering the smaller cloud.
    ///
    /// ```
    /// use deepemd_core::Pairing;
    /// let p = Pairing::from_pairs(2, 2, vec![(1, 0), (0, 1)]).unwrap();
    /// assert_eq!(p.as_bijection().unwrap().targets(), &[1, 0]);
    /// assert!(Pairing::from_pairs(2, 2, vec![(1, 0), (1, 1)]).is_err());
    /// ```
    pub fn from_pairs(n_a: usize, n_b: usize, pairs: Vec<(usize, usize)>) -> Result<Pairing> {
        if n_a != n_b {
            return Ok(Pairing::Partial(PartialMatching::new(n_a, n_b, pairs)?));
        }
        let mut targets: Vec<Option<usize>> = vec![None; n_a];
        for &(i, j) in &pairs {
            match targets.get_mut(i) {
                Some(slot @ None) => *slot = Some(j),
                Some(Some(_)) => {
                    return Err(Error::InvalidMatching(format!(
                        "point {i} of A is paired twice"
                    )));
                }
                None => {
                    return Err(Error::InvalidMatching(format!(
                        "pair ({i}, {j}) is outside clouds of {n_a} points"
                    )));
                }
            }
        }
        let targets = targets
            .into_iter()
            .enumerate()
            .map(|(i, t)| {
                t.ok_or_else(|| Error::InvalidMatching(format!("point {i} of A is not paired")))
            })
            .collect::<Result<Vec<usize>>>()?;
        Ok(Pairing::Bijection(Matching::new(targets)?))
    }

    /// Number of pairs `(i, j)`: the EMD of a matching or map is the mean cost over them; a
    /// plan's pairs are its nonzero entries, weighted by their masses.
    pub fn len(&self) -> usize {
        match self {
            Pairing::Bijection(m) => m.len(),
            Pairing::Partial(p) => p.pairs.len(),
            Pairing::Map(a) | Pairing::MapFromB(a) => a.targets.len(),
            Pairing::Plan(p) => p.entries().len(),
        }
    }

    /// True when there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The pairs `(i, j)`.
    pub fn pairs(&self) -> Box<dyn Iterator<Item = (usize, usize)> + '_> {
        match self {
            Pairing::Bijection(m) => Box::new(m.targets.iter().copied().enumerate()),
            Pairing::Partial(p) => Box::new(p.pairs.iter().copied()),
            Pairing::Map(a) => Box::new(a.targets.iter().copied().enumerate()),
            Pairing::MapFromB(a) => Box::new(a.targets.iter().enumerate().map(|(j, &i)| (i, j))),
            Pairing::Plan(p) => Box::new(p.entries().iter().map(|&(i, j, _)| (i, j))),
        }
    }

    /// The pairs `(i, j)` with their weights in the EMD, which sum to 1: `1 / len()` each for
    /// a matching or a map, the mass moved for a plan.
    pub fn weighted_pairs(&self) -> Box<dyn Iterator<Item = (usize, usize, f64)> + '_> {
        match self {
            Pairing::Plan(p) => Box::new(p.weighted()),
            _ => {
                let w = 1.0 / self.len() as f64;
                Box::new(self.pairs().map(move |(i, j)| (i, j, w)))
            }
        }
    }

    /// The target of every point of A, for a bijection or a map from A (`None` for a partial
    /// matching or a map from B, where some points of A may have none).
    pub fn targets(&self) -> Option<&[usize]> {
        match self {
            Pairing::Bijection(m) => Some(m.targets()),
            Pairing::Map(a) => Some(a.targets()),
            Pairing::Partial(_) | Pairing::MapFromB(_) | Pairing::Plan(_) => None,
        }
    }

    /// The partner of every point of the smaller cloud (A on a tie), in index order: what a
    /// matching of unequal clouds is judged on (see `docs/math.md`). `None` for a map from the
    /// larger cloud, which does not give each point of the smaller one a single partner.
    pub fn smaller_side_partners(&self, n_a: usize, n_b: usize) -> Option<Vec<usize>> {
        let mut out = vec![usize::MAX; n_a.min(n_b)];
        let from_a = n_a <= n_b;
        match self {
            Pairing::Map(_) if !from_a => return None,
            Pairing::MapFromB(_) if from_a => return None,
            Pairing::Plan(_) => return None,
            _ => {}
        }
        for (i, j) in self.pairs() {
            let (s, l) = if from_a { (i, j) } else { (j, i) };
            *out.get_mut(s)? = l;
        }
        (!out.contains(&usize::MAX)).then_some(out)
    }

    /// The map that gives each point of the smaller cloud (A on a tie) the partner
    /// `partners[k]` in the larger: [`Pairing::Map`] from A, or [`Pairing::MapFromB`] when B is
    /// the smaller. The inverse of [`Self::smaller_side_partners`] for maps.
    pub fn from_smaller_side_partners(
        n_a: usize,
        n_b: usize,
        partners: Vec<usize>,
    ) -> Result<Pairing> {
        if partners.len() != n_a.min(n_b) {
            return Err(Error::InvalidMatching(format!(
                "{} partners for clouds of {n_a} and {n_b} points",
                partners.len()
            )));
        }
        Ok(if n_a <= n_b {
            Pairing::Map(Assignment::new(n_b, partners)?)
        } else {
            Pairing::MapFromB(Assignment::new(n_a, partners)?)
        })
    }

    /// Number of points of the larger cloud (B on a tie) that receive two or more points, for
    /// maps; 0 for the injective kinds.
    pub fn targets_hit_more_than_once(&self) -> usize {
        match self {
            Pairing::Map(a) | Pairing::MapFromB(a) => a.targets_hit_more_than_once(),
            _ => 0,
        }
    }

    /// Whether this pairing is one between clouds of `n_a` and `n_b` points.
    pub fn fits(&self, n_a: usize, n_b: usize) -> bool {
        match self {
            Pairing::Bijection(m) => m.len() == n_a && n_a == n_b,
            Pairing::Partial(p) => p.n_a() == n_a && p.n_b() == n_b,
            Pairing::Map(m) => m.targets().len() == n_a && m.n_b() == n_b,
            Pairing::MapFromB(m) => m.targets().len() == n_b && m.n_b() == n_a,
            Pairing::Plan(p) => p.n_a() == n_a && p.n_b() == n_b,
        }
    }

    /// The bijection, when this is one.
    pub fn as_bijection(&self) -> Option<&Matching> {
        match self {
            Pairing::Bijection(m) => Some(m),
            _ => None,
        }
    }

    /// A short name of the kind: "bijection", "partial", "map", "map from B" or "plan".
    pub fn kind(&self) -> &'static str {
        match self {
            Pairing::Bijection(_) => "bijection",
            Pairing::Partial(_) => "partial",
            Pairing::Map(_) => "map",
            Pairing::MapFromB(_) => "map from B",
            Pairing::Plan(_) => "plan",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_matching_checks_coverage_and_injectivity() {
        assert!(PartialMatching::new(2, 3, vec![(1, 2), (0, 0)]).is_ok());
        assert!(PartialMatching::new(2, 3, vec![(0, 2)]).is_err());
        assert!(PartialMatching::new(2, 3, vec![(0, 2), (1, 2)]).is_err());
        assert!(PartialMatching::new(2, 3, vec![(0, 2), (1, 3)]).is_err());
        let p = PartialMatching::new(3, 2, vec![(2, 0), (0, 1)]).unwrap();
        assert_eq!(p.pairs(), &[(0, 1), (2, 0)]);
    }

    #[test]
    fn a_map_from_b_pairs_each_point_of_b_and_gives_the_smaller_sides_partners() {
        let m = Pairing::MapFromB(Assignment::new(3, vec![2, 2]).unwrap());
        assert_eq!(m.pairs().collect::<Vec<_>>(), vec![(2, 0), (2, 1)]);
        assert_eq!(m.len(), 2);
        assert_eq!(m.targets(), None);
        assert_eq!(m.targets_hit_more_than_once(), 1);
        assert_eq!(m.smaller_side_partners(3, 2), Some(vec![2, 2]));
        let p = Pairing::from_pairs(3, 2, vec![(2, 0), (0, 1)]).unwrap();
        assert_eq!(p.smaller_side_partners(3, 2), Some(vec![2, 0]));
        let p = Pairing::from_pairs(2, 3, vec![(1, 0), (0, 2)]).unwrap();
        assert_eq!(p.smaller_side_partners(2, 3), Some(vec![2, 0]));
        // A map from the larger cloud gives no single partner to each point of the smaller.
        let map = Pairing::Map(Assignment::new(2, vec![0, 1, 1]).unwrap());
        assert_eq!(map.smaller_side_partners(3, 2), None);
        // Built back from the partners, either orientation.
        assert_eq!(
            Pairing::from_smaller_side_partners(3, 2, vec![2, 2]).unwrap(),
            m
        );
        let from_a = Pairing::from_smaller_side_partners(2, 3, vec![2, 2]).unwrap();
        assert_eq!(from_a.smaller_side_partners(2, 3), Some(vec![2, 2]));
        assert!(Pairing::from_smaller_side_partners(2, 3, vec![0]).is_err());
        assert!(Pairing::from_smaller_side_partners(2, 3, vec![0, 3]).is_err());
    }

    #[test]
    fn assignment_counts_targets_hit_more_than_once() {
        let a = Assignment::new(4, vec![0, 0, 1, 1, 1, 3]).unwrap();
        assert_eq!(a.targets_hit_more_than_once(), 2);
        assert!(Assignment::new(2, vec![2]).is_err());
        assert_eq!(
            Assignment::new(3, vec![2, 0, 1]).unwrap().to_matching(),
            Some(Matching::new(vec![2, 0, 1]).unwrap())
        );
    }
}
