//! Table 2: the model tested over sizes, balanced (`n` vs `n`) and unbalanced (`n` vs `m`).

use std::path::Path;

use anyhow::Result;
use deepemd_data::datasets::{MeshDatasetOptions, read_manifest, sample_split};
use deepemd_data::hdf5::{ShapeFile, load_modelnet40};
use deepemd_data::pairs::{PairMix, generate_labeled_pairs};
use deepemd_eval::methods::model_estimates;
use deepemd_eval::stats::{MethodStats, method_stats};
use deepemd_model::{DeepEmd, Rounding};
use deepemd_solvers::Exact;

use crate::{RunArgs, bar};

/// One row of Table 2.
pub struct Table2Row {
    /// `(n_a, n_b)`.
    pub sizes: (usize, usize),
    pub pairs: usize,
    pub argmax: MethodStats,
    pub refined: MethodStats,
}

/// Runs Table 2 on the held-out meshes; sizes beyond the prepared shapes are sampled from the
/// meshes, or skipped with a note when there are none.
pub fn table2(
    args: &RunArgs,
    model: &DeepEmd,
    cgal: &Path,
    sizes: &[((usize, usize), usize)],
    notes: &mut Vec<String>,
) -> Result<Vec<Table2Row>> {
    let stored = load_modelnet40(cgal, "test")?.shapes;
    let mut rows = Vec::new();
    for &((n_a, n_b), count) in sizes {
        let n = n_a.max(n_b);
        let label = if n_a == n_b {
            format!("n = {n}")
        } else {
            format!("{n_a} vs {n_b}")
        };
        let pool: ShapeFile = if n <= stored.n_points {
            stored.clone()
        } else if let Some(meshes) = &args.meshes {
            let manifest = read_manifest(&args.manifest)?;
            let options = MeshDatasetOptions {
                points: n,
                samples_train: 1,
                samples_eval: 2,
                seed: args.seed,
            };
            sample_split(meshes, &manifest, "test", options)?
        } else {
            notes.push(format!(
                "{label} skipped: the prepared shapes have {} points and no --meshes was given",
                stored.n_points
            ));
            continue;
        };
        let b = bar(count, &format!("Table 2: {label}"));
        let pairs = generate_labeled_pairs(
            &pool,
            (n_a, n_b),
            PairMix::default(),
            args.seed,
            // The balanced rows keep the streams they always had.
            2000 + (n_a + if n_a == n_b { 0 } else { 1_000_000 * n_b }) as u64,
            count,
            &Exact::default(),
        )?;
        let est = model_estimates(
            model,
            &pairs,
            &[Rounding::RowArgmax, Rounding::REFINED],
            &|d| b.inc(d as u64),
        )?;
        b.finish_and_clear();
        eprintln!("Table 2: {label} done");
        rows.push(Table2Row {
            sizes: (n_a, n_b),
            pairs: pairs.len(),
            argmax: method_stats(&pairs, &est[0]),
            refined: method_stats(&pairs, &est[1]),
        });
    }
    Ok(rows)
}
