//! Sharded runs (`--shard I/N`) as a batch scheduler would start them: separate processes, one
//! killed mid-way and resumed; their folders, merged, equal one unsharded run file for file,
//! `merge-shards` names a missing shard and every file that does not verify, and merging again
//! (a requeued merge step) is harmless.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{deepemd, kill_once_exists, write_npy};

/// Every file of `dirs` by name, with its bytes; a name in two folders fails the test.
fn union(dirs: &[&Path]) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    for dir in dirs {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(entry.path()).unwrap();
            if name.ends_with(".json") {
                // The manifest is in every shard's folder, the same bytes each time.
                if let Some(old) = files.insert(name.clone(), bytes.clone()) {
                    assert_eq!(old, bytes, "{name} differs between shards");
                }
            } else {
                assert!(
                    files.insert(name.clone(), bytes).is_none(),
                    "{name} in two shard folders"
                );
            }
        }
    }
    files
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn succeeded(out: Output) -> String {
    assert!(out.status.success(), "{}", stderr(&out));
    stderr(&out)
}

fn merge(folders: &[&Path], shards: usize, out: Option<&Path>) -> Output {
    let mut args = vec![
        "merge-shards".to_string(),
        "--shards".into(),
        shards.to_string(),
    ];
    if let Some(out) = out {
        args.extend(["--out".into(), out.display().to_string()]);
    }
    args.extend(folders.iter().map(|f| f.display().to_string()));
    deepemd(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn prepare_pairs(out: &Path, shard: &str) -> Command {
    let dataset = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/fixtures/cgal-mini");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_deepemd"));
    cmd.args(["prepare-pairs", "--points", "200", "--pairs", "600"])
        .args(["--shard-size", "20", "--seed", "5", "--shard", shard])
        .arg("--dataset")
        .arg(dataset)
        .arg("--out")
        .arg(out);
    cmd
}

#[test]
fn three_pair_shards_one_killed_and_resumed_merge_into_the_unsharded_set() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let whole = root.join("whole");
    succeeded(prepare_pairs(&whole, "0/1").output().unwrap());
    assert_eq!(
        union(&[&whole]).len(),
        61,
        "30 shard files, their receipts and pairs.json"
    );

    let s: Vec<PathBuf> = (0..3).map(|i| root.join(format!("shard{i}"))).collect();
    // Shard 1 of 3 owns files 1, 4, …, 28: killed once its first is recorded (its receipt
    // written), then rerun.
    kill_once_exists(
        prepare_pairs(&s[1], "1/3"),
        &s[1].join("pairs-00001.h5.receipt"),
    );
    assert!(
        !s[1].join("pairs-00028.h5").exists(),
        "the shard finished before it could be killed"
    );
    let mut others: Vec<_> = [0, 2]
        .iter()
        .map(|&i| prepare_pairs(&s[i], &format!("{i}/3")).spawn().unwrap())
        .collect();
    let log = succeeded(prepare_pairs(&s[1], "1/3").output().unwrap());
    assert!(
        log.contains("10 shards (shard 1/3 of the set's 30)"),
        "{log}"
    );
    assert!(!log.contains("(0 complete before this run)"), "{log}");
    for child in &mut others {
        assert!(child.wait().unwrap().success());
    }

    let shards: Vec<&Path> = s.iter().map(PathBuf::as_path).collect();
    // Copying the folders together is the unsharded set, byte for byte (no leftovers of the
    // killed run either).
    assert_eq!(union(&shards), union(&[&whole]));
    let merged = root.join("merged");
    let log = succeeded(merge(&shards, 3, Some(&merged)));
    assert!(
        log.contains("complete, every file verified against its receipt"),
        "{log}"
    );
    assert_eq!(union(&[&merged]), union(&[&whole]));

    // Shard 1 passed twice (in two folders), shard 2 not at all: 2 is named as missing, the
    // identical copies of shard 1 are no problem.
    let copy = root.join("shard1-copy");
    std::fs::create_dir_all(&copy).unwrap();
    for (name, bytes) in union(&[&s[1]]) {
        std::fs::write(copy.join(name), bytes).unwrap();
    }
    let out = merge(&[&s[0], &s[1], &copy], 3, None);
    assert!(!out.status.success());
    let e = stderr(&out);
    assert!(
        e.contains("shard 2/3 is missing: 10 of its 10 files"),
        "{e}"
    );
    assert!(!e.contains("shard 1/3"), "{e}");
    // A file of shard 1 damaged (one byte): refused in its only copy; beside a verified copy,
    // that one is used and the damaged one reported.
    let victim = s[1].join("pairs-00004.h5");
    let good = std::fs::read(&victim).unwrap();
    let mut bad = good.clone();
    let middle = bad.len() / 2;
    bad[middle] ^= 0x04;
    std::fs::write(&victim, &bad).unwrap();
    let e = stderr(&merge(&shards, 3, None));
    assert!(
        e.contains("pairs-00004.h5: not trusted: its content changed"),
        "{e}"
    );
    let log = succeeded(merge(&[&s[0], &s[1], &s[2], &copy], 3, None));
    assert!(
        log.contains("warning: ") && log.contains("pairs-00004.h5: not trusted"),
        "{log}"
    );
    std::fs::write(&victim, &good).unwrap();
    // A shard killed and not resumed is missing the files it did not make.
    std::fs::remove_file(s[0].join("pairs-00027.h5")).unwrap();
    let e = stderr(&merge(&shards, 3, None));
    assert!(
        e.contains(
            "shard 0/3 is missing: 1 of its 10 files are in none of the folders (pairs-00027.h5)"
        ),
        "{e}"
    );

    // Merging into one of the shard folders (shard 0 rerun first) completes that folder; the
    // same merge again (a requeued merge step, a folder named twice) copies nothing.
    succeeded(prepare_pairs(&s[0], "0/3").output().unwrap());
    let log = succeeded(merge(&shards, 3, Some(&s[0])));
    assert!(log.contains("20 files copied"), "{log}");
    let again = [
        s[0].as_path(),
        s[0].as_path(),
        s[1].as_path(),
        s[2].as_path(),
    ];
    let log = succeeded(merge(&again, 3, Some(&s[0])));
    assert!(log.contains("; 0 files copied"), "{log}");
    assert_eq!(union(&[&s[0]]), union(&[&whole]));
    succeeded(merge(&[&s[0]], 3, None));
}

