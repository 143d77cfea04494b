//! The "Reliability" section of `docs/results.md`: what the fuzzer tried and found, the
//! regression tests of each class of header bug, and the tests that interrupt writes.
//!
//! The section sits between `<!-- begin reliability -->` and `<!-- end reliability -->`, the
//! markers `deepemd-eval`'s report writer uses for its own sections (that crate pulls in candle,
//! which the fuzzer must not), and only it is rewritten, atomically.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::cap::{MAX_LIVE, MAX_SINGLE};
use crate::driver::{Settings, Summary};
use crate::targets::MAX_EMD_POINTS;

/// The section's name between the markers.
const SECTION: &str = "reliability";

/// One regression test per class of bug fixed in issue 10 (solvers, results, weights, files):
/// (file, test, class).
pub const CLASS_TESTS: &[(&str, &str, &str)] = &[
    (
        "crates/deepemd-data/tests/header_arithmetic.rs",
        "npy_shapes_whose_byte_count_overflows_are_errors",
        "NPY shape × item size overflows",
    ),
    (
        "crates/deepemd-data/tests/header_arithmetic.rs",
        "pcd_count_sums_that_overflow_are_errors",
        "PCD COUNT sum overflows, COUNT 0 on a coordinate",
    ),
    (
        "crates/deepemd-data/tests/header_arithmetic.rs",
        "binary_ply_elements_are_bounded_by_the_bytes_present",
        "binary PLY element counts beyond the body (and zero-size records)",
    ),
    (
        "crates/deepemd-data/tests/header_arithmetic.rs",
        "a_second_vertex_element_is_an_error_not_a_panic",
        "PLY with two vertex elements",
    ),
    (
        "crates/deepemd-data/tests/header_arithmetic.rs",
        "off_face_sizes_that_overflow_are_errors",
        "OFF face size overflows",
    ),
    (
        "crates/deepemd-data/tests/bounded_allocation.rs",
        "header_counts_never_drive_large_allocations",
        "PLY/OFF reserve from counts; HDF5 (1, 2e9, 3) in a small file",
    ),
    (
        "crates/deepemd-data/tests/cloud_spec.rs",
        "paths_that_merely_contain_h5_are_read_by_their_own_extension",
        "`.h5` inside a path taken as a selector",
    ),
    (
        "crates/deepemd-data/tests/hdf5_layouts.rs",
        "chunks_larger_than_the_dataset_are_refused_before_reading",
        "HDF5 chunk larger than its dataset (segfault in HDF5 1.10, found by fuzzing)",
    ),
    (
        "crates/deepemd-data/tests/hdf5_layouts.rs",
        "storage_that_disagrees_with_the_shape_is_refused_before_reading",
        "HDF5 compact/contiguous block of the wrong size (segfault in HDF5 1.10, found by fuzzing)",
    ),
    (
        "crates/deepemd-data/tests/hdf5_layouts.rs",
        "undefined_metadata_addresses_are_refused_before_the_library_follows_them",
        "HDF5 metadata address undefined or outside the file (segfault in HDF5 1.10, found by fuzzing)",
    ),
    (
        "crates/deepemd-data/src/error.rs",
        "format_errors_are_one_line",
        "errors quoting HDF5's multi-line messages are one line",
    ),
    (
        "crates/deepemd-solvers/tests/scale_invariance.rs",
        "small_clouds_are_solved_exactly",
        "certified `exact` 0.2–0.8 % above the optimum on clouds of extent 1e-8 (tolerance was an absolute floor)",
    ),
    (
        "crates/deepemd-solvers/tests/scale_invariance.rs",
        "every_scale_from_1e_minus_12_to_1e12_with_and_without_a_large_shift",
        "EMD(sA + t, sB + t) = s^p EMD(A, B) for exact and hungarian, and the certificate, s = 1e-12…1e12",
    ),
    (
        "crates/deepemd-solvers/tests/scale_invariance.rs",
        "a_non_optimal_matching_is_rejected_at_every_scale",
        "the certificate rejects a non-optimal matching at every scale",
    ),
    (
        "crates/deepemd-solvers/tests/scale_invariance.rs",
        "extreme_scales_give_the_right_value_or_a_clear_error",
        "coordinates ≥ 1e154 panicked in the auction; clouds at 1e-200 gave EMD 0; f32 Sinkhorn costs",
    ),
    (
        "crates/deepemd-core/src/emd.rs",
        "values_outside_f64s_range_are_errors_not_zero_or_infinity",
        "an EMD that over- or underflows f64 is an error, never inf or 0",
    ),
    (
        "crates/deepemd-cli/tests/cli_extreme_values.rs",
        "every_method_gives_the_value_or_an_error_naming_both_files",
        "`--method model` printed `null`/`inf` with exit 0; solver errors named no file",
    ),
    (
        "crates/deepemd-cli/tests/cli_extreme_values.rs",
        "one_huge_coordinate_is_no_panic",
        "one coordinate ≥ 1e154 among ordinary ones",
    ),
    (
        "crates/deepemd-model/tests/model.rs",
        "weights_that_do_not_match_the_config_exactly_are_refused",
        "a 4-layer weight file loaded under a 2-layer config; missing tensors; NaN weights",
    ),
    (
        "crates/deepemd-train/tests/training.rs",
        "nan_weights_in_a_checkpoint_are_refused_at_resume",
        "a checkpoint with non-finite weights resumed and was exported",
    ),
    (
        "crates/deepemd-train/tests/training.rs",
        "temporary_folders_of_killed_runs_are_removed",
        "`.checkpoint.tmp-PID` folders of killed runs were never removed",
    ),
    (
        "crates/deepemd-cli/src/main.rs",
        "errors_are_printed_on_one_line",
        "control bytes and newlines split error lines",
    ),
];

