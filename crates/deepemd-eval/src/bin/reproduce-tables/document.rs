//! The "reproduce-tables" section of docs/results.md: the tables as Markdown and the prose
//! around them.

use std::path::Path;

use deepemd_core::Method;
use deepemd_eval::report::{Table, seconds};
use deepemd_eval::stats::{KINDS, MethodStats, f4, opt, pct};
use deepemd_methods::MethodSpec;
use deepemd_model::MAX_BATCH;

use crate::TRAIN_POINTS;
use crate::speed::{SpeedRow, speed_methods};
use crate::table1::{Table1Method, Table1Row};
use crate::table2::Table2Row;

/// What the run was: the heading's facts.
pub struct RunFacts<'a> {
    pub quick: bool,
    pub seed: u64,
    pub model_name: String,
    pub hardware: String,
    pub wall_seconds: f64,
    pub notes: &'a [String],
    pub table1_pairs: usize,
    pub speed_set: &'a str,
    pub throughput: f64,
}

const PAIRS: &str = "Pairs are drawn as in training (different shapes, same shape resampled, \
    perturbed copies, a few random clouds), normalized jointly, and solved exactly by `exact`.";

const TABLE1_AFTER: &str = "ρ per pair type is the Spearman correlation within that type only \
    (pooled correlations are inflated when types of very different EMD scale are mixed). \
    Chamfer is scaled by the median EMD/Chamfer ratio of the same pairs. Bias per pair type, row \
    argmax:";

const SPEED_BEFORE: &str = "Each cell is a fresh process (median of 3 runs at n ≤ 1024, 1 run \
    above); peak MiB is that process's peak resident memory, its baseline (~the binary and, for \
    the model, its weights) included. Ratios above 1 mean faster than `hungarian` (scipy's \
    algorithm).";

/// The whole section.
pub fn section(
    facts: &RunFacts,
    t1: &[Table1Row],
    t2: &[Table2Row],
    speed: &[SpeedRow],
    figure: impl Fn(&str) -> String,
) -> String {
    let mut md = format!(
        "## DeepEMD tables (`cargo xtask reproduce-tables{}`)\n\nMode {}; seed {}; model: {}; \
         hardware: {}; wall time {:.0} s.\n{PAIRS}\n",
        if facts.quick { " --quick" } else { "" },
        if facts.quick { "--quick" } else { "full" },
        facts.seed,
        facts.model_name,
        facts.hardware,
        facts.wall_seconds,
    );
    for n in facts.notes {
        md.push_str(&format!("\nNote: {n}.\n"));
    }
    md.push_str(&format!(
        "\n### Table 1 — accuracy at n = {TRAIN_POINTS} ({} pairs per split; the \"vs\" split \
         pairs clouds of two sizes, against the exact partial matching; Sinkhorn has no row \
         there)\n\n{}\n{TABLE1_AFTER}\n\n{}",
        facts.table1_pairs,
        table1(t1).to_markdown(),
        bias(t1).to_markdown()
    ));
    md.push_str(&format!(
        "\n### Table 2 — generalization over sizes (held-out meshes; \"×\" is relative to \
         n = {TRAIN_POINTS}); unbalanced rows (n vs m) \
         compare with the exact partial matching of the smaller cloud, the bijective rounding \
         covering it\n\n{}",
        table2(t2).to_markdown()
    ));
    md.push_str(&format!(
        "\n### Speed — per pair, {}, one run\n\n{SPEED_BEFORE} Model batched throughput at n = \
         1024 ({MAX_BATCH} pairs per forward pass, row argmax): {:.2} pairs/s.\n\n{}",
        facts.speed_set,
        facts.throughput,
        speed_table(speed).to_markdown()
    ));
    md.push_str(&format!(
        "\n### Figures\n\n![estimate vs exact]({})\n\n![gradient cosine CDF]({})\n\n![time vs \
         n]({})\n",
        figure("scatter.png"),
        figure("gradient_cosine_cdf.png"),
        figure("time_vs_n.png")
    ));
    md
}

