//! `cargo xtask <command>`: the project's orchestration. It checks what a fresh machine needs,
//! then hands the work to the workspace's own binaries; it re-implements nothing.

mod datasets;
mod layers;
mod python;
mod readme_check;
mod system;

use std::process::ExitCode;

use anyhow::{Result, bail};

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  reproduce-tables [--quick] the main job: the paper's tables and figures → docs/results.md
                            (--quick: a ≤ 15-minute sample → runs/quick/results.md)
  demo                      `deepemd emd` on the two shipped example clouds
  test                      install what the build needs (on a fresh machine), then run every test
                            (Rust; then the Python wheel, checked in a fresh venv and under pytest)
  test-python               only the Python part of `test`
  check-readme              the README's figures are in docs/results.md (part of `test`)
  package                   `cargo package` of every publishable crate, each built from its archive
  bench-peers [options]     our solvers vs scipy and POT on identical clouds; writes docs/results.md
      --sizes 256,1024,...  cloud sizes (default 256,512,1024,2048,4096)
      --with-8192           add n = 8192 (scipy takes ~30 s there)
      --methods a,b         our methods to time (default hungarian,exact,sinkhorn)
      --no-pot              skip POT's ot.emd
      --with-16384          add n = 16384 (ours and POT; scipy and hungarian skipped)
      --large               only the large table: exact alone at 32768 and 65536, peak memory
      --tables exact,sinkhorn,unequal,python   which tables (python: the Python module)
  bench-model [--device cuda] [--sizes ...]   batched model throughput (build with
                            `-- --features cuda` is done for you when --device cuda is given)
  compare-models NAME=DIR.. several models on the same held-out pairs (balanced, 8×, 16× and
                            unbalanced sets): bias, |error|, τ, ρ, row accuracy, hit-twice share,
                            gradient cosine, time per pair; `--sets`, `--out FILE` (ablations)
  check-layers              the dependency invariants of docs/architecture.md
  fuzz [options]            mutation fuzzing of the readers and exact solvers, in release mode
      --minutes M           how long (default 1)
      --seed S              input i depends only on (seed, i) (default 1)
      --report              rewrite the Reliability section of docs/results.md
  prepare-datasets [opts]   real-mesh dataset (from Debian's libcgal-demo), synthetic sets, and
                            --modelnet40 DIR / --shapenet DIR copies, into datasets/generated
  prepare-pairs [opts]      training pairs with exact matchings (see `deepemd prepare-pairs --help`)
  scale-cost [--sizes ...]  seconds and bytes per training pair and per all-pairs distance, the
                            cost model of docs/scale.md (rewrites its cost-model section)
  bench-gen-metrics [opts]  the generation metrics at PointFlow's protocol size (400 + 400 real
                            clouds of 2048 points): pruned vs brute force on a subset (checked
                            equal), then the whole protocol; rewrites its docs/results.md section
      --clouds N            clouds per set (default 400)
      --subset N            clouds per set of the brute-force comparison (default 40; 0: none)
";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> Result<()> {
    let Some((command, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        bail!("no command given");
    };
    match command.as_str() {
        "demo" => demo(rest),
        "reproduce-tables" => reproduce_tables(rest),
        "bench-model" => bench_model(rest),
        "compare-models" => {
            system::ensure_build_dependencies()?;
            let args: Vec<&str> = rest.iter().map(String::as_str).collect();
            system::run_release("deepemd-eval", Some("compare-models"), &[], &args)
        }
        "test" => test(rest),
        "package" => package(),
        "check-readme" => readme_check::check_readme(),
        "test-python" => python::test_module().map(drop),
        "check-layers" => layers::check_layers(),
        "fuzz" => {
            system::ensure_build_dependencies()?;
            let args: Vec<&str> = rest.iter().map(String::as_str).collect();
            system::run_release("deepemd-fuzz", None, &[], &args)
        }
        "prepare-datasets" => {
            system::ensure_build_dependencies()?;
            datasets::prepare_datasets(rest)
        }
        "prepare-pairs" => {
            system::ensure_build_dependencies()?;
            let mut args = vec!["prepare-pairs"];
            args.extend(rest.iter().map(String::as_str));
            datasets::deepemd(&args)
        }
        "bench-peers" => bench_peers(rest),
        "scale-cost" => {
            system::ensure_build_dependencies()?;
            if !system::workspace_root()
                .join("datasets/generated/cgal/test_files.txt")
                .exists()
            {
                datasets::prepare_datasets(&[])?;
            }
            let args: Vec<&str> = rest.iter().map(String::as_str).collect();
            system::run_release("deepemd-eval", Some("scale-cost"), &[], &args)
        }
        "bench-gen-metrics" => {
            system::ensure_build_dependencies()?;
            let meshes = datasets::cgal_meshes()?;
            let mut args = vec![
                "--meshes".to_string(),
                meshes.to_string_lossy().into_owned(),
            ];
            args.extend(rest.iter().cloned());
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            system::run_release("deepemd-eval", Some("bench-gen-metrics"), &[], &args)
        }
        "help" | "--help" | "-h" => {
            print!("{USAGE}");
            Ok(())
        }
        other => {
            eprint!("{USAGE}");
            bail!("unknown command '{other}'")
        }
    }
}

