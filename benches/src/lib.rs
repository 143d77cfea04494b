//! Criterion benches live in `benches/`; run them with `cargo bench -p deepemd-benches`
//! (`--features cuda` adds the GPU). This library holds what they share: the devices to run on,
//! as in candle's benchmarks — every bench runs once per device, with the device in its name and
//! the device synchronized inside the timed closure.

use candle_core::{Device, Result};

/// A device as the benches use it.
pub trait BenchDevice {
    /// Waits for the device's queued work, so a timing includes it.
    fn sync(&self) -> Result<()>;
    /// `cpu_<name>` or `cuda_<name>`.
    fn bench_name(&self, name: &str) -> String;
}

impl BenchDevice for Device {
    fn sync(&self) -> Result<()> {
        self.synchronize()
    }

    fn bench_name(&self, name: &str) -> String {
        let prefix = match self {
            Device::Cpu => "cpu",
            Device::Cuda(_) => "cuda",
            Device::Metal(_) => "metal",
        };
        format!("{prefix}_{name}")
    }
}

/// The devices this build can bench on: the CPU, and CUDA GPU 0 in a `cuda` build where one
/// is present.
pub fn bench_devices() -> Vec<Device> {
    let mut devices = vec![Device::Cpu];
    if cfg!(feature = "cuda")
        && let Ok(d) = Device::new_cuda(0)
    {
        devices.push(d);
    }
    devices
}
