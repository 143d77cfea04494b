//! `cargo xtask bench-peers`: our solvers, scipy and POT on identical clouds in one run; prints
//! a table of median times, ratios and the largest value difference, and a table of our
//! Sinkhorn against POT's, and writes them into docs/results.md.

mod exact_table;
mod large_table;
mod python_table;
mod sinkhorn_table;
mod unequal_table;

use std::path::PathBuf;

use anyhow::Result;
use clap::Parser;
use deepemd_eval::clouds::CloudSet;
use deepemd_eval::peers::Peers;
use deepemd_eval::report::update_section;
use deepemd_eval::timing::hardware_line;
use deepemd_methods::MethodSpec;

#[derive(Parser, Debug)]
struct Args {
    /// Python with numpy, scipy and POT (the xtask makes one).
    #[arg(long)]
    python: PathBuf,
    /// Cloud sizes.
    #[arg(long, value_delimiter = ',', default_values_t = [256, 512, 1024, 2048, 4096])]
    sizes: Vec<usize>,
    /// Also n = 8192 (scipy takes ~30 s there).
    #[arg(long)]
    with_8192: bool,
    /// Also n = 16384: ours and POT; scipy (an hour per pair) and `hungarian` are skipped
    /// above 8192.
    #[arg(long)]
    with_16384: bool,
    /// Largest n at which `hungarian` (dense O(n³)) is timed.
    #[arg(long, default_value_t = 8192)]
    hungarian_max_n: usize,
    /// The large-size mode: our exact solver alone at `--large-sizes`, each solve in a fresh
    /// child process so its peak memory is its own (the `large` table; no other table).
    #[arg(long)]
    large: bool,
    /// Sizes of the large mode.
    #[arg(long, value_delimiter = ',', default_values_t = [32768, 65536])]
    large_sizes: Vec<usize>,
    /// Seconds after which a solve of the large mode is stopped (and marked so).
    #[arg(long, default_value_t = 1800)]
    large_timeout: u64,
    /// Our methods to time (any method name `deepemd emd --method` takes, e.g. `model/refined`).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "hungarian,exact,sinkhorn"
    )]
    methods: Vec<MethodSpec>,
    /// Largest n at which Sinkhorn is timed (it takes ~40–90 s per pair at 4096 here).
    #[arg(long, default_value_t = 2048)]
    sinkhorn_max_n: usize,
    /// Skip POT.
    #[arg(long)]
    no_pot: bool,
    /// Seed of the clouds.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// CGAL's meshes folder, for the real-shape set (the xtask fetches it).
    #[arg(long)]
    meshes: Option<PathBuf>,
    /// Which tables: `exact` (our solvers vs scipy and POT's exact solver), `sinkhorn` (our
    /// Sinkhorn vs POT's at the same ε and tolerance), `unequal` (clouds of different sizes,
    /// both conventions, vs scipy and POT's `ot.emd2`), `python` (the Python module `deepemd`
    /// vs the Rust solver, scipy and POT; the xtask installs the module first).
    #[arg(long, value_delimiter = ',', default_value = "exact,sinkhorn,unequal")]
    tables: Vec<TableKind>,
    /// Sizes of the unequal table, `NxM` each.
    #[arg(long, value_delimiter = ',', default_values_t = [unequal_table::Sizes(2048, 4096), unequal_table::Sizes(1000, 8192)])]
    unequal_sizes: Vec<unequal_table::Sizes>,
    /// Cloud sizes of the Sinkhorn table (POT's ε-scaling takes minutes per pair at 2048).
    #[arg(long, value_delimiter = ',', default_values_t = [1024, 2048])]
    sinkhorn_sizes: Vec<usize>,
    /// Cloud sizes of the Python table.
    #[arg(long, value_delimiter = ',', default_values_t = [1024, 4096])]
    python_sizes: Vec<usize>,
    /// Where to write the tables (sections "bench-peers" and "bench-peers-sinkhorn").
    #[arg(long, default_value = "docs/results.md")]
    output: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum TableKind {
    Exact,
    Sinkhorn,
    Unequal,
    Python,
}

/// Largest n at which scipy is timed.
const SCIPY_MAX_N: usize = 8192;

