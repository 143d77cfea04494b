//! `cargo xtask check-readme` (part of `cargo xtask test`): the README's figures come from
//! docs/results.md, so that the two cannot disagree.
//!
//! - A table after a `<!-- rows from docs/results.md -->` line is a copy: each of its rows must
//!   be a line of docs/results.md, character for character.
//! - Everywhere else outside code (fenced blocks, `inline code`, link targets, HTML comments), a
//!   *figure* — a number with a decimal point, or one followed by a unit (`%`, `×`, `s`, `ms`,
//!   `MiB`, `GiB`, `GB`, `minutes`, `hours`) — must occur in docs/results.md: with the same sign
//!   when the README writes one (`−` and `-` alike), and with the same unit or none (tables
//!   give units in their headers) but never another unit; `%` and `×` must match exactly. Group
//!   spaces are ignored; bare integers (sizes, counts) are not figures.
//!
//! The README's code blocks are checked elsewhere: Rust as doctests of `deepemd-eval`, Python
//! by the pytest suite, `sh` by `deepemd-cli`'s tests.

use anyhow::{Result, bail};

use crate::system::workspace_root;

/// The marker before a table copied from docs/results.md.
const ROWS_MARKER: &str = "<!-- rows from docs/results.md -->";

/// Numbers in prose that are not measurements: the paper's arXiv number.
const NOT_FIGURES: &[&str] = &["2311.09998"];

/// Crate documentation with figures: its `//!` lines are checked like the README.
const CRATE_DOCS: &[&str] = &["crates/deepemd-loss/src/lib.rs"];

/// Checks the repository's README (and the crate documentation of [`CRATE_DOCS`]) against its
/// docs/results.md.
pub fn check_readme() -> Result<()> {
    let root = workspace_root();
    let results = std::fs::read_to_string(root.join("docs/results.md"))?;
    let mut problems = Vec::new();
    let readme = std::fs::read_to_string(root.join("README.md"))?;
    for p in readme_problems(&readme, &results) {
        problems.push(format!("README.md {p}"));
    }
    for file in CRATE_DOCS {
        let source = std::fs::read_to_string(root.join(file))?;
        // Line numbers stay the file's: other lines become empty.
        let doc: Vec<&str> = source
            .lines()
            .map(|l| l.strip_prefix("//!").map_or("", str::trim_start))
            .collect();
        for p in readme_problems(&doc.join("\n"), &results) {
            problems.push(format!("{file} {p}"));
        }
    }
    if problems.is_empty() {
        eprintln!("xtask: every README figure is in docs/results.md");
        return Ok(());
    }
    bail!(
        "figures that disagree with docs/results.md ({}):\n  {}",
        problems.len(),
        problems.join("\n  ")
    )
}

/// What in `readme` is not backed by `results`, one line each, naming the README's line.
pub fn readme_problems(readme: &str, results: &str) -> Vec<String> {
    let result_lines: std::collections::HashSet<&str> = results.lines().map(str::trim).collect();
    let known = Figures::of(results);
    let mut problems = Vec::new();
    let (mut in_code, mut copied_table, mut after_marker) = (false, false, false);
    for (k, line) in readme.lines().enumerate() {
        let at = k + 1;
        let trimmed = line.trim();
        if trimmed.starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if in_code {
            continue;
        }
        if trimmed == ROWS_MARKER {
            after_marker = true;
            continue;
        }
        let is_row = trimmed.starts_with('|');
        if is_row && after_marker {
            copied_table = true;
        }
        if !is_row {
            copied_table = false;
            after_marker = after_marker && trimmed.is_empty();
        }
        if copied_table {
            if !result_lines.contains(trimmed) {
                problems.push(format!(
                    "line {at}: this row is not a row of docs/results.md"
                ));
            }
            continue;
        }
        for figure in figures_in(&prose_of(line)) {
            if !known.contains(&figure) {
                problems.push(format!(
                    "line {at}: {} is not in docs/results.md",
                    figure.shown()
                ));
            }
        }
    }
    problems
}