/// One test per class of defect of the long jobs' files (issue 28): (file, test, class).
pub const LONG_JOB_TESTS: &[(&str, &str, &str)] = &[
    (
        "crates/deepemd-cli/tests/cli_shards.rs",
        "three_distance_shards_merge_into_the_unsharded_metrics",
        "1. chunks of another job (same sizes, distances.json deleted): every chunk remade, the new set's metrics; a final run takes the folder's --chunk-size, another is refused naming the setting (10)",
    ),
    (
        "crates/deepemd-data/src/sharding/receipt.rs",
        "recorded_units_verify_and_every_kind_of_damage_is_named",
        "2. a unit zero-filled, bit-flipped, truncated, extended, swapped with another (with its receipt), another job's, its receipt lost or garbled: each refused, named",
    ),
    (
        "crates/deepemd-data/src/sharding/units.rs",
        "units_that_do_not_prove_themselves_are_made_again",
        "2. a resume remakes every unit that does not verify, and only those",
    ),
    (
        "crates/deepemd-cli/tests/cli_shards.rs",
        "three_pair_shards_one_killed_and_resumed_merge_into_the_unsharded_set",
        "2, 9. pair shards: a damaged shard refused by merge-shards, a verified copy preferred; merging again (a requeued merge step) copies nothing",
    ),
    (
        "crates/deepemd-train/src/checkpoint.rs",
        "a_fresh_run_never_replaces_what_an_earlier_run_left",
        "3, 13. a fresh train / vae train over model/, an incomplete checkpoint/ or checkpoint.old/: refused; --run naming a file: named",
    ),
    (
        "crates/deepemd-train/src/checkpoint.rs",
        "a_checkpoint_whose_files_changed_is_not_resumed",
        "3. a checkpoint lists its files' SHA-256 (files.sha256); one changed or missing is not resumed",
    ),
    (
        "crates/deepemd-data/tests/formats.rs",
        "surface_sampling_is_the_same_at_every_scale",
        "4, 6. mesh sampling from 1e-300 to 1e300 equals the unit mesh's, scaled; sample counts 0 and above 2^24 are errors",
    ),
    (
        "crates/deepemd-data/src/mesh/triangulate.rs",
        "concave_polygons_are_split_inside_themselves",
        "4. concave polygons (L, arrow, comb, straight corners, tilted) split inside the face",
    ),
    (
        "crates/deepemd-data/src/mesh/triangulate.rs",
        "convex_polygons_keep_their_fan_and_crossing_ones_are_refused",
        "4. self-crossing, self-touching and cancelling polygons and concave ones of more than 64 vertices refused",
    ),
    (
        "crates/deepemd-data/tests/formats.rs",
        "batches_of_empty_clouds_are_errors",
        "5. an .npy batch of shape (B, 0, d)",
    ),
    (
        "crates/deepemd-data/src/sharding/merge.rs",
        "missing_shards_and_untrusted_files_are_named_and_good_copies_win",
        "7. a manifest asking for 10^12 units is refused before any allocation",
    ),
    (
        "crates/deepemd-data/src/memory.rs",
        "sizes_beyond_the_memory_or_a_u64_are_refused",
        "7. a distance set larger than the machine's memory is refused before it is read",
    ),
    (
        "crates/deepemd-metrics/src/pair_jobs.rs",
        "the_nth_job_is_the_nth_of_the_list_for_every_size",
        "8. a shard computes its own pairs without the job's list",
    ),
    (
        "crates/deepemd-data/src/sharding/merge.rs",
        "merge_copies_a_complete_job_byte_for_byte_and_merging_again_is_harmless",
        "9. merge into a shard folder, twice, with a folder named twice",
    ),
    (
        "crates/deepemd-data/src/sharding/manifest.rs",
        "a_rerun_with_other_settings_names_each_differing_setting",
        "10. other settings name each differing field",
    ),
    (
        "crates/deepemd-data/src/pair_list.rs",
        "lists_are_read_with_comments_tabs_spaces_and_a_byte_order_mark",
        "11. a byte-order mark in a list file (every text reader drops it)",
    ),
    (
        "crates/deepemd-cli/tests/cli_emd_batch.rs",
        "bad_pairs_are_named_first_and_get_error_lines_while_the_good_ones_are_solved",
        "12, 13. bad pairs named before any solve (none solved with --fail-fast; otherwise error lines, the good pairs solved, exit 1); --sample on batches refused; a mesh listed on 50 lines read and warned about once",
    ),
];

