use candle_core::Device;
use deepemd_core::{Cost, Emd, Pairing};
use deepemd_data::hdf5::load_modelnet40;
use deepemd_data::pairs::{PairKind, PairMix, generate_labeled_pairs};
use deepemd_model::{DeepEmd, DeepEmdModel, Rounding};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model = DeepEmdModel::load(args[1].as_ref(), &Device::Cpu).unwrap();
    let est = DeepEmd::new(model, Device::Cpu);
    let pool = load_modelnet40("datasets/generated/cgal".as_ref(), "test")
        .unwrap()
        .shapes;
    let pairs = generate_labeled_pairs(&pool, 128, PairMix::default(), 77, 5, 200).unwrap();
    for kind in PairKind::ALL {
        let sel: Vec<_> = pairs.iter().filter(|p| p.kind == kind).collect();
        let (mut acc, mut rel, mut nn) = (0.0, 0.0, 0.0);
        for p in &sel {
            let s = est.logits(&p.a, &p.b).unwrap();
            let pr = Rounding::RowArgmax
                .apply(&s, &p.a, &p.b, Cost::Euclidean)
                .unwrap();
            if let Pairing::Map(m) = &pr {
                acc += m
                    .targets()
                    .iter()
                    .zip(p.matching.targets())
                    .filter(|(x, y)| x == y)
                    .count() as f64
                    / 128.0;
            }
            // nearest-neighbour baseline accuracy
            let mut hit = 0;
            for i in 0..128 {
                let j = (0..128)
                    .min_by(|&x, &y| {
                        Cost::Euclidean
                            .between(p.a.point(i), p.b.point(x))
                            .total_cmp(&Cost::Euclidean.between(p.a.point(i), p.b.point(y)))
                    })
                    .unwrap();
                if j == p.matching.target(i) {
                    hit += 1;
                }
            }
            nn += hit as f64 / 128.0;
            rel += Emd::of_pairing(&p.a, &p.b, pr, Cost::Euclidean, false)
                .unwrap()
                .distance
                / p.emd
                - 1.0;
        }
        let k = sel.len() as f64;
        println!(
            "{:22} n={:3} row acc {:.3} (nearest neighbour {:.3}) mean rel err {:+.1}%",
            kind.name(),
            sel.len(),
            acc / k,
            nn / k,
            100.0 * rel / k
        );
    }
}
