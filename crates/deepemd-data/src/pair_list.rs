//! List files of cloud pairs (`deepemd emd-batch --list FILE`): one pair per line, the two
//! clouds separated by a tab, or by spaces when the line has no tab; blank lines and lines
//! starting with `#` are skipped; a relative path is relative to the list file's folder.

use std::path::Path;

use crate::error::{Error, Result};
use crate::formats::read_text;

/// Most pairs a list may hold (a bound on what a list file may ask a run to hold in memory).
pub const MAX_LISTED_PAIRS: usize = 10_000_000;

/// The pairs of the list file `list`, as the two specs of each (paths resolved against the
/// list's folder), with the 1-based line number each came from. A line that does not name two
/// clouds, or a list without pairs, is an error naming the file and the line.
pub fn read_pair_list(list: &Path) -> Result<Vec<(usize, String, String)>> {
    let text = read_text(list)?;
    let mut pairs = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = if line.contains('\t') {
            line.split('\t')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .collect()
        } else {
            line.split_whitespace().collect()
        };
        let [a, b] = fields[..] else {
            return Err(Error::format(
                list,
                format!(
                    "line {}: expected two cloud files, found {}",
                    number + 1,
                    fields.len()
                ),
            ));
        };
        if pairs.len() == MAX_LISTED_PAIRS {
            return Err(Error::format(
                list,
                format!("lists more than {MAX_LISTED_PAIRS} pairs; split it"),
            ));
        }
        pairs.push((number + 1, resolve(list, a), resolve(list, b)));
    }
    if pairs.is_empty() {
        return Err(Error::format(list, "no pairs listed"));
    }
    Ok(pairs)
}

/// `p` relative to the list's folder, unless it is absolute.
fn resolve(list: &Path, p: &str) -> String {
    let path = Path::new(p);
    match list.parent() {
        Some(dir) if path.is_relative() && !dir.as_os_str().is_empty() => {
            dir.join(path).display().to_string()
        }
        _ => p.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_read_with_comments_tabs_spaces_and_a_byte_order_mark() {
        let dir = tempfile::tempdir().unwrap();
        let list = dir.path().join("pairs.txt");
        std::fs::write(
            &list,
            "\u{feff}a.xyz b.xyz\n# a comment\n\n  my file.ply\t/abs/c.npy  \r\nx.h5#3 y.h5:data#0\n",
        )
        .unwrap();
        let pairs = read_pair_list(&list).unwrap();
        let d = dir.path().display();
        assert_eq!(
            pairs,
            [
                (1, format!("{d}/a.xyz"), format!("{d}/b.xyz")),
                (4, format!("{d}/my file.ply"), "/abs/c.npy".to_string()),
                (5, format!("{d}/x.h5#3"), format!("{d}/y.h5:data#0")),
            ]
        );
        for (text, says) in [
            ("a.xyz\n", "line 1: expected two cloud files, found 1"),
            ("# only\n\n", "no pairs listed"),
            ("a b c\n", "found 3"),
        ] {
            std::fs::write(&list, text).unwrap();
            let e = read_pair_list(&list).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
        }
        std::fs::write(&list, b"a.xyz \xff.xyz\n").unwrap();
        let e = read_pair_list(&list).unwrap_err().to_string();
        assert!(e.contains("not UTF-8"), "{e}");
    }
}
