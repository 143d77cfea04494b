use deepemd_core::{Cost, EmdEstimator, EmdRequest};
use deepemd_eval::clouds::CloudSet;
use deepemd_solvers::{Exact, ExactParams, Hungarian};
fn main() {
    let args: Vec<f64> = std::env::args()
        .skip(1)
        .map(|s| s.parse().unwrap())
        .collect();
    let params = ExactParams {
        neighbours: args[0] as usize,
        auction_stop: args[1],
        ..Default::default()
    };
    let set = CloudSet::RealShapes {
        meshes: "datasets/cache/cgal/data/data/meshes".into(),
    };
    for n in [512usize, 1024, 2048, 4096] {
        let (a, b) = set.pair(n, 2026).unwrap();
        let t = std::time::Instant::now();
        let s = Exact::new(params.clone())
            .unwrap()
            .solve(&a, &b, EmdRequest::new(Cost::Euclidean))
            .unwrap();
        let te = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let h = if n <= 2048 {
            Hungarian
                .estimate(&a, &b, EmdRequest::new(Cost::Euclidean))
                .unwrap()
                .distance
        } else {
            f64::NAN
        };
        println!(
            "n={n} exact {te:.3}s hungarian {:.3}s diff {:.1e} {:?}",
            t.elapsed().as_secs_f64(),
            (h - s.emd.distance).abs() / h,
            s.stats
        );
    }
}
