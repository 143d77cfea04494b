//! The model as an [`EmdEstimator`]: normalize the pair jointly, predict logits, round them to a
//! matching, and evaluate that matching's exact cost (and gradient) on the original clouds.

use candle_core::{Device, Tensor};
use deepemd_core::{
    Cost, Emd, EmdEstimator, EmdRequest, Error as CoreError, JointNormalization, Method, Pairing,
    PointCloud, Unequal, check_same_dim,
};

use crate::error::Result;
use crate::model::{DEFAULT_BLOCK_ROWS, DeepEmdModel};
use crate::rounding::Rounding;

/// Pairs (of one pair of sizes) per forward pass in the batched calls: enough to fill the
/// matmuls, small enough that 16 pairs of 2048 points fit in memory.
pub const MAX_BATCH: usize = 16;

/// The DeepEMD estimator.
///
/// The network was trained on optimal matchings for the Euclidean cost; for the squared cost
/// the same predicted matching is evaluated under that cost. Clouds of different sizes get a
/// matching of the smaller cloud into the larger (the `partial` convention of the exact
/// solvers: the mean cost over the smaller cloud's points).
#[derive(Clone, Debug)]
pub struct DeepEmd {
    model: DeepEmdModel,
    device: Device,
    rounding: Rounding,
    block_rows: usize,
    name: String,
}

impl DeepEmd {
    /// An estimator with [`Rounding::DEFAULT`] (the paper's row argmax).
    pub fn new(model: DeepEmdModel, device: Device) -> Self {
        Self {
            model,
            device,
            rounding: Rounding::DEFAULT,
            block_rows: DEFAULT_BLOCK_ROWS,
            name: format!("model/{}", Rounding::DEFAULT),
        }
    }

    /// The same estimator with another rounding; its name is `model/<rounding>`.
    pub fn with_rounding(mut self, rounding: Rounding) -> Self {
        self.rounding = rounding;
        self.name = format!("model/{rounding}");
        self
    }

    /// Query rows per attention block (smaller uses less memory).
    pub fn with_block_rows(mut self, rows: usize) -> Self {
        self.block_rows = rows.max(1);
        self
    }

    /// The network.
    pub fn model(&self) -> &DeepEmdModel {
        &self.model
    }