/// Fewer repeats for slow sizes keeps the whole run within minutes.
fn repeats_for(n: usize) -> usize {
    match n {
        0..=1024 => 5,
        1025..=2048 => 3,
        _ => 1,
    }
}

fn main() -> Result<()> {
    // The hidden child mode of the large table: one solve, one JSON line.
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some(large_table::MEASURE) {
        return large_table::measure(&argv[2..]);
    }
    let args = Args::parse();
    eprintln!("{}", hardware_line());
    if args.large {
        return large_table::run(
            args.meshes.as_deref(),
            &args.large_sizes,
            args.seed,
            args.large_timeout,
            &args.output,
        );
    }
    if args.tables.contains(&TableKind::Exact) {
        exact_table::run(&args)?;
    }
    if args.tables.contains(&TableKind::Sinkhorn) {
        sinkhorn_table(&args)?;
    }
    if args.tables.contains(&TableKind::Unequal) {
        unequal_table(&args)?;
    }
    if args.tables.contains(&TableKind::Python) {
        python_table(&args)?;
    }
    Ok(())
}

/// The Python module against the Rust solver, scipy and POT.
fn python_table(args: &Args) -> Result<()> {
    let mut table = python_table::table();
    for set in CloudSet::all(args.meshes.as_deref()) {
        for &n in &args.python_sizes {
            eprintln!("{} n = {n} (Python): ...", set.name());
            let row = python_table::row(&args.python, !args.no_pot, &set, n, args.seed)?;
            eprintln!("  {}", row.join(" | "));
            table.push(row);
        }
    }
    let md = table.to_markdown();
    println!("{md}");
    let body = format!(
        "## From Python (`cargo xtask bench-peers --tables python`)\n\n\
         `deepemd.emd(a, b)` (the Python module of `crates/deepemd-py`, exact solver) called on \
         NumPy float64 arrays, against the same solve called in Rust and against scipy's \
         `linear_sum_assignment` and POT {}'s `ot.emd`, all on identical clouds (seed {}), \
         Euclidean cost. Median wall time per pair over {} (n ≤ 1024) or {} runs (scipy and \
         POT: a third as many); Python times include the conversion of the arrays. *binding \
         overhead*: deepemd.emd / Rust − 1. Hardware: {}.\n\n{md}",
        pot_version(&args.python),
        args.seed,
        python_table::repeats_for(1024),
        python_table::repeats_for(4096),
        hardware_line()
    );
    update_section(&args.output, "bench-peers-python", &body)?;
    eprintln!("wrote the Python table into {}", args.output.display());
    Ok(())
}

/// Clouds of different sizes, both conventions, against scipy and POT.
fn unequal_table(args: &Args) -> Result<()> {
    let peers = Peers {
        python: args.python.clone(),
        pot: !args.no_pot,
    };
    let mut table = unequal_table::table();
    for set in CloudSet::all(args.meshes.as_deref()) {
        for &sizes in &args.unequal_sizes {
            eprintln!("{} {sizes}: ...", set.name());
            let repeats = repeats_for(sizes.0.max(sizes.1));
            let row = unequal_table::row(&peers, &set, sizes, args.seed, repeats)?;
            eprintln!("  {}", row.join(" | "));
            table.push(row);
        }
    }
    let md = table.to_markdown();
    println!("{md}");
    let body = format!(
        "## Unequal sizes vs scipy and POT (`cargo xtask bench-peers --tables unequal`)\n\n\
         Clouds of n and m points from the same sets (seed {}), Euclidean cost, median wall time \
         per pair (cost matrix included; repeats as in the exact table, by the larger size). \
         **partial**: every point of the smaller cloud matched to a distinct point of the larger \
         (scipy: `linear_sum_assignment` on the rectangular matrix); **uniform**: optimal \
         transport between the uniform distributions (POT {}: `ot.emd` with weights 1/n and \
         1/m, `numItermax` 10⁹). *exact, n = m* is our exact solver on an equal-size pair of \
         the same set with (n + m)/2 points each: the yardstick for \"within 2× of the n = m \
         time at equal total size\". *max rel diff*: ours (exact, hungarian) against scipy and \
         POT. *uniform / partial*: how far apart the two conventions' values are. Ratios above \
         1 mean ours is faster. Hardware: {}.\n\n{md}",
        args.seed,
        pot_version(&args.python),
        hardware_line()
    );
    update_section(&args.output, "bench-peers-unequal", &body)?;
    eprintln!("wrote the unequal table into {}", args.output.display());
    Ok(())
}