/// Tests that interrupt a write, by killing the process or by leaving half a file: (file,
/// test, what).
pub const INTERRUPTION_TESTS: &[(&str, &str, &str)] = &[
    (
        "crates/deepemd-cli/tests/cli_prepare_pairs.rs",
        "killed_and_rerun_equals_uninterrupted",
        "`deepemd prepare-pairs` killed (SIGKILL) after its first shard, rerun: the same pair set as a clean run",
    ),
    (
        "crates/deepemd-cli/tests/cli_train.rs",
        "killed_training_resumes_with_the_same_loss_curve",
        "`deepemd train` killed (SIGKILL) mid-run, resumed: the loss curve of a clean run",
    ),
    (
        "crates/deepemd-data/tests/datasets_and_pairs.rs",
        "shards_hold_exact_matchings_and_resume_without_loss_or_duplication",
        "a shard left as an unrenamed temporary file, and a corrupt shard: both remade on rerun",
    ),
    (
        "crates/deepemd-data/tests/formats.rs",
        "every_truncation_is_an_error_never_a_panic",
        "every prefix of a PLY and an NPY file is an error naming the file",
    ),
    (
        "crates/deepemd-data/tests/hdf5_layouts.rs",
        "every_truncation_of_a_file_is_an_error_never_a_panic",
        "every prefix of two HDF5 files is an error naming the file",
    ),
];