    /// The device it runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    fn check_pair(&self, a: &PointCloud, b: &PointCloud) -> Result<()> {
        check_same_dim(a, b)?;
        if a.dim() > self.model.config().point_dim {
            return Err(CoreError::InvalidInput(format!(
                "the model takes {}-D points, the clouds are {}-D",
                self.model.config().point_dim,
                a.dim()
            ))
            .into());
        }
        Ok(())
    }

    /// The logits of several pairs of one pair of sizes, each `n × m` row-major, in one forward
    /// pass.
    pub fn logits_batch(&self, pairs: &[(&PointCloud, &PointCloud)]) -> Result<Vec<Vec<f32>>> {
        let Some((ta, tb)) = self.batch_tensors(pairs)? else {
            return Ok(Vec::new());
        };
        let s = self.model.logits(&ta, &tb, false, self.block_rows)?;
        let s = s.to_device(&Device::Cpu)?;
        // One pair at a time out of the tensor: no second copy of the whole batch.
        (0..pairs.len())
            .map(|k| Ok(s.get(k)?.flatten_all()?.to_vec1::<f32>()?))
            .collect()
    }

    /// The row-argmax matchings (the argmax from the smaller cloud for `n ≠ m`) of several
    /// pairs of one pair of sizes in one forward pass, without storing their logits (see
    /// [`DeepEmdModel::smaller_side_argmax`]).
    pub fn row_argmax_batch(&self, pairs: &[(&PointCloud, &PointCloud)]) -> Result<Vec<Pairing>> {
        let Some((ta, tb)) = self.batch_tensors(pairs)? else {
            return Ok(Vec::new());
        };
        let (n, m) = (pairs[0].0.len(), pairs[0].1.len());
        self.model
            .smaller_side_argmax(&ta, &tb, self.block_rows)?
            .into_iter()
            .map(|partners| Ok(Pairing::from_smaller_side_partners(n, m, partners)?))
            .collect()
    }

    /// The pairs as the network's input tensors `[B, n, point_dim]` and `[B, m, point_dim]`
    /// (each pair normalized jointly), `None` for no pairs.
    fn batch_tensors(
        &self,
        pairs: &[(&PointCloud, &PointCloud)],
    ) -> Result<Option<(Tensor, Tensor)>> {
        let Some(&(first, _)) = pairs.first() else {
            return Ok(None);
        };
        // 2-D clouds go through a 3-D model in the z = 0 plane.
        let (n, m, dim) = (first.len(), pairs[0].1.len(), self.model.config().point_dim);
        let pad = |c: PointCloud| -> Vec<f32> {
            c.points()
                .flat_map(|p| (0..dim).map(move |d| p.get(d).copied().unwrap_or(0.0) as f32))
                .collect()
        };
        let mut xa = Vec::with_capacity(pairs.len() * n * dim);
        let mut xb = Vec::with_capacity(pairs.len() * m * dim);
        for (a, b) in pairs {
            self.check_pair(a, b)?;
            if (a.len(), b.len()) != (n, m) {
                return Err(CoreError::InvalidInput(
                    "a batch needs pairs of one pair of sizes".into(),
                )
                .into());
            }
            if a.dim() != first.dim() {
                return Err(
                    CoreError::InvalidInput("a batch needs pairs of one dimension".into()).into(),
                );
            }
            let norm = JointNormalization::fit(a, b)?;
            xa.extend(pad(norm.apply(a)?));
            xb.extend(pad(norm.apply(b)?));
        }
        let ta = Tensor::from_vec(xa, (pairs.len(), n, dim), &self.device)?;
        let tb = Tensor::from_vec(xb, (pairs.len(), m, dim), &self.device)?;
        Ok(Some((ta, tb)))
    }

    /// Each pair's matching by this estimator's rounding: by [`Self::row_argmax_batch`] for the
    /// row argmax (no logits stored), from the logits otherwise.
    fn pairings_batch(
        &self,
        pairs: &[(&PointCloud, &PointCloud)],
        cost: Cost,
    ) -> Result<Vec<Pairing>> {
        if self.rounding == Rounding::RowArgmax {
            return self.row_argmax_batch(pairs);
        }
        let logits = self.logits_batch(pairs)?;
        pairs
            .iter()
            .zip(&logits)
            .map(|(&(a, b), s)| Ok(self.rounding.apply(s, a, b, cost)?))
            .collect()
    }

    /// The logits of one pair, `n × m` row-major.
    pub fn logits(&self, a: &PointCloud, b: &PointCloud) -> Result<Vec<f32>> {
        Ok(self
            .logits_batch(&[(a, b)])?
            .pop()
            .expect("one pair in, one out"))
    }

    /// The matchings of several roundings from one forward pass.
    pub fn matchings(
        &self,
        a: &PointCloud,
        b: &PointCloud,
        roundings: &[Rounding],
        cost: Cost,
    ) -> Result<Vec<Pairing>> {
        let mut one = self.matchings_batch(&[(a, b)], roundings, cost, &|_| {})?;
        Ok(one.pop().expect("one pair in, one out"))
    }

    /// The matchings of every rounding for many pairs of one pair of sizes (`out[pair][rounding]`), the
    /// pairs going through the network [`MAX_BATCH`] at a time; `progress(k)` after each batch
    /// of `k` pairs.
    pub fn matchings_batch(
        &self,
        pairs: &[(&PointCloud, &PointCloud)],
        roundings: &[Rounding],
        cost: Cost,
        progress: &dyn Fn(usize),
    ) -> Result<Vec<Vec<Pairing>>> {
        let mut out = Vec::with_capacity(pairs.len());
        for chunk in pairs.chunks(MAX_BATCH) {
            let logits = self.logits_batch(chunk)?;
            for (&(a, b), s) in chunk.iter().zip(&logits) {
                let pairings = roundings
                    .iter()
                    .map(|r| r.apply(s, a, b, cost))
                    .collect::<deepemd_core::Result<Vec<_>>>()?;
                out.push(pairings);
            }
            progress(chunk.len());
        }
        Ok(out)
    }

    fn finish(
        &self,
        a: &PointCloud,
        b: &PointCloud,
        pairing: Pairing,
        request: EmdRequest,
    ) -> Result<Emd> {
        Ok(Emd::of_pairing(
            a,
            b,
            pairing,
            request.cost,
            request.gradient,
        )?)
    }
}

