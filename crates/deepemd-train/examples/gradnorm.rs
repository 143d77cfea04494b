use candle_core::Device;
use deepemd_data::hdf5::load_modelnet40;
use deepemd_data::pairs::{PairMix, generate_labeled_pairs};
use deepemd_model::{DeepEmdModel, ModelConfig};
use deepemd_train::{AdamW, matching_loss, to_batch};
fn main() {
    let dev = Device::Cpu;
    let (model, mut vm) = DeepEmdModel::fresh(&ModelConfig::default(), &dev).unwrap();
    vm.load(std::env::args().nth(1).unwrap()).unwrap();
    let opt = AdamW::new(&vm, 0.01).unwrap();
    let pool = load_modelnet40("datasets/generated/cgal".as_ref(), "train")
        .unwrap()
        .shapes;
    for s in 0..3 {
        let pairs = generate_labeled_pairs(&pool, 128, PairMix::default(), 9, s, 16).unwrap();
        let b = to_batch(&pairs, &dev).unwrap();
        let logits = model.logits(&b.a, &b.b, true, usize::MAX).unwrap();
        let (loss, acc) = matching_loss(&logits, &b.target, &b.inverse).unwrap();
        let g = loss.backward().unwrap();
        let std = logits
            .flatten_all()
            .unwrap()
            .var(0)
            .unwrap()
            .sqrt()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        println!(
            "loss {} acc {} grad norm {:.3} logit std {:.2}",
            loss.to_scalar::<f32>().unwrap(),
            acc,
            opt.grad_norm(&g).unwrap(),
            std
        );
    }
    let data = vm.data().lock().unwrap();
    let mut names: Vec<_> = data.keys().cloned().collect();
    names.sort();
    for n in names {
        let t = data[&n].as_tensor();
        let norm = t
            .sqr()
            .unwrap()
            .sum_all()
            .unwrap()
            .sqrt()
            .unwrap()
            .to_scalar::<f32>()
            .unwrap();
        if n.contains("match") || n.contains("segment") || n.contains("embed") {
            println!("{n}: {:?} norm {norm:.3}", t.dims());
        }
    }
}
