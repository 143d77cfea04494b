//! [`EmdLoss`]: the EMD of each pair of a batch as a differentiable tensor.

use candle_core::{D, DType, Device, Tensor};
use deepemd_core::{Cost, Emd, EmdEstimator, EmdRequest, Gradient, Method, PointCloud, Unequal};
use deepemd_methods::{MethodSpec, ModelSource};

use crate::error::{Error, Result};

/// How the per-pair values of a batch are combined.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reduction {
    /// The mean over the batch (a scalar).
    #[default]
    Mean,
    /// The sum over the batch (a scalar).
    Sum,
    /// One value per pair (`[B]`).
    None,
}

/// The EMD between the clouds of two batches, as a loss: see the crate documentation.
pub struct EmdLoss {
    spec: MethodSpec,
    estimator: Box<dyn EmdEstimator>,
    cost: Cost,
    unequal: Unequal,
    reduction: Reduction,
}

impl std::fmt::Debug for EmdLoss {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmdLoss")
            .field("method", &self.spec.to_string())
            .field("cost", &self.cost)
            .field("unequal", &self.unequal)
            .field("reduction", &self.reduction)
            .finish()
    }
}

impl EmdLoss {
    /// The loss of a method (`Method::Exact`, or a `MethodSpec` such as `model/refined`), the
    /// model's weights being the built-in default model on the CPU. Euclidean cost, mean over
    /// the batch.
    pub fn new(method: impl Into<MethodSpec>) -> Result<Self> {
        Self::with_model(method, &ModelSource::Default)
    }

    /// The same with the model's weights and device from `model` (ignored by other methods).
    pub fn with_model(method: impl Into<MethodSpec>, model: &ModelSource) -> Result<Self> {
        let spec = method.into();
        Ok(Self {
            spec,
            estimator: spec.estimator(model)?,
            cost: Cost::Euclidean,
            unequal: Unequal::default(),
            reduction: Reduction::Mean,
        })
    }

    /// The ground cost (`Euclidean` by default).
    pub fn cost(mut self, cost: Cost) -> Self {
        self.cost = cost;
        self
    }

    /// What the loss is when `N ≠ M` ([`Unequal::Uniform`] by default: every point of both
    /// clouds gets a gradient; the model needs [`Unequal::Partial`]). See `docs/math.md`.
    pub fn unequal(mut self, unequal: Unequal) -> Self {
        self.unequal = unequal;
        self
    }

    /// How the batch is reduced (`Mean` by default).
    pub fn reduction(mut self, reduction: Reduction) -> Self {
        self.reduction = reduction;
        self
    }

    /// The method, as named everywhere.
    pub fn method(&self) -> MethodSpec {
        self.spec
    }

    /// The loss between `x` and `y`. Its backward pass gives each input the gradient of the
    /// method's value with its matching (or Sinkhorn's plan) held fixed; an input that is not a
    /// variable simply receives none.
    ///
    /// # Shapes
    /// `x`: `[B, N, D]`, `y`: `[B, M, D]`, D = 2 or 3, f32 or f64 → a scalar (`Mean`, `Sum`) or
    /// `[B]` (`None`), of `x`'s dtype, on `x`'s device.
    pub fn forward(&self, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        let (batch, n, dim) = dims(x, "x")?;
        let (batch_y, m, dim_y) = dims(y, "y")?;
        if batch != batch_y || dim != dim_y {
            return Err(Error::Shape(format!(
                "x is {:?} and y is {:?}: they need the same batch size and point dimension",
                x.dims(),
                y.dims()
            )));
        }
        if x.dtype() != y.dtype() {
            return Err(Error::Shape(format!(
                "x is {:?} and y is {:?}: they need the same dtype",
                x.dtype(),
                y.dtype()
            )));
        }
        let (xs, ys) = (clouds(x, n, dim)?, clouds(y, m, dim)?);
        let pairs: Vec<(PointCloud, PointCloud)> = xs.into_iter().zip(ys).collect();
        let request = EmdRequest::new(self.cost)
            .with_unequal(self.unequal)
            .with_gradient();
        let solved = self.estimator.estimate_batch(&pairs, request);
        let (mut values, mut gx, mut gy) = (Vec::new(), Vec::new(), Vec::new());
        for (pair, emd) in solved.into_iter().enumerate() {
            let (value, g) =
                self.value_and_gradient(emd.map_err(|source| Error::Pair { pair, source })?);
            values.push(value);
            gx.extend(g.a);
            gy.extend(g.b);
        }
        let device = x.device();
        let to_tensor = |v: Vec<f64>, shape: (usize, usize, usize)| -> Result<Tensor> {
            Ok(Tensor::from_vec(v, shape, &Device::Cpu)?
                .to_dtype(x.dtype())?
                .to_device(device)?)
        };
        let gx = to_tensor(gx, (batch, n, dim))?;
        let gy = to_tensor(gy, (batch, m, dim))?;
        let values = Tensor::from_vec(values, batch, &Device::Cpu)?
            .to_dtype(x.dtype())?
            .to_device(device)?;
        // value + ⟨x, g_x⟩ − ⟨x, g_x⟩ with the second term detached: the value unchanged (the
        // two terms are computed identically and cancel exactly), the gradient g_x.
        let inject = |t: &Tensor, g: &Tensor| -> Result<Tensor> {
            let live = (t * g)?.sum(D::Minus1)?.sum(D::Minus1)?;
            let fixed = (t.detach() * g)?.sum(D::Minus1)?.sum(D::Minus1)?;
            Ok((live - fixed)?)
        };
        let per_pair = ((values + inject(x, &gx)?)? + inject(y, &gy)?)?;
        Ok(match self.reduction {
            Reduction::Mean => per_pair.mean_all()?,
            Reduction::Sum => per_pair.sum_all()?,
            Reduction::None => per_pair,
        })
    }

    /// The value a method is trained on and its gradient: Sinkhorn's plan cost ⟨P, C⟩, every
    /// other method's matching cost.
    fn value_and_gradient(&self, emd: Emd) -> (f64, Gradient) {
        match (self.spec.method(), emd.transport) {
            (Method::Sinkhorn, Some(t)) => {
                (t.value, t.gradient.expect("the gradient was requested"))
            }
            _ => (
                emd.distance,
                emd.gradient.expect("the gradient was requested"),
            ),
        }
    }
}

fn dims(t: &Tensor, name: &str) -> Result<(usize, usize, usize)> {
    let (b, n, d) = t.dims3().map_err(|_| {
        Error::Shape(format!(
            "{name} is {:?}: expected [batch, points, 2 or 3]",
            t.dims()
        ))
    })?;
    if b == 0 || n == 0 || !(2..=3).contains(&d) {
        return Err(Error::Shape(format!(
            "{name} is {:?}: expected [batch ≥ 1, points ≥ 1, 2 or 3]",
            t.dims()
        )));
    }
    Ok((b, n, d))
}

/// The batch as clouds on the CPU, in f64 (non-finite coordinates are errors naming the pair).
fn clouds(t: &Tensor, n: usize, dim: usize) -> Result<Vec<PointCloud>> {
    let values = t
        .detach()
        .to_device(&Device::Cpu)?
        .to_dtype(DType::F64)?
        .flatten_all()?
        .to_vec1::<f64>()?;
    values
        .chunks(n * dim)
        .enumerate()
        .map(|(pair, c)| {
            PointCloud::from_flat(dim, c.to_vec()).map_err(|source| Error::Pair { pair, source })
        })
        .collect()
}
