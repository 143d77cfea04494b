//! Markdown tables and the sections of `docs/results.md`.
//!
//! Each experiment owns one section between `<!-- begin NAME -->` and `<!-- end NAME -->`
//! and rewrites only that, so `bench-peers` and `reproduce-tables` can update the same
//! document independently. The file is replaced atomically.

use std::path::Path;

use crate::error::Result;

/// A table with a header row, printed as Markdown.
#[derive(Clone, Debug, Default)]
pub struct Table {
    /// Column titles.
    pub header: Vec<String>,
    /// Rows, each as long as the header.
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(header: &[&str]) -> Self {
        Self {
            header: header.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    /// Appends a row.
    pub fn push(&mut self, row: Vec<String>) {
        debug_assert_eq!(row.len(), self.header.len());
        self.rows.push(row);
    }

    /// The table as GitHub Markdown.
    pub fn to_markdown(&self) -> String {
        let mut out = format!("| {} |\n", self.header.join(" | "));
        out.push_str(&format!("|{}\n", "---|".repeat(self.header.len())));
        for r in &self.rows {
            out.push_str(&format!("| {} |\n", r.join(" | ")));
        }
        out
    }
}

/// Replaces (or appends) the section `name` of the Markdown file at `path` with `body`.
pub fn update_section(path: &Path, name: &str, body: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        deepemd_data::create_folder(dir)?;
    }
    Ok(deepemd_data::formats::update_marked_section(
        path, name, body,
    )?)
}

/// Formats seconds with three significant digits.
pub fn seconds(s: f64) -> String {
    if s >= 100.0 {
        format!("{s:.0}")
    } else if s >= 1.0 {
        format!("{s:.2}")
    } else if s >= 0.01 {
        format!("{s:.3}")
    } else {
        format!("{s:.2e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_are_replaced_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.md");
        update_section(&p, "a", "first").unwrap();
        update_section(&p, "b", "second").unwrap();
        update_section(&p, "a", "third").unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.contains("third") && text.contains("second") && !text.contains("first"));
        assert!(text.find("third").unwrap() < text.find("second").unwrap());
    }
}
