//! Every solver at 256…4096 points on the benchmark cloud sets; the device is in the name.
//! Sinkhorn stops at 2048 (about a minute a pair beyond). Run: `cargo bench -p deepemd-benches`.

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use deepemd_core::{Cost, EmdEstimator, EmdRequest};
use deepemd_eval::clouds::CloudSet;
use deepemd_solvers::{Exact, Hungarian, Sinkhorn};

// The allocator of the `deepemd` binaries, so bench times match theirs (candle's CPU ops allocate
// and free large buffers at every step; with glibc's allocator the model bench at 1024 points
// measured 1.7× slower).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn solvers(c: &mut Criterion) {
    let methods: Vec<(Box<dyn EmdEstimator>, usize)> = vec![
        (Box::new(Hungarian), 4096),
        (Box::new(Exact::default()), 4096),
        (Box::new(Sinkhorn::default()), 2048),
    ];
    for set in CloudSet::all(None) {
        let mut group = c.benchmark_group(format!("cpu_{}", set.name().replace(' ', "_")));
        group.sample_size(10);
        for n in [256, 1024, 2048, 4096] {
            let (a, b) = set.pair(n, 2026).expect("synthetic sets need no files");
            for (method, max_n) in &methods {
                if n > *max_n {
                    continue;
                }
                group.bench_with_input(BenchmarkId::new(method.name(), n), &n, |bench, _| {
                    bench.iter(|| {
                        method
                            .estimate(&a, &b, EmdRequest::new(Cost::Euclidean))
                            .unwrap()
                    })
                });
            }
        }
        group.finish();
    }
}

criterion_group!(benches, solvers);
criterion_main!(benches);
