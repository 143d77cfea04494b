//! Choosing a device by name, with an error that says how to get CUDA when it is missing.

use candle_core::Device;

use crate::error::{Error, Result};

/// `"cpu"` or `"cuda"` (GPU 0). On a build without the `cuda` feature, `"cuda"` is an error that
/// says how to rebuild.
pub fn device_from_name(name: &str) -> Result<Device> {
    match name {
        "cpu" => Ok(Device::Cpu),
        "cuda" if cfg!(feature = "cuda") => Device::new_cuda(0)
            .map_err(|e| Error::Device(format!("cannot open CUDA device 0: {e}"))),
        "cuda" => Err(Error::Device(
            "this build has no CUDA support; rebuild with `cargo build --release -p deepemd-cli \
             --features cuda` \
             (needs the CUDA toolkit: nvcc on PATH and the cuBLAS libraries, from your \
             distribution or NVIDIA)"
                .into(),
        )),
        other => Err(Error::Device(format!(
            "unknown device '{other}' (expected cpu or cuda)"
        ))),
    }
}
