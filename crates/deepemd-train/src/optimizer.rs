//! AdamW whose state (moments and step count) can be saved and restored, so `--resume`
//! continues exactly where the run stopped. candle-nn's `AdamW` keeps its state private.

use std::collections::HashMap;
use std::path::Path;

use candle_core::backprop::GradStore;
use candle_core::{Tensor, Var};
use candle_nn::VarMap;

use crate::error::{Error, Result};

/// One parameter and its moments.
#[derive(Debug)]
struct Slot {
    name: String,
    var: Var,
    m: Tensor,
    v: Tensor,
    decay: bool,
}

/// AdamW (Loshchilov & Hutter 2019) with decoupled weight decay on matrices only.
#[derive(Debug)]
pub struct AdamW {
    slots: Vec<Slot>,
    step: usize,
    beta1: f64,
    beta2: f64,
    eps: f64,
    weight_decay: f64,
}

impl AdamW {
    /// Moments start at zero; parameters are taken in name order so the state is reproducible.
    pub fn new(varmap: &VarMap, weight_decay: f64) -> Result<Self> {
        let data = varmap
            .data()
            .lock()
            .expect("the var map lock is not poisoned");
        let mut named: Vec<(String, Var)> =
            data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        drop(data);
        named.sort_by(|x, y| x.0.cmp(&y.0));
        let slots = named
            .into_iter()
            .map(|(name, var)| {
                let m = var.zeros_like()?;
                let v = var.zeros_like()?;
                let decay = var.rank() >= 2 && name.ends_with("weight");
                Ok(Slot {
                    name,
                    var,
                    m,
                    v,
                    decay,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            slots,
            step: 0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay,
        })
    }

    /// Steps taken so far.
    pub fn steps_taken(&self) -> usize {
        self.step
    }

    /// The global L2 norm of the gradients.
    pub fn grad_norm(&self, grads: &GradStore) -> Result<f64> {
        let mut total = 0.0;
        for s in &self.slots {
            if let Some(g) = grads.get(&s.var) {
                total += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
            }
        }
        Ok(total.sqrt())
    }

    /// One update at learning rate `lr`, gradients scaled by `scale` (for clipping).
    pub fn step(&mut self, grads: &GradStore, lr: f64, scale: f64) -> Result<()> {
        self.step += 1;
        let t = self.step as i32;
        let (c1, c2) = (
            1.0 / (1.0 - self.beta1.powi(t)),
            1.0 / (1.0 - self.beta2.powi(t)),
        );
        for s in &mut self.slots {
            let Some(g) = grads.get(&s.var) else { continue };
            let g = (g * scale)?;
            s.m = ((&s.m * self.beta1)? + (&g * (1.0 - self.beta1))?)?;
            s.v = ((&s.v * self.beta2)? + (g.sqr()? * (1.0 - self.beta2))?)?;
            let update = ((&s.m * c1)? / ((&s.v * c2)?.sqrt()? + self.eps)?)?;
            let mut theta = s.var.as_tensor().clone();
            if s.decay {
                theta = (theta * (1.0 - lr * self.weight_decay))?;
            }
            s.var.set(&(theta - (update * lr)?)?)?;
        }
        Ok(())
    }

    /// Saves the moments (`m.NAME`, `v.NAME`) and the step count (`step`) as safetensors.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut tensors: HashMap<String, Tensor> = HashMap::new();
        for s in &self.slots {
            tensors.insert(format!("m.{}", s.name), s.m.clone());
            tensors.insert(format!("v.{}", s.name), s.v.clone());
        }
        let device = self
            .slots
            .first()
            .map(|s| s.var.device().clone())
            .unwrap_or(candle_core::Device::Cpu);
        tensors.insert("step".into(), Tensor::new(&[self.step as u32], &device)?);
        candle_core::safetensors::save(&tensors, path)?;
        Ok(())
    }

    /// Restores what [`AdamW::save`] wrote; every parameter must be present with its shape.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let fail = |m: String| Error::Checkpoint {
            path: path.into(),
            message: m,
        };
        let device = self
            .slots
            .first()
            .map(|s| s.var.device().clone())
            .unwrap_or(candle_core::Device::Cpu);
        let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        let mut tensors = candle_core::safetensors::load_buffer(&bytes, &device)
            .map_err(|e| fail(format!("unreadable optimizer state ({e})")))?;
        for s in &mut self.slots {
            for (prefix, slot) in [("m", &mut s.m), ("v", &mut s.v)] {
                let key = format!("{prefix}.{}", s.name);
                let t = tensors
                    .remove(&key)
                    .ok_or_else(|| fail(format!("no '{key}' in the optimizer state")))?;
                if t.shape() != s.var.shape() {
                    return Err(fail(format!(
                        "'{key}' has shape {:?}, the model {:?}",
                        t.shape(),
                        s.var.shape()
                    )));
                }
                *slot = t;
            }
        }
        let step = tensors
            .remove("step")
            .ok_or_else(|| fail("no 'step' in the optimizer state".into()))?;
        self.step = step.to_vec1::<u32>()?[0] as usize;
        Ok(())
    }
}
