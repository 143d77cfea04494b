//! What differs between two settings of one kind (a saved run's and a rerun's; a folder's
//! manifest and a command's): every trainer and every resumable job names the settings that
//! changed through this one function.

use serde_json::Value;

/// Each setting that differs between `saved` and `given`, as `name: SAVED → GIVEN` (nested
/// settings as `outer.inner`, a setting only one of them has as `(none)`, values longer than 24
/// characters cut), in name order; top-level settings named in `ignore` are skipped.
pub fn setting_differences<T: serde::Serialize>(
    saved: &T,
    given: &T,
    ignore: &[&str],
) -> Vec<String> {
    let (mut a, mut b) = (
        serde_json::to_value(saved).expect("settings serialize"),
        serde_json::to_value(given).expect("settings serialize"),
    );
    for v in [&mut a, &mut b] {
        if let Value::Object(map) = v {
            for name in ignore {
                map.remove(*name);
            }
        }
    }
    let mut out = Vec::new();
    differences("", &a, &b, &mut out);
    out
}

fn differences(at: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let name = if at.is_empty() {
                    k.clone()
                } else {
                    format!("{at}.{k}")
                };
                differences(
                    &name,
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        _ if a != b => out.push(format!("{at}: {} → {}", short(a), short(b))),
        _ => {}
    }
}

/// A value as JSON (`(none)` for a missing one), cut to 24 characters (hashes are long and need
/// no more to differ).
fn short(v: &Value) -> String {
    if v.is_null() {
        return "(none)".into();
    }
    let text = v.to_string();
    match text.char_indices().nth(24) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Serialize)]
    struct Inner {
        a: f64,
        b: u32,
    }

    #[derive(serde::Serialize)]
    struct Settings {
        chunk_size: usize,
        hash: String,
        source: String,
        mix: Inner,
    }

    #[test]
    fn each_differing_setting_is_named_nested_and_cut() {
        let saved = Settings {
            chunk_size: 256,
            hash: "0123456789abcdef0123456789abcdef".into(),
            source: "here".into(),
            mix: Inner { a: 0.5, b: 3 },
        };
        let given = Settings {
            chunk_size: 64,
            hash: "f".repeat(32),
            source: "there".into(),
            mix: Inner { a: 0.5, b: 4 },
        };
        assert_eq!(
            setting_differences(&saved, &given, &["source"]),
            [
                "chunk_size: 256 → 64",
                "hash: \"0123456789abcdef0123456… → \"fffffffffffffffffffffff…",
                "mix.b: 3 → 4",
            ]
        );
        assert_eq!(
            setting_differences(&saved, &saved, &[]),
            Vec::<String>::new()
        );
        assert_eq!(setting_differences(&saved, &given, &[]).len(), 4);
    }
}
