//! Checkpoints: a folder `checkpoint/` in the run folder with `config.json` (the network),
//! `model.safetensors`, `optimizer.safetensors` and `state.json` (step, settings, history).
//! It is written in a temporary folder and renamed into place, so a kill at any moment
//! leaves the previous checkpoint or the new one, never half of one; `files.sha256` lists every
//! file's SHA-256, checked before a resume trusts the folder.

use std::path::{Path, PathBuf};

use candle_nn::VarMap;
use deepemd_data::sharding::sha256_hex;

use deepemd_model::ModelConfig;

use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::optimizer::AdamW;

/// One training step's figures.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepRecord {
    /// 0-based step.
    pub step: usize,
    /// Training loss.
    pub loss: f32,
    /// Share of rows whose argmax is the optimal target.
    pub row_accuracy: f32,
    /// Learning rate used.
    pub lr: f64,
}

/// One evaluation on held-out pairs.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvalRecord {
    /// Steps done when it ran.
    pub step: usize,
    /// Pearson r of the row-argmax estimate vs the exact EMD.
    pub pearson: f64,
    /// Spearman ρ.
    pub spearman: f64,
    /// Kendall τ-b.
    pub kendall: f64,
    /// Mean of (estimate − exact) / exact.
    pub mean_relative_error: f64,
    /// Share of rows matched as in the optimum.
    pub row_accuracy: f64,
}

/// Everything besides the weights that a resumed run needs.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainState {
    /// Steps done.
    pub step: usize,
    /// The run's settings.
    pub config: TrainConfig,
    /// Every step so far.
    pub history: Vec<StepRecord>,
    /// Every evaluation so far.
    pub evals: Vec<EvalRecord>,
    /// Training wall time so far, over all sessions.
    pub wall_seconds: f64,
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// The checkpoint folder of a run.
pub fn checkpoint_dir(run: &Path) -> PathBuf {
    run.join("checkpoint")
}

/// Writes the checkpoint atomically (temporary folder, then rename).
pub fn save_checkpoint(
    run: &Path,
    varmap: &VarMap,
    optimizer: &AdamW,
    state: &TrainState,
) -> Result<()> {
    save_folder_atomically(run, |tmp| {
        write_checkpoint_files(tmp, varmap, optimizer, state)
    })
}

/// Writes `RUN/checkpoint/` atomically: `write` fills a temporary folder in `run`, which then
/// replaces the previous checkpoint by two renames (see [`find_checkpoint`] for a kill between
/// them). Every trainer of the workspace saves its checkpoints through this.
pub fn save_folder_atomically<E: From<Error>>(
    run: &Path,
    write: impl FnOnce(&Path) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    deepemd_data::create_folder(run).map_err(Error::from)?;
    remove_stale_temporaries(run);
    let tmp = run.join(format!("{TMP_PREFIX}{}", std::process::id()));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
    let result = write(&tmp).and_then(|()| record_file_hashes(&tmp).map_err(E::from));
    if result.is_err() {
        // A full disk must not leave a half-written folder behind for every attempt.
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result?;
    let dir = checkpoint_dir(run);
    let old = run.join("checkpoint.old");
    if dir.exists() {
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(io(&old))?;
        }
        std::fs::rename(&dir, &old).map_err(io(&dir))?;
    }
    std::fs::rename(&tmp, &dir).map_err(io(&dir))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(())
}

/// The file in a checkpoint folder that lists the SHA-256 of every other file, in `sha256sum`'s
/// format (`sha256sum -c files.sha256` checks a folder by hand).
pub const FILE_HASHES: &str = "files.sha256";

/// Writes [`FILE_HASHES`] for the files now in `dir` (sorted by name).
fn record_file_hashes(dir: &Path) -> Result<()> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()
        .map_err(io(dir))?;
    names.retain(|n| n != FILE_HASHES);
    names.sort();
    let mut text = String::new();
    for name in names {
        let path = dir.join(&name);
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        text.push_str(&format!("{}  {name}\n", sha256_hex(&bytes)));
    }
    let path = dir.join(FILE_HASHES);
    std::fs::write(&path, text).map_err(io(&path))
}