fn table1(rows: &[Table1Row]) -> Table {
    let kinds: Vec<String> = KINDS.iter().map(|k| format!("ρ {}", k.name())).collect();
    let mut header = vec![
        "split",
        "method",
        "r",
        "ρ",
        "τ",
        "mean rel err",
        "mean abs rel err",
        "median rel err",
    ];
    header.extend(kinds.iter().map(String::as_str));
    header.extend([
        "row acc",
        "targets hit twice",
        "grad cos median",
        "grad cos p10",
    ]);
    let mut table = Table::new(&header);
    for r in rows {
        let s = &r.stats;
        let mut row = vec![
            r.split.clone(),
            r.method.label(),
            f4(s.pearson),
            f4(s.spearman),
            f4(s.kendall),
            pct(s.mean_rel),
            pct(s.mean_abs_rel),
            pct(s.median_rel),
        ];
        row.extend(s.rho_by_kind.iter().map(|&x| f4(x)));
        row.push(opt(s.row_accuracy, |x| format!("{x:.3}")));
        row.push(opt(s.hit_twice, |x| format!("{:.1}%", 100.0 * x)));
        row.push(opt(s.grad_cosine.map(|g| g.0), f4));
        row.push(opt(s.grad_cosine.map(|g| g.1), f4));
        table.push(row);
    }
    table
}

fn bias(rows: &[Table1Row]) -> Table {
    let mut table = Table::new(&[
        "split",
        "method",
        "bias different shapes",
        "bias same shape resampled",
        "bias perturbed copy",
    ]);
    for r in rows
        .iter()
        .filter(|r| matches!(r.method, Table1Method::Model(_)))
    {
        let mut row = vec![r.split.clone(), r.method.label()];
        row.extend(r.stats.bias_by_kind.iter().map(|&x| pct(x)));
        table.push(row);
    }
    table
}

fn table2(rows: &[Table2Row]) -> Table {
    let mut table = Table::new(&[
        "n (vs m)",
        "smaller × training size",
        "pairs",
        "r (argmax)",
        "ρ (argmax)",
        "mean rel err (argmax)",
        "row acc (argmax)",
        "targets hit twice",
        "mean rel err (refined)",
        "row acc (refined)",
        "grad cos median / p10 (argmax)",
        "grad cos median / p10 (refined)",
    ]);
    let cosines = |s: &MethodStats| {
        s.grad_cosine
            .map_or("–".into(), |(m, p)| format!("{m:.3} / {p:.3}"))
    };
    for r in rows {
        table.push(vec![
            match r.sizes {
                (n, m) if n == m => n.to_string(),
                (n, m) => format!("{n} vs {m}"),
            },
            format!(
                "{:.1}",
                r.sizes.0.min(r.sizes.1) as f64 / TRAIN_POINTS as f64
            ),
            r.pairs.to_string(),
            f4(r.argmax.pearson),
            f4(r.argmax.spearman),
            pct(r.argmax.mean_rel),
            opt(r.argmax.row_accuracy, |x| format!("{x:.3}")),
            opt(r.argmax.hit_twice, |x| format!("{:.1}%", 100.0 * x)),
            pct(r.refined.mean_rel),
            opt(r.refined.row_accuracy, |x| format!("{x:.3}")),
            cosines(&r.argmax),
            cosines(&r.refined),
        ]);
    }
    table
}

fn speed_table(rows: &[SpeedRow]) -> Table {
    let methods = speed_methods();
    let reference = MethodSpec::new(Method::Hungarian);
    let mut header = vec!["n".to_string()];
    header.extend(methods.iter().map(|m| format!("{m} s")));
    header.extend(
        methods
            .iter()
            .filter(|&&m| m != reference)
            .map(|m| format!("{reference} / {m}")),
    );
    header.extend(methods.iter().map(|m| format!("{m} peak MiB")));
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let mut table = Table::new(&header);
    for r in rows {
        let mut row = vec![r.n.to_string()];
        row.extend(
            methods
                .iter()
                .map(|&m| r.of(m).map_or("–".into(), |x| seconds(x.seconds))),
        );
        let reference_s = r.of(reference).map(|x| x.seconds);
        row.extend(methods.iter().filter(|&&m| m != reference).map(|&m| {
            match (reference_s, r.of(m)) {
                (Some(h), Some(x)) => format!("{:.2}×", h / x.seconds),
                _ => "–".into(),
            }
        }));
        row.extend(
            methods
                .iter()
                .map(|&m| r.of(m).map_or("–".into(), |x| format!("{:.0}", x.peak_mib))),
        );
        table.push(row);
    }
    table
}

/// A figure's path relative to the document's folder.
pub fn relative(document: &Path, figures: &Path, name: &str) -> String {
    let from = document.parent().unwrap_or(Path::new("."));
    let p = figures.join(name);
    p.strip_prefix(from)
        .map_or(p.display().to_string(), |r| r.display().to_string())
}
