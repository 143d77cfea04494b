//! Table 1: every method's accuracy at the training size, per split and per pair type.

use std::path::{Path, PathBuf};

use anyhow::Result;
use deepemd_data::hdf5::load_modelnet40;
use deepemd_data::pairs::{LabeledPair, PairMix, generate_labeled_pairs};
use deepemd_eval::methods::{Estimate, chamfer_estimates, model_estimates, sinkhorn_estimates};
use deepemd_eval::stats::{MethodStats, method_stats};
use deepemd_methods::MethodSpec;
use deepemd_model::{DeepEmd, Rounding};
use deepemd_solvers::Exact;

use crate::{TRAIN_POINTS, bar};

/// One split of Table 1.
pub struct SplitSpec {
    pub name: String,
    pub dir: PathBuf,
    pub split: String,
    /// `(n_a, n_b)`: the training size, or an unbalanced pair of sizes.
    pub sizes: (usize, usize),
}

/// The splits that are prepared under `data`, and a note when the real shapes fall back to the
/// committed fixture.
pub fn splits(data: &Path) -> (Vec<SplitSpec>, Option<String>) {
    let mut note = None;
    let cgal = if data.join("cgal/test_files.txt").exists() {
        data.join("cgal")
    } else {
        note = Some(format!(
            "{} was not prepared; the real-shape splits use the committed fixture \
             datasets/fixtures/cgal-mini (one 1024-point sample per mesh)",
            data.join("cgal").display()
        ));
        PathBuf::from("datasets/fixtures/cgal-mini")
    };
    let balanced = (TRAIN_POINTS, TRAIN_POINTS);
    let mut out = vec![
        SplitSpec {
            name: "held-out meshes".into(),
            dir: cgal.clone(),
            split: "test".into(),
            sizes: balanced,
        },
        SplitSpec {
            name: "held-out categories".into(),
            dir: cgal.clone(),
            split: "heldout".into(),
            sizes: balanced,
        },
        SplitSpec {
            name: format!("held-out meshes, {TRAIN_POINTS} vs {}", 4 * TRAIN_POINTS),
            dir: cgal,
            split: "test".into(),
            sizes: (TRAIN_POINTS, 4 * TRAIN_POINTS),
        },
    ];
    for (name, sub) in [
        ("synthetic 2-D", "synthetic2d"),
        ("synthetic 3-D", "synthetic3d"),
        ("ModelNet40", "modelnet40"),
        ("ShapeNet part", "shapenet"),
    ] {
        if data.join(sub).join("test_files.txt").exists() {
            out.push(SplitSpec {
                name: name.into(),
                dir: data.join(sub),
                split: "test".into(),
                sizes: balanced,
            });
        }
    }
    (out, note)
}

/// What a row of Table 1 evaluates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Table1Method {
    /// The model with a rounding.
    Model(Rounding),
    /// Sinkhorn's plan cost ⟨P, C⟩ and plan gradient.
    SinkhornPlan,
    /// The Chamfer distance, scaled to the EMD.
    Chamfer,
}

impl Table1Method {
    /// Every method of Table 1, in its row order.
    pub const ALL: [Table1Method; 5] = [
        Table1Method::Model(Rounding::RowArgmax),
        Table1Method::Model(Rounding::SinkhornGreedy { iterations: 10 }),
        Table1Method::Model(Rounding::REFINED),
        Table1Method::SinkhornPlan,
        Table1Method::Chamfer,
    ];

    /// Its name in the tables and figures (a method's own name where it is one).
    pub fn label(&self) -> String {
        match self {
            Table1Method::Model(r) => MethodSpec::model(*r).to_string(),
            Table1Method::SinkhornPlan => "sinkhorn ⟨P,C⟩".into(),
            Table1Method::Chamfer => "chamfer (scaled)".into(),
        }
    }
}

/// One method's estimates on a split's pairs.
pub struct MethodEstimates {
    pub method: Table1Method,
    pub estimates: Vec<Estimate>,
}

/// One row of Table 1.
pub struct Table1Row {
    pub split: String,
    pub method: Table1Method,
    pub stats: MethodStats,
}

/// A split's pairs and every method's estimates on them (the figures are drawn from the first
/// split's).
pub struct SplitResults {
    pub pairs: Vec<LabeledPair>,
    pub methods: Vec<MethodEstimates>,
}

impl SplitResults {
    /// The estimates of `method`.
    pub fn of(&self, method: Table1Method) -> &[Estimate] {
        self.methods
            .iter()
            .find(|m| m.method == method)
            .map(|m| m.estimates.as_slice())
            .expect("every Table 1 method is estimated")
    }
}

/// Runs Table 1: every split, every method. Returns the rows and the first split's results.
pub fn table1(
    model: &DeepEmd,
    specs: &[SplitSpec],
    count: usize,
    seed: u64,
) -> Result<(Vec<Table1Row>, SplitResults)> {
    let mut rows = Vec::new();
    let mut first: Option<SplitResults> = None;
    for (k, spec) in specs.iter().enumerate() {
        let pool = load_modelnet40(&spec.dir, &spec.split)?.shapes;
        let b = bar(count * 2, &format!("Table 1: {}", spec.name));
        // Mixed pair kinds as in training, so every kind is represented.
        let pairs = generate_labeled_pairs(
            &pool,
            spec.sizes,
            PairMix::default(),
            seed,
            1000 + k as u64,
            count,
            &Exact::default(),
        )?;
        b.inc(count as u64 / 2);
        let roundings: Vec<Rounding> = Table1Method::ALL
            .iter()
            .filter_map(|m| match m {
                Table1Method::Model(r) => Some(*r),
                _ => None,
            })
            .collect();
        let by_rounding = model_estimates(model, &pairs, &roundings, &|_| {})?;
        b.inc(count as u64 / 2);
        let mut methods: Vec<MethodEstimates> = roundings
            .iter()
            .zip(by_rounding)
            .map(|(&r, estimates)| MethodEstimates {
                method: Table1Method::Model(r),
                estimates,
            })
            .collect();
        // Sinkhorn's plan is one of equal masses: no row for unbalanced pairs.
        if spec.sizes.0 == spec.sizes.1 {
            methods.push(MethodEstimates {
                method: Table1Method::SinkhornPlan,
                estimates: sinkhorn_estimates(&pairs, &|d| b.inc(d as u64))?,
            });
        }
        methods.push(MethodEstimates {
            method: Table1Method::Chamfer,
            estimates: chamfer_estimates(&pairs),
        });
        b.finish_and_clear();
        for m in &methods {
            rows.push(Table1Row {
                split: spec.name.clone(),
                method: m.method,
                stats: method_stats(&pairs, &m.estimates),
            });
        }
        eprintln!("Table 1: {} done ({} pairs)", spec.name, pairs.len());
        if first.is_none() {
            first = Some(SplitResults { pairs, methods });
        }
    }
    Ok((rows, first.expect("at least one split")))
}