/// Checks every file [`FILE_HASHES`] lists in the checkpoint folder `dir` against its SHA-256,
/// and that it lists every file there (an empty or cut list is refused). A checkpoint of an
/// earlier version (no list at all) passes; a file changed, truncated or missing since it was
/// written is an error naming it.
pub fn verify_checkpoint(dir: &Path) -> Result<()> {
    let list = dir.join(FILE_HASHES);
    if !list.exists() {
        return Ok(());
    }
    let text = std::fs::read_to_string(&list).map_err(io(&list))?;
    let mut present: Vec<String> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<std::io::Result<_>>()
        .map_err(io(dir))?;
    present.retain(|n| n != FILE_HASHES);
    if let Some(unlisted) = present.iter().find(|n| {
        !text
            .lines()
            .any(|l| l.split_once("  ").is_some_and(|(_, f)| f == n.as_str()))
    }) {
        return Err(Error::Checkpoint {
            path: list,
            message: format!(
                "does not list {unlisted}: the list is cut or the folder changed since the \
                 checkpoint was written; it cannot be resumed"
            ),
        });
    }
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Some((hash, name)) = line.split_once("  ") else {
            return Err(Error::Checkpoint {
                path: list.clone(),
                message: format!("not a list of file hashes (line '{line}')"),
            });
        };
        let path = dir.join(name);
        let fail = |why: &str| Error::Checkpoint {
            path: path.clone(),
            message: format!("{why} since the checkpoint was written: it cannot be resumed"),
        };
        let bytes = std::fs::read(&path).map_err(|_| fail("missing or unreadable"))?;
        if sha256_hex(&bytes) != hash {
            return Err(fail("changed"));
        }
    }
    Ok(())
}

/// Temporary checkpoint folders are `.checkpoint.tmp-PID`.
const TMP_PREFIX: &str = ".checkpoint.tmp-";

/// Writes the files of a checkpoint into `tmp`; every error names the file it was writing.
fn write_checkpoint_files(
    tmp: &Path,
    varmap: &VarMap,
    optimizer: &AdamW,
    state: &TrainState,
) -> Result<()> {
    let config = tmp.join("config.json");
    std::fs::write(&config, state.config.model.to_json()).map_err(io(&config))?;
    let weights = tmp.join("model.safetensors");
    varmap.save(&weights).map_err(|e| Error::Checkpoint {
        path: weights.clone(),
        message: format!("cannot write the weights ({e})"),
    })?;
    let adam = tmp.join("optimizer.safetensors");
    optimizer.save(&adam).map_err(|e| Error::Checkpoint {
        path: adam.clone(),
        message: format!("cannot write the optimizer state ({e})"),
    })?;
    let json = serde_json::to_string(state).expect("the state serializes");
    let state_path = tmp.join("state.json");
    std::fs::write(&state_path, json).map_err(io(&state_path))
}

