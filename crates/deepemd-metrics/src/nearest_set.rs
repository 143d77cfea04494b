//! The pruned metrics kept on disk, query by query: what `deepemd gen-metrics --out DIR
//! [--shard I/N]` writes (with `--brute-force`, the distance set of `distance_set.rs` instead).
//!
//! A nearest set is a folder holding `nearest.json` (the [`NearestSetConfig`]) and one
//! `nearest-UUUUU.json` per unit: the answers to queries `U · queries_per_unit ..` of the metrics
//! (`nearest.rs`, [`Query::nth`]'s order) — for each, the position and distance of its nearest
//! candidate under the exact EMD (the pruned search) and under Chamfer — and the exact solves and
//! dual bounds the unit took, each with its receipt. A unit is computed from its own queries
//! alone, with a search of its own (empty caches), so it has the same bytes whichever run, shard
//! or machine made it; a shard owns the units `k` with `k mod N = I`. The metrics read from a
//! complete set equal the in-memory pruned (and brute-force) metrics; `exact_solves` counts every
//! solve of every unit (a pair two units need is solved by both).

use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use deepemd_core::PointCloud;
use deepemd_data::sharding::{
    JobId, Shard, ShardedOutput, UnitJob, check_unit_count, ensure_manifest, run_units,
};
use rayon::prelude::*;

use crate::chamfer::CloudTrees;
use crate::error::{Error, Result};
use crate::generation_metrics::{GenerationMetrics, Sizes, check_sets};
use crate::nearest::{
    Nearest, PrunedSearch, Query, Sketches, metrics_of_answers, nearest_of_all, query_count,
};
use crate::set_folder::{
    SetReport, check_described_sets, fingerprint, into_data, parse_manifest, verify_for_read,
};

/// The file name of a nearest set's manifest.
pub const NEAREST_MANIFEST: &str = "nearest.json";

/// Everything that determines a nearest set; saved as `nearest.json`. The two sets are
/// identified by their sizes and a hash of their coordinates, as a distance set's are.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NearestSetConfig {
    /// Reference clouds.
    pub n_reference: usize,
    /// Generated clouds.
    pub n_generated: usize,
    /// Points per cloud.
    pub points: usize,
    /// 2 or 3.
    pub dim: usize,
    /// SHA-256 of the reference clouds' coordinates (f64 little-endian, cloud after cloud).
    pub reference_sha256: String,
    /// SHA-256 of the generated clouds' coordinates.
    pub generated_sha256: String,
    /// Queries per unit file.
    pub queries_per_unit: usize,
}

/// One unit file: per query its nearest candidate by the EMD and by Chamfer, and the work.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct NearestUnit {
    emd: Vec<Nearest>,
    chamfer: Vec<Nearest>,
    exact_solves: usize,
    dual_bounds: usize,
}

impl NearestSetConfig {
    /// The set of `reference` against `generated` (checked as [`check_sets`] does, `names` in
    /// its errors), `queries_per_unit` queries to a unit file.
    pub fn new(
        reference: &[PointCloud],
        generated: &[PointCloud],
        names: (&str, &str),
        queries_per_unit: usize,
    ) -> Result<Self> {
        if queries_per_unit == 0 {
            return Err(Error::Config(
                "a unit file holds at least 1 query (--chunk-size)".into(),
            ));
        }
        let (points, dim) = check_sets(reference, generated, names)?;
        Ok(Self {
            n_reference: reference.len(),
            n_generated: generated.len(),
            points,
            dim,
            reference_sha256: fingerprint(reference),
            generated_sha256: fingerprint(generated),
            queries_per_unit,
        })
    }

