//! The EMD of a matching, its gradient, and the one result type every estimator returns.

use crate::cost::Cost;
use crate::error::{Error, Result};
use crate::frame::check_representable;
use crate::matching::Pairing;
use crate::point_cloud::{PointCloud, check_same_dim};

/// Gradient of the EMD of a fixed matching with respect to every coordinate of both clouds,
/// row-major like [`PointCloud::as_flat`].
#[derive(Clone, Debug, PartialEq)]
pub struct Gradient {
    /// `∂EMD/∂a`, `n_a × dim` values.
    pub a: Vec<f64>,
    /// `∂EMD/∂b`, `n_b × dim` values.
    pub b: Vec<f64>,
}

impl Gradient {
    /// Both parts concatenated (`a` then `b`), e.g. for a cosine similarity.
    pub fn concatenated(&self) -> Vec<f64> {
        self.a.iter().chain(&self.b).copied().collect()
    }
}

/// The linear cost `⟨P, C⟩` of a fractional transport plan `P` (mass 1 in all), for methods
/// that produce one (Sinkhorn); as POT keeps `value_linear` apart from the matching's value.
#[derive(Clone, Debug, PartialEq)]
pub struct TransportCost {
    /// `⟨P, C⟩`.
    pub value: f64,
    /// `∂⟨P, C⟩/∂(a, b)` with the plan held fixed (the envelope theorem), if requested.
    pub gradient: Option<Gradient>,
}

/// The result of an EMD computation: the distance, the matching that attains it and, when
/// asked, the gradient of that matching's cost. A method that also computes a fractional plan
/// reports its cost in `transport`, never in `distance`.
#[derive(Clone, Debug, PartialEq)]
pub struct Emd {
    /// The mean cost over the pairs of `pairing`, or a plan's mass-weighted cost (see
    /// `docs/math.md`).
    pub distance: f64,
    /// The ground cost used.
    pub cost: Cost,
    /// The matching whose mean cost is `distance`.
    pub pairing: Pairing,
    /// The gradient of `distance` for the matching held fixed, if requested.
    pub gradient: Option<Gradient>,
    /// The cost of the method's fractional plan, for methods that compute one.
    pub transport: Option<TransportCost>,
    /// For a method that certifies its result (`exact`): primal − dual of its optimality
    /// certificate in the EMD's units (≥ 0), so `distance` is at most this far above the
    /// optimum. `None` for the others.
    pub certificate_gap: Option<f64>,
}

impl Emd {
    /// Evaluates a matching: the mean cost of its pairs and, if `with_gradient`, the gradient.
    ///
    /// For a bijection `σ`: `EMD = (1/n) Σ_i c(a_i, b_σ(i))` and, for the Euclidean cost,
    /// `∂/∂a_i = (a_i − b_σ(i)) / (n ‖a_i − b_σ(i)‖)` (zero for coincident points); the mirror
    /// for `b`. A partial matching or a map divides by its number of pairs; a transport plan
    /// weighs each pair by the mass it moves.
    ///
    /// ```
    /// use deepemd_core::{Cost, Emd, Matching, Pairing, PointCloud};
    /// let a = PointCloud::from_points(&[[0.0, 0.0], [1.0, 0.0]]).unwrap();
    /// let b = PointCloud::from_points(&[[1.0, 1.0], [0.0, 1.0]]).unwrap();
    /// let m = Pairing::Bijection(Matching::new(vec![1, 0]).unwrap());
    /// let emd = Emd::of_pairing(&a, &b, m, Cost::Euclidean, true).unwrap();
    /// assert_eq!(emd.distance, 1.0);
    /// assert_eq!(emd.gradient.unwrap().a, vec![0.0, -0.5, 0.0, -0.5]);
    /// ```
    pub fn of_pairing(
        a: &PointCloud,
        b: &PointCloud,
        pairing: Pairing,
        cost: Cost,
        with_gradient: bool,
    ) -> Result<Self> {
        check_same_dim(a, b)?;
        check_pairing_fits(a, b, &pairing)?;
        if pairing.is_empty() {
            return Err(Error::InvalidMatching("a matching with no pairs".into()));
        }
        // Matchings sum their costs and divide once (rounding as a plain mean does); plans
        // weigh each cost by the mass it moves.
        let uniform_weight = match &pairing {
            Pairing::Plan(_) => None,
            _ => Some(1.0 / pairing.len() as f64),
        };
        let mut sum = 0.0;
        let mut distinct = false;
        for (i, j, w) in pairing.weighted_pairs() {
            let (p, q) = (a.point(i), b.point(j));
            distinct |= p != q;
            let c = cost.between(p, q);
            sum += if uniform_weight.is_some() { c } else { c * w };
        }
        let mut distance = uniform_weight.map_or(sum, |w| sum * w);
        if distance.is_infinite() {
            // The sum of costs near f64::MAX overflows where their mean does not.
            distance = pairing
                .weighted_pairs()
                .map(|(i, j, w)| cost.between(a.point(i), b.point(j)) * w)
                .sum();
        }
        let distance = check_representable(&format!("the {cost} EMD"), distinct, distance)?;
        let gradient = match with_gradient {
            true => {
                let g = pairing_gradient(a, b, &pairing, cost);
                if g.a.iter().chain(&g.b).any(|x| !x.is_finite()) {
                    return Err(Error::NotRepresentable(format!(
                        "the gradient of the {cost} EMD overflows f64 (the clouds are too large; \
                         rescale them)"
                    )));
                }
                Some(g)
            }
            false => None,
        };
        Ok(Self {
            distance,
            cost,
            pairing,
            gradient,
            transport: None,
            certificate_gap: None,
        })
    }
}