/// The network predicts matchings: for clouds of different sizes it estimates the partial
/// convention only, and says so rather than answer another question.
fn check_convention(
    a: &PointCloud,
    b: &PointCloud,
    request: EmdRequest,
) -> deepemd_core::Result<()> {
    if a.len() != b.len() && request.unequal == Unequal::Uniform {
        return Err(deepemd_core::Error::InvalidParameter(format!(
            "the model estimates the partial convention for clouds of different sizes ({} and \
             {} points), not the uniform one (the default): ask for the partial convention \
             (--unequal partial, unequal=\"partial\", Unequal::Partial), or use the {} or {} \
             method for the uniform one",
            a.len(),
            b.len(),
            Method::Exact,
            Method::Sinkhorn
        )));
    }
    Ok(())
}

impl EmdEstimator for DeepEmd {
    fn name(&self) -> &str {
        &self.name
    }

    fn is_exact(&self) -> bool {
        false
    }

    fn check_pair(
        &self,
        a: &PointCloud,
        b: &PointCloud,
        request: EmdRequest,
    ) -> deepemd_core::Result<()> {
        check_same_dim(a, b)?;
        check_convention(a, b, request)
    }

    fn estimate(
        &self,
        a: &PointCloud,
        b: &PointCloud,
        request: EmdRequest,
    ) -> deepemd_core::Result<Emd> {
        check_convention(a, b, request)?;
        let pairing = self
            .pairings_batch(&[(a, b)], request.cost)?
            .pop()
            .expect("one pair in, one out");
        Ok(self.finish(a, b, pairing, request)?)
    }

    /// Consecutive pairs of the same sizes go through the network together (up to 16 at once).
    fn estimate_batch(
        &self,
        pairs: &[(PointCloud, PointCloud)],
        request: EmdRequest,
    ) -> Vec<deepemd_core::Result<Emd>> {
        let mut out = Vec::with_capacity(pairs.len());
        let mut start = 0;
        while start < pairs.len() {
            let sizes = (pairs[start].0.len(), pairs[start].1.len());
            let mut end = start + 1;
            while end < pairs.len()
                && end - start < MAX_BATCH
                && (pairs[end].0.len(), pairs[end].1.len()) == sizes
            {
                end += 1;
            }
            let group: Vec<(&PointCloud, &PointCloud)> =
                pairs[start..end].iter().map(|(a, b)| (a, b)).collect();
            if let Err(e) = check_convention(group[0].0, group[0].1, request) {
                out.push(Err(e));
                start += 1;
                continue;
            }
            match self.pairings_batch(&group, request.cost) {
                Ok(all) => {
                    for ((a, b), pairing) in group.iter().zip(all) {
                        out.push(self.finish(a, b, pairing, request).map_err(Into::into));
                    }
                }
                Err(_) => {
                    // Report each pair's own error (one bad pair must not hide the others).
                    for (a, b) in &group {
                        out.push(self.estimate(a, b, request));
                    }
                }
            }
            start = end;
        }
        out
    }
}