    /// Reads a nearest set's manifest.
    pub fn read(manifest: &Path) -> Result<Self> {
        let text = deepemd_data::formats::read_text(manifest)?;
        let config: Self = parse_manifest(manifest, &text, "nearest-set")?;
        if config.queries_per_unit == 0 {
            return Err(Error::Data(deepemd_data::Error::format(
                manifest,
                "describes units of 0 queries: a unit holds at least 1",
            )));
        }
        let sizes = (
            config.n_reference,
            config.n_generated,
            config.points,
            config.dim,
        );
        check_described_sets(manifest, sizes)?;
        check_unit_count(manifest, config.units(), "unit files")?;
        Ok(config)
    }

    /// Queries in the set (per distance).
    pub fn queries(&self) -> usize {
        query_count(self.n_reference, self.n_generated)
    }

    /// Unit files in the set.
    pub fn units(&self) -> usize {
        self.queries().div_ceil(self.queries_per_unit)
    }

    /// The queries of unit `u`.
    pub fn unit_queries(&self, u: usize) -> Range<usize> {
        u * self.queries_per_unit..((u + 1) * self.queries_per_unit).min(self.queries())
    }

    /// File name of unit `u`.
    pub fn unit_name(u: usize) -> String {
        format!("nearest-{u:05}.json")
    }

    /// Reads unit `u` from `path`, checked: one answer per query and distance, each a candidate
    /// of its query's row at a finite distance.
    fn read_unit(&self, u: usize, path: &Path) -> Result<NearestUnit> {
        let fail = |m: String| Error::Data(deepemd_data::Error::format(path, m));
        let text = deepemd_data::formats::read_text(path)?;
        let unit: NearestUnit = serde_json::from_str(&text)
            .map_err(|e| fail(format!("not a unit of a nearest set ({e})")))?;
        let queries = self.unit_queries(u);
        if unit.emd.len() != queries.len() || unit.chamfer.len() != queries.len() {
            return Err(fail(format!(
                "holds {} and {} answers; unit {u} of this set has {} queries",
                unit.emd.len(),
                unit.chamfer.len(),
                queries.len()
            )));
        }
        let (nr, ng) = (self.n_reference, self.n_generated);
        for (k, t) in queries.enumerate() {
            let row = Query::nth(nr, ng, t).row(nr, ng);
            for a in [unit.emd[k], unit.chamfer[k]] {
                if row.get(a.position).is_none_or(Option::is_none) {
                    return Err(fail(format!(
                        "answer {k} names candidate {}, not one of its query's",
                        a.position
                    )));
                }
                if !(a.value.is_finite() && a.value >= 0.0) {
                    return Err(fail(format!("answer {k} holds a distance {}", a.value)));
                }
            }
        }
        Ok(unit)
    }
}

/// Computes (or completes) the nearest set of `reference` against `generated` under `out`;
/// with a `shard` other than [`Shard::WHOLE`], only the units it owns. `progress(done, total)`
/// counts this run's queries, skipped units included, from any thread.
/// `stop` interrupts it between items with [`Error::Interrupted`] (Ctrl-C): the units written
/// before it stand (with their receipts), the one in progress is not written, and a rerun
/// resumes.
pub fn compute_nearest_set(
    reference: &[PointCloud],
    generated: &[PointCloud],
    config: &NearestSetConfig,
    out: &Path,
    shard: Shard,
    progress: &(dyn Fn(usize, usize) + Sync),
    stop: &AtomicBool,
) -> Result<SetReport> {
    let start = Instant::now();
    let names = ("reference", "generated");
    if NearestSetConfig::new(reference, generated, names, config.queries_per_unit)? != *config {
        return Err(Error::Config(
            "the nearest-set settings describe other clouds than the ones given".into(),
        ));
    }
    deepemd_data::create_folder(out)?;
    let id = ensure_manifest(&out.join(NEAREST_MANIFEST), config, "nearest")?;
    let job = NearestJob {
        config,
        stop,
        reference,
        generated,
        sketches: Sketches::new(reference, generated),
        trees: CloudTrees::new(reference, generated),
    };
    let run = run_units(&job, out, &id, shard, progress)?;
    Ok(SetReport::of(run, start))
}