/// `cargo xtask reproduce-tables [--quick]`: the README's main job. Prepares the datasets when
/// they are missing (falling back to the committed fixture when the meshes cannot be fetched),
/// then runs the experiment binary in release mode.
fn reproduce_tables(rest: &[String]) -> Result<()> {
    system::ensure_build_dependencies()?;
    system::ensure_font()?;
    let root = system::workspace_root();
    if !root.join("datasets/generated/cgal/test_files.txt").exists()
        && let Err(e) = datasets::prepare_datasets(&[])
    {
        eprintln!("xtask: could not prepare the datasets ({e:#}); using the committed fixture");
    }
    let meshes = datasets::cgal_meshes()
        .ok()
        .map(|m| m.to_string_lossy().into_owned());
    let mut args = Vec::new();
    if let Some(m) = &meshes {
        args.extend(["--meshes", m.as_str()]);
    }
    args.extend(rest.iter().map(String::as_str));
    system::run_release("deepemd-eval", Some("reproduce-tables"), &[], &args)
}

/// `cargo xtask bench-model`: the model's batched throughput; with `--device cuda` it builds
/// with the `cuda` feature.
fn bench_model(rest: &[String]) -> Result<()> {
    system::ensure_build_dependencies()?;
    let cuda = rest
        .windows(2)
        .any(|w| w[0] == "--device" && w[1] == "cuda");
    let features: &[&str] = if cuda { &["cuda"] } else { &[] };
    let args: Vec<&str> = rest.iter().map(String::as_str).collect();
    system::run_release("deepemd-eval", Some("bench-model"), features, &args)
}

/// `cargo xtask demo`: `deepemd emd` on the two example clouds.
fn demo(rest: &[String]) -> Result<()> {
    system::ensure_build_dependencies()?;
    let mut args = vec![
        "emd",
        "datasets/examples/torus.ply",
        "datasets/examples/sphere.ply",
    ];
    args.extend(rest.iter().map(String::as_str));
    datasets::deepemd(&args)
}

/// The crates that are not published (tools, experiments, the Python module's Rust side).
const UNPUBLISHED: &[&str] = &[
    "deepemd-benches",
    "xtask",
    "deepemd-eval",
    "deepemd-fuzz",
    "deepemd-py",
];

/// `cargo xtask package`: `cargo package` of every publishable crate, each verified by building
/// its archive against the others' (about 4 minutes on 2 cores).
fn package() -> Result<()> {
    system::ensure_build_dependencies()?;
    let mut args = vec!["package", "--workspace", "--allow-dirty"];
    for c in UNPUBLISHED {
        args.extend(["--exclude", c]);
    }
    system::cargo(&args)
}

/// Seconds of the fixed-seed fuzz run in `cargo xtask test`.
const TEST_FUZZ_SECONDS: &str = "40";

/// `cargo xtask test`: the README's test command and what CI runs: every Rust test, a short
/// fixed-seed fuzz run (dev profile), which fails the command on any panic, hang, over-cap
/// allocation or crash, then the Python module installed with pip and its pytest suite.
fn test(rest: &[String]) -> Result<()> {
    readme_check::check_readme()?;
    system::ensure_build_dependencies()?;
    let mut args = vec!["test", "--workspace"];
    args.extend(rest.iter().map(String::as_str));
    system::cargo(&args)?;
    system::cargo(&[
        "run",
        "--quiet",
        "--package",
        "deepemd-fuzz",
        "--",
        "--seconds",
        TEST_FUZZ_SECONDS,
        "--seed",
        "1",
    ])?;
    python::test_module().map(drop)
}

/// `cargo xtask bench-peers`: prepares the Python peers, then runs the comparison binary in
/// release mode.
fn bench_peers(rest: &[String]) -> Result<()> {
    system::ensure_build_dependencies()?;
    let python = system::ensure_python_venv(&["numpy", "scipy", "pot", "maturin"])?;
    let tables = rest
        .iter()
        .zip(rest.iter().skip(1))
        .filter(|(flag, _)| *flag == "--tables")
        .map(|(_, value)| value.as_str())
        .chain(rest.iter().filter_map(|a| a.strip_prefix("--tables=")));
    if tables.flat_map(|t| t.split(',')).any(|t| t == "python") {
        python::install_module(&python)?;
    }
    let python = python.to_string_lossy().into_owned();
    let meshes = datasets::cgal_meshes()?.to_string_lossy().into_owned();
    let mut args = vec!["--python", python.as_str(), "--meshes", meshes.as_str()];
    args.extend(rest.iter().map(String::as_str));
    system::run_release("deepemd-eval", Some("bench-peers"), &[], &args)
}