/// The section's Markdown for a run.
pub fn section(
    settings: &Settings,
    summary: &Summary,
    command: &str,
    regressions: &[PathBuf],
) -> String {
    let minutes = summary.elapsed.as_secs_f64() / 60.0;
    let inputs = summary.inputs();
    let mut md = format!("## Reliability (`{command}`)\n\n");
    let profile = if cfg!(debug_assertions) {
        "dev"
    } else {
        "release"
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let _ = writeln!(
        md,
        "Mutation fuzzing of every reader and of the exact solvers (`crates/deepemd-fuzz`): seed {seed}, \
         {minutes:.1} minutes, {profile} build, {threads} threads, {inputs} inputs ({rate:.0}/s) in {workers} worker process(es). \
         Each input mutates a committed seed file (bit flips, byte overwrites, truncation, insertion, deletion, \
         edge numbers written over header numbers as text and as binary words, spliced keywords), runs every \
         reader of its format in-process, then `Exact` and `Hungarian` (through `EmdEstimator`) on each cloud \
         read of at most {MAX_EMD_POINTS} points against a fixed cloud, and compares their values. Limits: \
         {limit} s per input, allocations refused above {single} GiB at once or {live} GiB live, \
         {rss} GiB resident.\n",
        seed = seed_text(settings),
        rate = inputs as f64 / summary.elapsed.as_secs_f64().max(1e-9),
        workers = summary.workers,
        limit = settings.time_limit.as_secs(),
        single = MAX_SINGLE >> 30,
        live = MAX_LIVE >> 30,
        rss = settings.rss_limit >> 30,
    );
    md.push_str("| format | seed file | inputs | read by a reader | rejected with an error | EMD problems | findings |\n");
    md.push_str("|---|---|---|---|---|---|---|\n");
    for (target, t) in &summary.tallies {
        let found = summary
            .findings
            .iter()
            .filter(|f| f.target == target.name)
            .count() as u64;
        let _ = writeln!(
            md,
            "| {} | `{}` | {} | {} | {} | {} | {found} |",
            target.format,
            target.seed_file,
            t.inputs,
            t.accepted,
            t.inputs.saturating_sub(t.accepted + found),
            t.emd_runs
        );
    }
    let total = |f: fn(&crate::driver::Tally) -> u64| -> u64 {
        summary.tallies.iter().map(|(_, t)| f(t)).sum()
    };
    let _ = writeln!(
        md,
        "| **all** | | {} | {} | {} | {} | {} |\n",
        inputs,
        total(|t| t.accepted),
        inputs.saturating_sub(total(|t| t.accepted) + summary.findings.len() as u64),
        total(|t| t.emd_runs),
        summary.findings.len()
    );
    if summary.findings.is_empty() {
        md.push_str("Findings: none (no panic, hang, over-cap allocation, crash or solver disagreement).\n\n");
    } else {
        md.push_str("Findings:\n\n");
        for (signature, count, first) in summary.distinct_findings() {
            let _ = writeln!(
                md,
                "- {signature}: {count} input(s), first {} input {}: {}",
                first.target, first.index, first.detail
            );
        }
        md.push('\n');
    }
    let names: Vec<String> = regressions
        .iter()
        .map(|p| format!("`{}`", p.file_name().unwrap_or_default().to_string_lossy()))
        .collect();
    let _ = writeln!(
        md,
        "Inputs that broke a reader or solver before its fix, saved by the fuzzer and replayed by \
         `cargo test -p deepemd-fuzz` (`crates/deepemd-fuzz/regressions`, named target-kind-seed-index; \
         its README says what each did): {}. A 40-second fixed-seed run is part of `cargo xtask test`.\n",
        names.join(", ")
    );
    md.push_str("Regression tests, one per class of bug (issue 10):\n\n");
    for (file, test, class) in CLASS_TESTS {
        let _ = writeln!(md, "- {class}: `{test}` ({file})");
    }
    md.push_str(
        "\nThe long jobs' files (issue 28): every unit file has a receipt (its job's manifest \
         SHA-256 and its own), checked by a resume, a merge and a final read; the fuzz targets \
         `distances_json`, `distances_chunk`, `distances_receipt`, `nearest_json`, \
         `nearest_unit`, `nearest_receipt` (the pruned metrics' units), `pairs_json` and \
         `stale_folder` (either kind of set) count as a finding any read, merge or resume that accepts anything but \
         the truth of the folder's job. One test per class of defect:\n\n",
    );
    for (file, test, class) in LONG_JOB_TESTS {
        let _ = writeln!(md, "- {class}: `{test}` ({file})");
    }
    md.push_str("\nInterrupted writes:\n\n");
    for (file, test, what) in INTERRUPTION_TESTS {
        let _ = writeln!(md, "- {what}: `{test}` ({file})");
    }
    md
}

fn seed_text(settings: &Settings) -> String {
    match &settings.source {
        crate::worker::Source::Generated { seed } => seed.to_string(),
        crate::worker::Source::Files(_) => "(replay)".into(),
    }
}

/// Replaces (or appends) the reliability section of the Markdown file at `path` with `body`.
pub fn update_section(path: &Path, body: &str) -> Result<()> {
    deepemd_data::formats::update_marked_section(path, SECTION, body)
        .with_context(|| format!("updating {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The listed tests exist, so the report cannot name a test that was renamed or removed.
    #[test]
    fn every_listed_test_exists() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for (file, test, _) in CLASS_TESTS
            .iter()
            .chain(LONG_JOB_TESTS)
            .chain(INTERRUPTION_TESTS)
        {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            assert!(
                text.contains(&format!("fn {test}()")),
                "{file} has no test {test}"
            );
        }
    }

    #[test]
    fn the_section_is_replaced_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.md");
        std::fs::write(
            &p,
            "# Results\n\n<!-- begin other -->\nx\n<!-- end other -->\n",
        )
        .unwrap();
        update_section(&p, "first").unwrap();
        update_section(&p, "second").unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("second") && !text.contains("first") && text.contains("x\n"));
    }
}