/// The nearest set as a job of unit files.
struct NearestJob<'a> {
    /// Set by a stop request: the unit in progress returns [`Error::Interrupted`].
    stop: &'a AtomicBool,
    config: &'a NearestSetConfig,
    reference: &'a [PointCloud],
    generated: &'a [PointCloud],
    sketches: Sketches,
    trees: CloudTrees,
}

impl UnitJob for NearestJob<'_> {
    type Error = Error;

    fn units(&self) -> usize {
        self.config.units()
    }

    fn unit_name(&self, u: usize) -> String {
        NearestSetConfig::unit_name(u)
    }

    fn unit_items(&self, u: usize) -> usize {
        self.config.unit_queries(u).len()
    }

    fn check(&self, u: usize, path: &Path) -> Result<()> {
        self.config.read_unit(u, path).map(drop)
    }

    fn make(&self, u: usize, path: &Path, tick: &(dyn Fn() + Sync)) -> Result<()> {
        let (nr, ng) = (self.config.n_reference, self.config.n_generated);
        // A search of the unit's own: its answers and its work depend on its queries alone.
        let search = PrunedSearch::new(self.reference, self.generated, &self.sketches, &self.trees);
        let answers: Vec<(Nearest, Nearest)> = self
            .config
            .unit_queries(u)
            .into_par_iter()
            .map(|t| {
                if self.stop.load(Ordering::Relaxed) {
                    return Err(Error::Interrupted);
                }
                let row = Query::nth(nr, ng, t).row(nr, ng);
                let emd = search.nearest(&row)?;
                let chamfer = nearest_of_all(&row, |job| self.trees.chamfer(job))?;
                tick();
                Ok((emd, chamfer))
            })
            .collect::<Result<_>>()?;
        let (emd, chamfer) = answers.into_iter().unzip();
        let unit = NearestUnit {
            emd,
            chamfer,
            exact_solves: search.exact_solves(),
            dual_bounds: search.dual_bounds(),
        };
        let json = serde_json::to_vec(&unit).expect("a unit serializes");
        Ok(deepemd_data::write_atomic(path, &json)?)
    }
}

/// The generation metrics of a complete nearest set. Every unit is verified against its
/// receipt first; a missing, damaged or foreign unit is an error that names it and says how to
/// complete the set. JSD is not known here (the set keeps no clouds).
pub fn nearest_set_metrics(out: &Path) -> Result<GenerationMetrics> {
    let start = Instant::now();
    let manifest = out.join(NEAREST_MANIFEST);
    let config = NearestSetConfig::read(&manifest)?;
    let id = JobId::of_manifest(&manifest)?;
    let (mut emd, mut chamfer) = (Vec::new(), Vec::new());
    let (mut solves, mut duals) = (0, 0);
    for u in 0..config.units() {
        let name = NearestSetConfig::unit_name(u);
        verify_for_read(out, &id, u, &name, "nearest set")?;
        let unit = config.read_unit(u, &out.join(&name))?;
        emd.extend(unit.emd);
        chamfer.extend(unit.chamfer);
        solves += unit.exact_solves;
        duals += unit.dual_bounds;
    }
    let sizes = Sizes {
        n_reference: config.n_reference,
        n_generated: config.n_generated,
        points: config.points,
    };
    let nr_ng = (config.n_reference, config.n_generated);
    Ok(GenerationMetrics::new(
        &metrics_of_answers(&emd, nr_ng),
        &metrics_of_answers(&chamfer, nr_ng),
        sizes,
        (solves, duals),
        None,
        start.elapsed().as_secs_f64(),
    ))
}

/// A nearest set as `deepemd_data::sharding::merge_shards` sees it.
#[derive(Clone, Copy, Debug, Default)]
pub struct NearestSetOutput;

