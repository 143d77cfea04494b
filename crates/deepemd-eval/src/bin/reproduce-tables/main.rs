//! `cargo xtask reproduce-tables [--quick]`: the paper's tables and figures on our data and
//! hardware, written into docs/results.md (section "reproduce-tables") and docs/figures/ — or,
//! for a quick run, into runs/quick/results.md and runs/quick/figures/, so that a newcomer's
//! first command leaves the committed full-mode results as they are.
//!
//! `plan` says how much is measured, `table1`/`table2`/`speed` measure, `figures` draws,
//! `document` writes the Markdown. The speed table runs each method in a child process of this
//! binary (`reproduce-tables measure ...`) so that each has its own peak memory.

mod document;
mod figures;
mod plan;
mod speed;
mod table1;
mod table2;
mod vae;
mod vae_report;

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;
use clap::{Args, Parser, Subcommand};
use deepemd_eval::plot::register_font;
use deepemd_eval::timing::hardware_line;
use deepemd_methods::ModelSource;
use deepemd_model::{DeepEmd, device_from_name};
use indicatif::{ProgressBar, ProgressStyle};

use plan::Plan;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    child: Option<Child>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Subcommand, Debug)]
enum Child {
    /// One method at one size, printed as one JSON line (the speed table runs it per cell).
    Measure(speed::MeasureArgs),
}

/// The run's options.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Small pair counts and sizes up to 2048 (≤ 15 minutes on 2 cores).
    #[arg(long)]
    quick: bool,
    /// Prepared datasets (cgal, synthetic2d, synthetic3d, and modelnet40/shapenet if present).
    #[arg(long, default_value = "datasets/generated")]
    data: PathBuf,
    /// CGAL's meshes folder: real shapes for the speed table and sizes beyond 2048 points.
    #[arg(long)]
    meshes: Option<PathBuf>,
    /// The mesh manifest.
    #[arg(long, default_value = "datasets/cgal/manifest.tsv")]
    manifest: PathBuf,
    /// A model folder; the built-in default model otherwise.
    #[arg(long)]
    model: Option<PathBuf>,
    /// `cpu` or `cuda`.
    #[arg(long, default_value = "cpu")]
    device: String,
    /// Seed of every pair.
    #[arg(long, default_value_t = 2026)]
    seed: u64,
    /// The results document [default: docs/results.md; runs/quick/results.md with --quick].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Folder of the figures, linked from the document relative to it [default: docs/figures;
    /// runs/quick/figures with --quick].
    #[arg(long)]
    figures: Option<PathBuf>,
    /// Only the VAE experiment (five trainings, ~75 minutes in full mode; resumable): its
    /// section of the document and its figures.
    #[arg(long)]
    vae_only: bool,
    /// Leave the VAE section as it is (e.g. to refresh the tables and the speed table of a
    /// quick run without replacing the full VAE experiment's section by the quick smoke run).
    #[arg(long, conflicts_with = "vae_only")]
    no_vae: bool,
    /// Where the VAE runs are kept (finished runs with the plan's settings are reused).
    #[arg(long, default_value = "runs/vae")]
    vae_runs: PathBuf,
}

impl RunArgs {
    /// The results document: the committed one for a full run, a scratch copy for a quick one.
    pub fn out(&self) -> PathBuf {
        self.out.clone().unwrap_or_else(|| match self.quick {
            true => PathBuf::from("runs/quick/results.md"),
            false => PathBuf::from("docs/results.md"),
        })
    }

    /// The figures' folder, beside [`RunArgs::out`]'s document.
    pub fn figures(&self) -> PathBuf {
        self.figures.clone().unwrap_or_else(|| match self.quick {
            true => PathBuf::from("runs/quick/figures"),
            false => PathBuf::from("docs/figures"),
        })
    }
}

/// The smallest training size of the default model (Table 1's size); Table 2 is relative to it.
pub const TRAIN_POINTS: usize = 128;