fn check_pairing_fits(a: &PointCloud, b: &PointCloud, pairing: &Pairing) -> Result<()> {
    let (n_a, n_b) = (a.len(), b.len());
    if pairing.fits(n_a, n_b) {
        Ok(())
    } else {
        Err(Error::InvalidMatching(format!(
            "a {} of {} pairs does not fit clouds of {n_a} and {n_b} points",
            pairing.kind(),
            pairing.len()
        )))
    }
}

fn pairing_gradient(a: &PointCloud, b: &PointCloud, pairing: &Pairing, cost: Cost) -> Gradient {
    let dim = a.dim();
    let mut ga = vec![0.0; a.as_flat().len()];
    let mut gb = vec![0.0; b.as_flat().len()];
    let mut g = vec![0.0; dim];
    for (i, j, weight) in pairing.weighted_pairs() {
        g.iter_mut().for_each(|x| *x = 0.0);
        cost.add_gradient_wrt_a(a.point(i), b.point(j), weight, &mut g);
        for d in 0..dim {
            ga[i * dim + d] += g[d];
            gb[j * dim + d] -= g[d];
        }
    }
    Gradient { a: ga, b: gb }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matching::{Assignment, Matching, PartialMatching};

    #[test]
    fn map_gradient_accumulates_on_shared_targets() {
        let a = PointCloud::from_points(&[[0.0, 0.0], [2.0, 0.0]]).unwrap();
        let b = PointCloud::from_points(&[[1.0, 0.0], [5.0, 5.0]]).unwrap();
        let map = Pairing::Map(Assignment::new(2, vec![0, 0]).unwrap());
        let emd = Emd::of_pairing(&a, &b, map, Cost::Euclidean, true).unwrap();
        assert_eq!(emd.distance, 1.0);
        let g = emd.gradient.unwrap();
        // The two pulls on b_0 cancel.
        assert_eq!(g.b, vec![0.0, 0.0, 0.0, 0.0]);
        assert_eq!(g.a, vec![-0.5, 0.0, 0.5, 0.0]);
    }

    #[test]
    fn partial_matching_divides_by_its_pairs() {
        let a = PointCloud::from_points(&[[0.0, 0.0]]).unwrap();
        let b = PointCloud::from_points(&[[3.0, 4.0], [9.0, 9.0]]).unwrap();
        let p = Pairing::Partial(PartialMatching::new(1, 2, vec![(0, 0)]).unwrap());
        let emd = Emd::of_pairing(&a, &b, p, Cost::SqEuclidean, false).unwrap();
        assert_eq!(emd.distance, 25.0);
    }

    #[test]
    fn values_outside_f64s_range_are_errors_not_zero_or_infinity() {
        let pair = |s: f64| {
            let a = PointCloud::from_points(&[[0.0, 0.0], [s, 0.0]]).unwrap();
            let b = PointCloud::from_points(&[[0.0, s], [s, s]]).unwrap();
            (a, b)
        };
        let id = || Pairing::Bijection(Matching::identity(2));
        // Distinct clouds 1e-200 apart: the Euclidean EMD is 1e-200, the squared one underflows.
        let (a, b) = pair(1e-200);
        let e = Emd::of_pairing(&a, &b, id(), Cost::Euclidean, true).unwrap();
        assert!((e.distance / 1e-200 - 1.0).abs() < 1e-15);
        assert!(Emd::of_pairing(&a, &b, id(), Cost::SqEuclidean, false).is_err());
        // 1e200: the Euclidean EMD is fine, the squared one overflows.
        let (a, b) = pair(1e200);
        let e = Emd::of_pairing(&a, &b, id(), Cost::Euclidean, true).unwrap();
        assert!((e.distance / 1e200 - 1.0).abs() < 1e-15);
        assert!(Emd::of_pairing(&a, &b, id(), Cost::SqEuclidean, true).is_err());
        // Mean of costs near f64::MAX: the sum overflows, the mean does not.
        let (a, b) = pair(1.5e308);
        let e = Emd::of_pairing(&a, &b, id(), Cost::Euclidean, false).unwrap();
        assert!((e.distance / 1.5e308 - 1.0).abs() < 1e-15);
        // Identical clouds at any scale: exactly 0, no error.
        let (a, _) = pair(1e-300);
        let e = Emd::of_pairing(&a, &a, id(), Cost::SqEuclidean, true).unwrap();
        assert_eq!(e.distance, 0.0);
    }

    #[test]
    fn a_matching_of_the_wrong_size_is_rejected() {
        let a = PointCloud::from_points(&[[0.0, 0.0], [1.0, 1.0]]).unwrap();
        let m = Pairing::Bijection(Matching::identity(3));
        assert!(Emd::of_pairing(&a, &a, m, Cost::Euclidean, false).is_err());
        // A map from B must have one target in A per point of B.
        let b = PointCloud::from_points(&[[0.0, 1.0]]).unwrap();
        let fits = Pairing::MapFromB(Assignment::new(2, vec![1]).unwrap());
        assert!(Emd::of_pairing(&a, &b, fits.clone(), Cost::Euclidean, true).is_ok());
        assert!(Emd::of_pairing(&b, &a, fits, Cost::Euclidean, false).is_err());
    }
}
