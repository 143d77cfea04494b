use deepemd_core::synthetic::{jitter, sphere, uniform_cube};
use deepemd_core::{Cost, EmdEstimator, EmdRequest};
use deepemd_solvers::{Exact, ExactParams, Hungarian};
use rand::SeedableRng;
fn main() {
    let args: Vec<f64> = std::env::args()
        .skip(1)
        .map(|s| s.parse().unwrap())
        .collect();
    let params = ExactParams {
        neighbours: args[0] as usize,
        auction_stop: args[1],
        scaling: args[2],
        ..Default::default()
    };
    let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    for n in [1024usize, 4096, 8192, 16384] {
        if n > args[3] as usize {
            continue;
        }
        for kind in 0..2 {
            let (a, b) = if kind == 0 {
                (
                    sphere(n, 3, &mut r),
                    jitter(&sphere(n, 3, &mut r), 0.05, &mut r),
                )
            } else {
                (uniform_cube(n, 3, &mut r), uniform_cube(n, 3, &mut r))
            };
            let t = std::time::Instant::now();
            let s = Exact::new(params.clone())
                .unwrap()
                .solve(&a, &b, EmdRequest::new(Cost::Euclidean))
                .unwrap();
            let te = t.elapsed();
            let h = if n <= 4096 && args.len() < 5 {
                let t = std::time::Instant::now();
                let h = Hungarian
                    .estimate(&a, &b, EmdRequest::new(Cost::Euclidean))
                    .unwrap()
                    .distance;
                format!(
                    "{:.3}s diff {:.1e}",
                    t.elapsed().as_secs_f64(),
                    (h - s.emd.distance).abs() / h
                )
            } else {
                String::new()
            };
            println!(
                "{} {n}: exact {:.3}s {:?} | hungarian {h}",
                if kind == 0 { "sphere" } else { "cube" },
                te.as_secs_f64(),
                s.stats
            );
        }
    }
}