/// `n` clouds of 48 points on a wobbly sphere; `seed` varies them.
fn clouds(n: usize, seed: f32) -> Vec<f32> {
    (0..n * 48)
        .flat_map(|k| {
            let t = k as f32 * 0.37 + seed;
            let r = 1.0 + 0.1 * (3.0 * t).sin() + 0.02 * (k / 48) as f32;
            [
                r * t.cos() * (0.5 * t).sin(),
                r * t.sin() * (0.5 * t).sin(),
                r * (0.5 * t).cos(),
            ]
        })
        .collect()
}

/// A `--json` output's metrics without the run's time and work (which differ between the
/// pruned search, a nearest set and a distance set; the metrics do not).
fn metrics_without_work(out: &Output) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in ["seconds", "exact_solves", "dual_bounds"] {
        v.as_object_mut().unwrap().remove(key);
    }
    v
}

#[test]
fn three_nearest_shards_merge_into_the_unsharded_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (r, g) = (root.join("r.npy"), root.join("g.npy"));
    write_npy(&r, &clouds(7, 0.0), (7, 48));
    write_npy(&g, &clouds(6, 0.5), (6, 48));
    let run = |extra: &[&str]| {
        let mut args = vec!["gen-metrics", "--json"];
        args.extend(["--reference", r.to_str().unwrap()]);
        args.extend(["--generated", g.to_str().unwrap()]);
        args.extend(extra);
        deepemd(&args)
    };
    // 2 · (7 + 6) = 26 queries in units of 4: 7 unit files.
    let in_memory = run(&[]);
    let s: Vec<PathBuf> = (0..3).map(|i| root.join(format!("s{i}"))).collect();
    for (i, folder) in s.iter().enumerate() {
        let shard = format!("{i}/3");
        let out = run(&[
            "--out",
            folder.to_str().unwrap(),
            "--shard",
            &shard,
            "--chunk-size",
            "4",
        ]);
        succeeded(out.clone());
        assert!(out.stdout.is_empty(), "a shard prints no metrics");
    }
    assert!(s[1].join("nearest-00004.json.receipt").exists());
    let shards: Vec<&Path> = s.iter().map(PathBuf::as_path).collect();
    let merged = root.join("merged");
    let log = succeeded(merge(&shards, 3, Some(&merged)));
    assert!(log.contains("nearest.json"), "{log}");
    let from_merged = run(&["--out", merged.to_str().unwrap()]);
    let log = succeeded(from_merged.clone());
    assert!(log.contains("(7 complete before this run)"), "{log}");
    assert_eq!(
        metrics_without_work(&from_merged),
        metrics_without_work(&in_memory)
    );
    // A pruned folder is not completed as a distance set.
    let e = stderr(&run(&["--out", merged.to_str().unwrap(), "--brute-force"]));
    assert!(
        e.contains("nearest.json") && e.contains("--brute-force"),
        "{e}"
    );
}