/// Removes the temporary folders that killed runs left in `run` (those whose process is gone;
/// where `/proc` does not exist, every one but this process's).
pub fn remove_stale_temporaries(run: &Path) {
    let Ok(entries) = std::fs::read_dir(run) else {
        return;
    };
    let own = std::process::id().to_string();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(TMP_PREFIX) else {
            continue;
        };
        let alive = pid == own || Path::new("/proc").join(pid).exists();
        if !alive {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

/// The newest complete checkpoint folder: `checkpoint/`, or `checkpoint.old/` when a kill fell
/// between the two renames of [`save_checkpoint`].
pub fn find_checkpoint(run: &Path) -> Option<PathBuf> {
    [checkpoint_dir(run), run.join("checkpoint.old")]
        .into_iter()
        .find(|d| d.join("state.json").exists())
}

/// What a run folder may hold that a fresh run would write over: the trained model and the
/// checkpoint folders.
const RUN_OUTPUTS: [&str; 3] = ["model", "checkpoint", "checkpoint.old"];

/// The error for a resumed run whose settings are not the checkpoint's in `dir`;
/// `differences` names them (`name: saved → given`).
pub fn changed_settings(dir: &Path, differences: &str) -> Error {
    Error::Checkpoint {
        path: dir.join("state.json"),
        message: format!(
            "the checkpoint was made with other settings ({differences}); resume without \
             changing them"
        ),
    }
}

/// The checkpoint a run starts from: `Some(dir)` to resume it, `None` for a fresh run (every
/// trainer of the workspace decides through this). Errors, each naming the folder: `run` is a
/// file; resuming without a complete checkpoint; starting afresh over a checkpoint, over an
/// incomplete one (a `checkpoint/` without `state.json`), or over a trained `model/` — a fresh
/// run never replaces what an earlier one made.
pub fn checkpoint_to_resume(run: &Path, resume: bool) -> Result<Option<PathBuf>> {
    if run.exists() && !run.is_dir() {
        return Err(Error::Checkpoint {
            path: run.into(),
            message: "is a file, not a run folder: name a folder (new or existing) for the run"
                .into(),
        });
    }
    match (find_checkpoint(run), resume) {
        (Some(dir), true) => verify_checkpoint(&dir).map(|()| Some(dir)),
        (None, false) => match RUN_OUTPUTS.iter().map(|n| run.join(n)).find(|p| p.exists()) {
            None => Ok(None),
            Some(path) => {
                let what = if path.ends_with("model") {
                    "holds the model of an earlier run, which has no checkpoint to resume"
                } else {
                    "is an incomplete checkpoint (no state.json), which cannot be resumed"
                };
                Err(Error::Checkpoint {
                    path,
                    message: format!(
                        "{what}; a fresh run would replace it: choose another run folder, or \
                         move it away first"
                    ),
                })
            }
        },
        (None, true) => Err(Error::Checkpoint {
            path: run.into(),
            message: if checkpoint_dir(run).exists() {
                "no checkpoint to resume: checkpoint/ has no state.json (it is incomplete)".into()
            } else {
                "no checkpoint to resume".into()
            },
        }),
        (Some(dir), false) => Err(Error::Checkpoint {
            path: dir,
            message: "this run folder already holds a checkpoint; resume it (--resume) or \
                      choose another folder"
                .into(),
        }),
    }
}

/// Reads `state.json` of a checkpoint folder.
pub fn read_state(dir: &Path) -> Result<TrainState> {
    let path = dir.join("state.json");
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    serde_json::from_str(&text).map_err(|e| Error::Checkpoint {
        path,
        message: format!("not a training state ({e})"),
    })
}

/// Loads weights and optimizer state of a checkpoint folder into a model's `varmap` and
/// `optimizer`. A truncated file, one made for another model config (missing or extra tensors,
/// other shapes) or one holding NaN or infinite weights is an error naming it.
pub fn load_weights(
    dir: &Path,
    model: &ModelConfig,
    varmap: &mut VarMap,
    optimizer: &mut AdamW,
) -> Result<()> {
    let weights = dir.join("model.safetensors");
    let fail = |e: &dyn std::fmt::Display| Error::Checkpoint {
        path: weights.clone(),
        message: format!("cannot load the weights ({e})"),
    };
    let tensors = candle_core::safetensors::load(&weights, &candle_core::Device::Cpu)
        .map_err(|e| fail(&e))?;
    deepemd_model::check_weights(model, &tensors).map_err(|e| fail(&e))?;
    varmap.load(&weights).map_err(|e| fail(&e))?;
    optimizer.load(&dir.join("optimizer.safetensors"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_run_never_replaces_what_an_earlier_run_left() {
        let root = tempfile::tempdir().unwrap();
        let run = root.path().join("run");
        // An empty or absent folder starts afresh; nothing to resume there.
        assert_eq!(checkpoint_to_resume(&run, false).unwrap(), None);
        std::fs::create_dir_all(&run).unwrap();
        assert_eq!(checkpoint_to_resume(&run, false).unwrap(), None);
        let e = checkpoint_to_resume(&run, true).unwrap_err().to_string();
        assert!(e.ends_with("run: no checkpoint to resume"), "{e}");

        // Each thing a fresh run would write over, alone: refused, named.
        for (left, says) in [
            ("model", "holds the model of an earlier run"),
            ("checkpoint", "is an incomplete checkpoint (no state.json)"),
            (
                "checkpoint.old",
                "is an incomplete checkpoint (no state.json)",
            ),
        ] {
            let dir = run.join(left);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("model.safetensors"), b"weights").unwrap();
            let e = checkpoint_to_resume(&run, false).unwrap_err().to_string();
            assert!(e.contains(&format!("{left}: {says}")), "{e}");
            assert!(e.contains("a fresh run would replace it"), "{e}");
            if left == "checkpoint" {
                let e = checkpoint_to_resume(&run, true).unwrap_err().to_string();
                assert!(e.contains("checkpoint/ has no state.json"), "{e}");
            }
            std::fs::remove_dir_all(&dir).unwrap();
        }

        // A complete checkpoint resumes, and refuses a fresh start.
        std::fs::create_dir_all(checkpoint_dir(&run)).unwrap();
        std::fs::write(checkpoint_dir(&run).join("state.json"), b"{}").unwrap();
        assert_eq!(
            checkpoint_to_resume(&run, true).unwrap(),
            Some(checkpoint_dir(&run))
        );
        let e = checkpoint_to_resume(&run, false).unwrap_err().to_string();
        assert!(e.contains("already holds a checkpoint"), "{e}");

        // A file where the run folder should be.
        let file = root.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        for resume in [false, true] {
            let e = checkpoint_to_resume(&file, resume).unwrap_err().to_string();
            assert!(e.contains("file: is a file, not a run folder"), "{e}");
        }
    }

    #[test]
    fn a_checkpoint_whose_files_changed_is_not_resumed() {
        let root = tempfile::tempdir().unwrap();
        let run = root.path().join("run");
        save_folder_atomically::<Error>(&run, |tmp| {
            std::fs::write(tmp.join("state.json"), b"{}").unwrap();
            std::fs::write(tmp.join("model.safetensors"), vec![7u8; 100]).unwrap();
            Ok(())
        })
        .unwrap();
        let dir = checkpoint_dir(&run);
        let list = std::fs::read_to_string(dir.join(FILE_HASHES)).unwrap();
        assert_eq!(list.lines().count(), 2, "{list}");
        assert_eq!(checkpoint_to_resume(&run, true).unwrap(), Some(dir.clone()));
        // One byte of the weights flipped; then the file gone.
        let mut weights = std::fs::read(dir.join("model.safetensors")).unwrap();
        weights[50] ^= 1;
        std::fs::write(dir.join("model.safetensors"), &weights).unwrap();
        let e = checkpoint_to_resume(&run, true).unwrap_err().to_string();
        assert!(
            e.contains("model.safetensors: changed since the checkpoint was written"),
            "{e}"
        );
        std::fs::remove_file(dir.join("model.safetensors")).unwrap();
        let e = checkpoint_to_resume(&run, true).unwrap_err().to_string();
        assert!(e.contains("missing or unreadable"), "{e}");
        // An empty (cut) list is refused; a checkpoint of an earlier version, with no list at
        // all, still resumes.
        std::fs::write(dir.join("model.safetensors"), vec![7u8; 100]).unwrap();
        std::fs::write(dir.join(FILE_HASHES), b"").unwrap();
        let e = checkpoint_to_resume(&run, true).unwrap_err().to_string();
        assert!(e.contains("does not list"), "{e}");
        std::fs::remove_file(dir.join(FILE_HASHES)).unwrap();
        assert_eq!(checkpoint_to_resume(&run, true).unwrap(), Some(dir));
    }
}