/// A number as written: its sign (when written: `-` for `−` too), digits (group spaces
/// removed) and the unit right after it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Written {
    sign: Option<char>,
    number: String,
    unit: Option<&'static str>,
}

impl Written {
    fn shown(&self) -> String {
        let sign = self.sign.map(String::from).unwrap_or_default();
        let unit = match self.unit {
            Some(u) if u.starts_with(char::is_alphabetic) => format!(" {u}"),
            other => other.unwrap_or("").to_string(),
        };
        format!("{sign}{}{unit}", self.number)
    }

    /// Whether `self` (the README's) is backed by `other` (one of the results').
    fn backed_by(&self, other: &Written) -> bool {
        let sign = self.sign.is_none() || self.sign == other.sign;
        let unit = match self.unit {
            Some(u) if STRICT_UNITS.contains(&u) => other.unit == Some(u),
            Some(u) => other.unit.is_none() || other.unit == Some(u),
            None => true,
        };
        self.number == other.number && sign && unit
    }
}

/// Every number of docs/results.md, by its digits.
struct Figures(std::collections::HashMap<String, Vec<Written>>);

impl Figures {
    fn of(results: &str) -> Self {
        let mut map: std::collections::HashMap<String, Vec<Written>> = Default::default();
        for w in numbers_in(results) {
            map.entry(w.number.clone()).or_default().push(w);
        }
        Self(map)
    }

    fn contains(&self, figure: &Written) -> bool {
        self.0
            .get(&figure.number)
            .is_some_and(|all| all.iter().any(|w| figure.backed_by(w)))
    }
}

/// Units a figure must match exactly (a percentage is not a ratio).
const STRICT_UNITS: &[&str] = &["%", "×"];
/// Units that make an integer a figure.
const UNITS: &[&str] = &["%", "×", "ms", "s", "MiB", "GiB", "GB", "minutes", "hours"];

/// The figures of a line of prose.
fn figures_in(prose: &str) -> Vec<Written> {
    numbers_in(prose)
        .into_iter()
        .filter(|w| w.number.contains('.') || w.unit.is_some())
        .filter(|w| !NOT_FIGURES.contains(&w.number.as_str()))
        .collect()
}

/// The numbers of `text`: digits with thin or no-break group spaces and a decimal part (an
/// exponent, `4.79e-3`, is kept), the sign written right before (after a space, `(`, `|`, `~`
/// or the line's start) and the unit right after (after at most one space).
fn numbers_in(text: &str) -> Vec<Written> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut k = 0;
    while k < chars.len() {
        let starts = chars[k].is_ascii_digit()
            && (k == 0 || !(chars[k - 1].is_alphanumeric() || chars[k - 1] == '.'));
        if !starts {
            k += 1;
            continue;
        }
        let sign = (k >= 1 && matches!(chars[k - 1], '-' | '−' | '+'))
            .then(|| chars[k - 1])
            .filter(|_| k < 2 || matches!(chars[k - 2], ' ' | '(' | '|' | '~' | '\n'))
            .map(|c| if c == '−' { '-' } else { c });
        let mut number = String::new();
        while k < chars.len() {
            let c = chars[k];
            let group_space = matches!(c, '\u{2009}' | '\u{202f}' | '\u{a0}' | ' ')
                && chars.len() > k + 3
                && chars[k + 1..k + 4].iter().all(char::is_ascii_digit)
                && chars.get(k + 4).is_none_or(|d| !d.is_ascii_digit())
                && number.len() <= 3
                && !number.contains('.');
            let decimal_point = c == '.' && chars.get(k + 1).is_some_and(char::is_ascii_digit);
            if c.is_ascii_digit() || decimal_point {
                number.push(c);
            } else if (c == 'e' || c == 'E')
                && number.contains('.')
                && chars
                    .get(k + 1)
                    .is_some_and(|d| *d == '-' || d.is_ascii_digit())
            {
                number.push('e');
                if chars[k + 1] == '-' {
                    number.push('-');
                    k += 1;
                }
            } else if group_space {
                // "65 536": the group separator is dropped.
            } else {
                break;
            }
            k += 1;
        }
        let after: String = chars[k..].iter().take(12).collect();
        let after = after.strip_prefix(' ').unwrap_or(&after);
        let unit = UNITS.iter().copied().find(|u| {
            after.starts_with(u)
                && after[u.len()..]
                    .chars()
                    .next()
                    .is_none_or(|c| !c.is_alphanumeric())
        });
        out.push(Written { sign, number, unit });
    }
    out
}

