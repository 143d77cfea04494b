//! Checks a set of weight tensors against what a configuration builds, before any of them is
//! used: a 4-layer file under a 2-layer config used to load silently (the extra tensors were
//! ignored) and gave wrong answers, and NaN weights resumed and were exported.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use candle_core::{DType, Device, Tensor};

use crate::config::ModelConfig;
use crate::error::{Error, Result};
use crate::model::DeepEmdModel;

/// The name and shape of every tensor a model of `config` has.
fn expected_tensors(config: &ModelConfig) -> Result<BTreeMap<String, Vec<usize>>> {
    let (_, varmap) = DeepEmdModel::fresh(config, &Device::Cpu)?;
    let data = varmap.data().lock().expect("the varmap is not shared yet");
    Ok(data
        .iter()
        .map(|(name, var)| (name.clone(), var.dims().to_vec()))
        .collect())
}

/// `Ok` when `tensors` holds exactly the tensors of a `config` model (no missing, no extra
/// name), each of the right shape, with only finite values; otherwise an error saying which
/// tensor is wrong and how (the caller adds the file's name).
pub fn check_weights(config: &ModelConfig, tensors: &HashMap<String, Tensor>) -> Result<()> {
    let expected = expected_tensors(config)?;
    let names: BTreeSet<&String> = tensors.keys().collect();
    let list = |v: Vec<&String>| {
        let shown: Vec<&str> = v.iter().take(4).map(|s| s.as_str()).collect();
        let more = v.len().saturating_sub(4);
        match more {
            0 => shown.join(", "),
            _ => format!("{} and {more} more", shown.join(", ")),
        }
    };
    let missing: Vec<&String> = expected.keys().filter(|k| !names.contains(k)).collect();
    if !missing.is_empty() {
        return Err(Error::Config(format!(
            "the weights lack tensors the config needs ({}): they were made for another config",
            list(missing)
        )));
    }
    let extra: Vec<&String> = names
        .iter()
        .copied()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    if !extra.is_empty() {
        return Err(Error::Config(format!(
            "the weights hold tensors the config does not use ({}): they were made for another \
             config (e.g. more layers)",
            list(extra)
        )));
    }
    for (name, shape) in &expected {
        let t = &tensors[name];
        if t.dims() != shape.as_slice() {
            return Err(Error::Config(format!(
                "tensor {name} has shape {:?}, the config needs {shape:?}",
                t.dims()
            )));
        }
        let values = t.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        if let Some(pos) = values.iter().position(|x| !x.is_finite()) {
            return Err(Error::Config(format!(
                "tensor {name} holds a non-finite value ({} at index {pos})",
                values[pos]
            )));
        }
    }
    Ok(())
}