/// Our Sinkhorn against POT's on every cloud set at `--sinkhorn-sizes`.
fn sinkhorn_table(args: &Args) -> Result<()> {
    let mut table = sinkhorn_table::table();
    // Pairs on which each POT solver stopped far from the marginals (log-domain, ε-scaling).
    let mut unconverged = [0usize; 2];
    for set in CloudSet::all(args.meshes.as_deref()) {
        for &n in &args.sinkhorn_sizes {
            eprintln!("{} n={n}: our Sinkhorn ...", set.name());
            let pair = set.pair(n, args.seed)?;
            let (row, converged) =
                sinkhorn_table::row(&args.python, set.name(), pair, repeats_for(n))?;
            for (count, ok) in unconverged.iter_mut().zip(converged) {
                *count += usize::from(!ok);
            }
            eprintln!("  {}", row.join(" | "));
            table.push(row);
        }
    }
    let pairs = table.rows.len();
    let mut failures = String::new();
    for (count, name) in unconverged
        .iter()
        .zip(["sinkhorn_log", "sinkhorn_epsilon_scaling"])
    {
        if *count > 0 {
            failures.push_str(&format!(
                "\n\nPOT's `{name}` stopped with a marginal L1 error above 10 × {} on {count} of \
                 {pairs} pairs (its plan does not transport the clouds' mass: its time and bias \
                 there are not those of a solution).",
                sinkhorn_table::settings().tolerance
            ));
        }
    }
    let md = table.to_markdown();
    println!("{md}");
    let s = sinkhorn_table::settings();
    let body = format!(
        "## Sinkhorn vs POT (`cargo xtask bench-peers`)\n\n\
         The same clouds (seed {}), Euclidean cost, uniform weights, final ε = {} × the largest \
         cost for every solver. **Ours**: log-domain with ε-scaling (ε from the largest cost, \
         halved every 10 iterations), f32 costs, rayon over rows ({} threads), stopping when the \
         L1 error of the row marginals is below {} (at most {} iterations); {}; greedy rounding \
         and ⟨P, C⟩ in f64 included. **POT {}** (numpy; its log-sum-exps run on one thread), one \
         run each: `ot.sinkhorn(method=\"sinkhorn_log\")`, stopping when the L2 norm of the \
         column marginals' error, checked every 10 iterations, is below {} / √n (what an L1 \
         error of {} spread evenly gives: roughly our accuracy, stricter when the error is \
         concentrated); `ot.bregman.sinkhorn_epsilon_scaling` (ε₀ = the largest cost, POT's \
         stage schedule, at least 36 stages of at most 100 stabilized iterations, stopping when \
         the sum of both marginals' squared L2 errors is below that bound — a looser test). \
         *Marginal L1* is the L1 error of the worse marginal of the plan returned, so rows where \
         a solver stopped short of {} show it; *bias* is ⟨P, C⟩ against the exact EMD (our \
         certified solver). Ratios above 1 mean ours is faster. Hardware: {}.\n\n{md}{failures}",
        args.seed,
        s.epsilon,
        rayon::current_num_threads(),
        s.tolerance,
        s.max_iterations,
        repeats_text(&args.sinkhorn_sizes),
        pot_version(&args.python),
        s.tolerance,
        s.tolerance,
        s.tolerance,
        hardware_line()
    );
    update_section(&args.output, "bench-peers-sinkhorn", &body)?;
    eprintln!("wrote the Sinkhorn table into {}", args.output.display());
    Ok(())
}

/// "medians of runs (R at n = …, …)" for the sizes timed, from [`repeats_for`].
fn repeats_text(sizes: &[usize]) -> String {
    let parts: Vec<String> = sizes
        .iter()
        .map(|&n| format!("{} at n = {n}", repeats_for(n)))
        .collect();
    format!("medians of runs ({})", parts.join(", "))
}

/// POT's version as the python reports it ("?" if it cannot).
fn pot_version(python: &std::path::Path) -> String {
    std::process::Command::new(python)
        .args(["-c", "import ot; print(ot.__version__)"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || "?".into(),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_string(),
        )
}