impl ShardedOutput for NearestSetOutput {
    fn manifest_name(&self) -> &'static str {
        NEAREST_MANIFEST
    }

    fn unit_files(&self, manifest: &Path) -> deepemd_data::Result<Vec<String>> {
        let config = NearestSetConfig::read(manifest).map_err(into_data)?;
        Ok((0..config.units())
            .map(NearestSetConfig::unit_name)
            .collect())
    }

    fn check_unit(&self, manifest: &Path, unit: usize, path: &Path) -> deepemd_data::Result<()> {
        let config = NearestSetConfig::read(manifest).map_err(into_data)?;
        config.read_unit(unit, path).map(drop).map_err(into_data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generation_metrics::{Search, generation_metrics_with};

    fn cloud(seed: usize, n: usize) -> PointCloud {
        let flat = (0..3 * n)
            .map(|k| ((k * 7919 + seed * 104_729) % 1000) as f64 / 1000.0)
            .collect();
        PointCloud::from_flat(3, flat).unwrap()
    }

    #[test]
    fn a_unit_reads_back_to_the_same_bits() {
        // serde_json parses floats exactly only with `float_roundtrip` (else an ulp off).
        let mut x = 0.1234567_f64;
        let answers: Vec<Nearest> = (0..2000)
            .map(|k| {
                x = (x * 1e7 + 0.271_828_4).fract() * 10f64.powi(k % 9 - 4);
                Nearest {
                    position: k as usize,
                    value: x,
                }
            })
            .collect();
        let unit = NearestUnit {
            emd: answers.clone(),
            chamfer: answers,
            exact_solves: 3,
            dual_bounds: 4,
        };
        let back: NearestUnit =
            serde_json::from_slice(&serde_json::to_vec(&unit).unwrap()).unwrap();
        for (a, b) in unit.emd.iter().zip(&back.emd) {
            assert_eq!(a.value.to_bits(), b.value.to_bits(), "{}", a.value);
        }
    }

    #[test]
    fn sharded_units_give_the_in_memory_metrics() {
        let r: Vec<PointCloud> = (0..5).map(|s| cloud(s, 10)).collect();
        let mut g: Vec<PointCloud> = (5..9).map(|s| cloud(s, 10)).collect();
        g.push(r[1].clone());
        let config = NearestSetConfig::new(&r, &g, ("r", "g"), 4).unwrap();
        assert_eq!((config.queries(), config.units()), (20, 5));
        let dir = tempfile::tempdir().unwrap();
        for i in 0..3 {
            let shard = Shard::new(i, 3).unwrap();
            compute_nearest_set(
                &r,
                &g,
                &config,
                dir.path(),
                shard,
                &|_, _| {},
                &AtomicBool::new(false),
            )
            .unwrap();
        }
        let from_disk = nearest_set_metrics(dir.path()).unwrap();
        let direct =
            generation_metrics_with(&r, &g, ("r", "g"), Search::BruteForce, &|| {}).unwrap();
        let work = |m: &GenerationMetrics| GenerationMetrics {
            seconds: 0.0,
            exact_solves: 0,
            dual_bounds: 0,
            jsd: None,
            ..m.clone()
        };
        assert_eq!(work(&from_disk), work(&direct));
        // A rerun skips every unit; a damaged unit is remade.
        let report = compute_nearest_set(
            &r,
            &g,
            &config,
            dir.path(),
            Shard::WHOLE,
            &|_, _| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_eq!((report.skipped, report.items_made), (5, 0));
        let unit = dir.path().join(NearestSetConfig::unit_name(2));
        std::fs::write(&unit, b"{}").unwrap();
        let report = compute_nearest_set(
            &r,
            &g,
            &config,
            dir.path(),
            Shard::WHOLE,
            &|_, _| {},
            &AtomicBool::new(false),
        )
        .unwrap();
        assert_eq!((report.remade, report.items_made), (1, 4));
        assert_eq!(
            work(&nearest_set_metrics(dir.path()).unwrap()),
            work(&direct)
        );
        // A missing unit is named.
        std::fs::remove_file(&unit).unwrap();
        let e = nearest_set_metrics(dir.path()).unwrap_err().to_string();
        assert!(e.contains("nearest-00002.json"), "{e}");
    }
}