/// How the default model was trained, for the tables' headings (models/default/README.md).
pub const TRAINING_SIZES: &str =
    "n = 128, then fine-tuned on 128–512 with 30 % unbalanced pairs up to 1:4";

/// A progress bar with a message and an ETA.
pub fn bar(len: usize, msg: &str) -> ProgressBar {
    let b = ProgressBar::new(len as u64);
    b.set_style(
        ProgressStyle::with_template("{msg:32} [{bar:30}] {pos}/{len} ({elapsed}, ETA {eta})")
            .expect("valid")
            .progress_chars("=> "),
    );
    b.set_message(msg.to_string());
    b
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.child {
        Some(Child::Measure(args)) => speed::measure(args),
        None => run(&cli.run),
    }
}

fn run(args: &RunArgs) -> Result<()> {
    register_font()?;
    if args.vae_only {
        return run_vae(args);
    }
    let started = Instant::now();
    let plan = if args.quick {
        Plan::quick()
    } else {
        Plan::full()
    };
    let device = device_from_name(&args.device)?;
    let (weights, device) = ModelSource::new(args.model.clone(), device).load()?;
    let model = DeepEmd::new(weights, device);
    let (splits, fixture_note) = table1::splits(&args.data);
    let mut notes: Vec<String> = fixture_note.into_iter().collect();

    let (t1, first) = table1::table1(&model, &splits, plan.table1_pairs, args.seed)?;
    let t2 = table2::table2(args, &model, &splits[0].dir, &plan.table2_sizes, &mut notes)?;
    let speed_rows = speed::speed(args, &plan.speed_sizes, plan.sinkhorn_max)?;
    let throughput = speed::batched_throughput(&model, args, 1024)?;
    figures::draw(&args.figures(), &splits[0].name, &first, &speed_rows)?;

    let speed_set = speed::speed_pair(&args.meshes, 8, args.seed)?.0.name();
    let facts = document::RunFacts {
        quick: args.quick,
        seed: args.seed,
        // The training description is the built-in model's only: a --model folder says its own.
        model_name: args.model.as_ref().map_or(
            format!("the built-in default model (models/default, trained at {TRAINING_SIZES})"),
            |m| m.display().to_string(),
        ),
        hardware: hardware_line(),
        wall_seconds: started.elapsed().as_secs_f64(),
        notes: &notes,
        table1_pairs: plan.table1_pairs,
        speed_set,
        throughput,
    };
    let md = document::section(&facts, &t1, &t2, &speed_rows, |name| {
        document::relative(&args.out(), &args.figures(), name)
    });
    deepemd_eval::report::update_section(&args.out(), "reproduce-tables", &md)?;
    if args.no_vae {
        eprintln!("the VAE section is left as it is (--no-vae)");
    } else if vae::meshes_present(args) {
        run_vae(args)?;
    } else {
        eprintln!(
            "warning: the VAE section is not updated: CGAL's meshes are not here (cargo xtask \
             prepare-datasets fetches them)"
        );
    }
    eprintln!(
        "wrote {} and {} in {:.0} s",
        args.out().display(),
        args.figures().display(),
        started.elapsed().as_secs_f64()
    );
    if started.elapsed().as_secs() > 15 * 60 && args.quick {
        eprintln!("warning: the quick mode took over 15 minutes on this machine");
    }
    Ok(())
}

/// The VAE experiment: trains or reuses the five runs, draws its figures, writes its section.
fn run_vae(args: &RunArgs) -> Result<()> {
    let plan = if args.quick {
        vae::VaePlan::quick()
    } else {
        vae::VaePlan::full()
    };
    let started = Instant::now();
    let results = vae::vae(args, &plan, &args.vae_runs)?;
    vae_report::draw(&args.figures(), &results)?;
    let md = vae_report::section(&results, args.quick, &hardware_line(), |name| {
        document::relative(&args.out(), &args.figures(), name)
    });
    deepemd_eval::report::update_section(&args.out(), "vae", &md)?;
    eprintln!(
        "wrote the VAE section of {} in {:.0} s",
        args.out().display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