#[test]
fn three_distance_shards_merge_into_the_unsharded_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let (r, g) = (root.join("r.npy"), root.join("g.npy"));
    write_npy(&r, &clouds(7, 0.0), (7, 48));
    write_npy(&g, &clouds(6, 0.5), (6, 48));
    let run = |extra: &[&str]| {
        let mut args = vec!["gen-metrics", "--json"];
        args.extend(["--reference", r.to_str().unwrap()]);
        args.extend(["--generated", g.to_str().unwrap()]);
        if !extra.is_empty() {
            args.extend(["--chunk-size", "5", "--brute-force"]);
        }
        args.extend(extra);
        deepemd(&args)
    };
    // 7·6 + 21 + 15 = 78 cloud pairs: 16 chunks.
    let in_memory = run(&[]);
    let whole = root.join("whole");
    let on_disk = run(&["--out", whole.to_str().unwrap()]);
    succeeded(on_disk.clone());
    let s: Vec<PathBuf> = (0..3).map(|i| root.join(format!("s{i}"))).collect();
    for (i, folder) in s.iter().enumerate() {
        let shard = format!("{i}/3");
        let out = run(&["--out", folder.to_str().unwrap(), "--shard", &shard]);
        let log = succeeded(out.clone());
        assert!(out.stdout.is_empty(), "a shard prints no metrics");
        assert!(log.contains("merge-shards --shards 3"), "{log}");
    }
    // An interrupted shard: one chunk gone, a temporary file left; the rerun completes it.
    std::fs::remove_file(s[2].join("distances-00005.npy")).unwrap();
    std::fs::write(s[2].join(".distances-00005.npy.77.tmp"), b"half").unwrap();
    let log = succeeded(run(&["--out", s[2].to_str().unwrap(), "--shard", "2/3"]));
    assert!(log.contains("(4 complete before this run)"), "{log}");

    let shards: Vec<&Path> = s.iter().map(PathBuf::as_path).collect();
    assert_eq!(union(&shards), union(&[&whole]));
    let merged = root.join("merged");
    succeeded(merge(&shards, 3, Some(&merged)));
    assert_eq!(union(&[&merged]), union(&[&whole]));
    let from_merged = run(&["--out", merged.to_str().unwrap()]);
    let log = succeeded(from_merged.clone());
    assert!(log.contains("(16 complete before this run)"), "{log}");
    // The same metrics in memory, from the unsharded folder and from the merged shards.
    let metrics = metrics_without_work;
    assert_eq!(metrics(&from_merged), metrics(&in_memory));
    assert_eq!(metrics(&on_disk), metrics(&in_memory));
    // The final run need not repeat the shards' --chunk-size: the folder's is used. Another one
    // is refused, naming the setting.
    let (r_arg, g_arg) = (r.to_str().unwrap(), g.to_str().unwrap());
    let plain = [
        "gen-metrics",
        "--json",
        "--reference",
        r_arg,
        "--generated",
        g_arg,
    ];
    let final_run = deepemd(&[&plain[..], &["--out", merged.to_str().unwrap()]].concat());
    let log = succeeded(final_run.clone());
    assert!(log.contains("(16 complete before this run)"), "{log}");
    assert_eq!(metrics(&final_run), metrics(&in_memory));
    let other = ["--out", merged.to_str().unwrap(), "--chunk-size", "7"];
    let e = stderr(&deepemd(&[&plain[..], &other].concat()));
    assert!(
        e.contains("(in the folder → given: chunk_size: 5 → 7)"),
        "{e}"
    );

    // Shard 0 missing; shards 0 and 1 twice (in their folders and in the unsharded one) are
    // identical copies, accepted.
    let e = stderr(&merge(&shards[1..], 3, None));
    assert!(e.contains("shard 0/3 is missing: 6 of its 6 files"), "{e}");
    succeeded(merge(&[&s[0], &s[1], &whole], 3, None));

    // Stale chunks of another job: the sets rerun with other generated clouds of the same size
    // after distances.json was deleted. Every chunk is remade; the metrics are the new set's.
    let g2 = root.join("g2.npy");
    write_npy(&g2, &clouds(6, 0.9), (6, 48));
    std::fs::remove_file(merged.join("distances.json")).unwrap();
    let with_g2 = |extra: &[&str]| {
        let mut args = vec!["gen-metrics", "--json", "--reference", r.to_str().unwrap()];
        args.extend(["--generated", g2.to_str().unwrap()]);
        args.extend(extra);
        deepemd(&args)
    };
    let stale = with_g2(&[
        "--out",
        merged.to_str().unwrap(),
        "--chunk-size",
        "5",
        "--brute-force",
    ]);
    let log = succeeded(stale.clone());
    assert!(
        log.contains("16 chunk files in the folder did not verify"),
        "{log}"
    );
    assert!(log.contains("made by another job"), "{log}");
    assert_eq!(metrics(&stale), metrics(&with_g2(&[])));
    assert_ne!(metrics(&stale), metrics(&in_memory));
}