/// A line without what is not prose: `inline code`, link targets `(…)` after `]`, and HTML
/// comments.
fn prose_of(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('`') {
            // An unmatched backtick is text: the rest of the line is still checked.
            rest = after.split_once('`').map_or(after, |(_, r)| r);
        } else if let Some(after) = rest.strip_prefix("](") {
            out.push(']');
            rest = after.split_once(')').map_or("", |(_, r)| r);
        } else if let Some(after) = rest.strip_prefix("<!--") {
            rest = after.split_once("-->").map_or("", |(_, r)| r);
        } else {
            let c = rest.chars().next().expect("not empty");
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const RESULTS: &str = "Speed: exact 0.117 s, model 0.293; 12.16× scipy; bias +1.88%.\n\
                           | a | 0.034 | 5.82× |\n\
                           At 65 536 points 14.46 s, 183 MiB.\n";

    #[test]
    fn figures_from_the_results_pass() {
        let readme = "Exact 0.117 s against 0.293 s, 12.16× faster, bias 1.88 %, \
                      65 536 points in 14.46 s and 183 MiB. `0.999 in code` [x](v1.5.md)\n\
                      <!-- rows from docs/results.md -->\n| a | 0.034 | 5.82× |\n\n\
                      ```sh\ndeepemd emd a b  # 9.99 s\n```\n";
        assert_eq!(readme_problems(readme, RESULTS), Vec::<String>::new());
    }

    #[test]
    fn a_figure_or_a_row_that_disagrees_is_named() {
        let readme = "exact 0.12 s per pair, 12.2× faster, 1.88× better, 14 minutes\n\
                      <!-- rows from docs/results.md -->\n| a | 0.035 | 5.82× |\n";
        let problems = readme_problems(readme, RESULTS);
        assert_eq!(
            problems,
            [
                "line 1: 0.12 s is not in docs/results.md",
                "line 1: 12.2× is not in docs/results.md",
                "line 1: 1.88× is not in docs/results.md",
                "line 1: 14 minutes is not in docs/results.md",
                "line 3: this row is not a row of docs/results.md",
            ]
        );
    }

    #[test]
    fn numbers_keep_exponents_group_spaces_and_signs() {
        let n = numbers_in("4.79e-3 s, 65 536 points, 2.3e-15, v2 x1.5 7 GB, −2.36 % (+1.07%)");
        let numbers: Vec<&str> = n.iter().map(|w| w.number.as_str()).collect();
        assert_eq!(
            numbers,
            ["4.79e-3", "65536", "2.3e-15", "7", "2.36", "1.07"]
        );
        assert_eq!(n[0].unit, Some("s"));
        assert_eq!(n[3].unit, Some("GB"));
        assert_eq!((n[4].sign, n[4].unit), (Some('-'), Some("%")));
        assert_eq!(n[5].sign, Some('+'));
    }

    #[test]
    fn signs_and_units_must_agree_when_written() {
        let results = "bias -7.08% and 0.117 s; peak | 183 |\n";
        let ok = "−7.08 %, 7.08 %, 0.117 s, 183 MiB\n";
        assert_eq!(readme_problems(ok, results), Vec::<String>::new());
        let bad = "+7.08 %, 0.117 ms, `unclosed 9.99 s\n";
        assert_eq!(
            readme_problems(bad, results),
            [
                "line 1: +7.08% is not in docs/results.md",
                "line 1: 0.117 ms is not in docs/results.md",
                "line 1: 9.99 s is not in docs/results.md",
            ]
        );
    }

    #[test]
    fn the_repository_readme_agrees_with_its_results() {
        check_readme().unwrap();
    }
}
