//! The default model's estimate (forward pass, rounding, EMD of the matching) at 256…2048
//! points on the benchmark cloud sets, on every device of the build; the device is in the name.
//! Run: `cargo bench -p deepemd-benches --bench model` (`--features cuda` for the GPU).

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use deepemd_benches::{BenchDevice, bench_devices};
use deepemd_core::{Cost, EmdEstimator, EmdRequest};
use deepemd_eval::clouds::CloudSet;
use deepemd_model::{DeepEmd, Rounding, default_model};

// The allocator of the `deepemd` binaries, so bench times match theirs (candle's CPU ops allocate
// and free large buffers at every step; with glibc's allocator the model bench at 1024 points
// measured 1.7× slower).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn model(c: &mut Criterion) {
    for device in bench_devices() {
        let weights = default_model(&device).expect("the default model is embedded");
        let estimator = DeepEmd::new(weights, device.clone());
        for rounding in [Rounding::RowArgmax, Rounding::REFINED] {
            let estimator = estimator.clone().with_rounding(rounding);
            let mut group = c.benchmark_group(device.bench_name(&format!("model_{rounding}")));
            group.sample_size(10);
            for set in CloudSet::all(None) {
                for n in [256, 1024, 2048] {
                    let (a, b) = set.pair(n, 2026).expect("synthetic sets need no files");
                    let id = BenchmarkId::new(set.name().replace(' ', "_"), n);
                    group.bench_with_input(id, &n, |bench, _| {
                        bench.iter(|| {
                            let emd = estimator
                                .estimate(&a, &b, EmdRequest::new(Cost::Euclidean))
                                .unwrap();
                            device.sync().unwrap();
                            emd
                        })
                    });
                }
            }
            group.finish();
        }
    }
}

criterion_group!(benches, model);
criterion_main!(benches);
