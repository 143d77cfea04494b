//! Every `deepemd …` line of the README's ```sh blocks runs as written and succeeds: the
//! commands a newcomer copies first cannot rot. They run in a scratch folder where `datasets`
//! and `models` point at the repository's, so relative paths work and outputs stay out of the
//! checkout. (```bash blocks are shown, not run: long trainings, placeholders.)

mod common;

use std::path::Path;
use std::process::Command;

/// The `deepemd` command lines of the README's ```sh blocks, without trailing comments.
fn sh_commands(readme: &str) -> Vec<String> {
    let mut commands = Vec::new();
    let mut in_sh = false;
    for line in readme.lines() {
        let fence = line.trim_start();
        if fence.starts_with("```") {
            in_sh = !in_sh && fence == "```sh";
            continue;
        }
        if in_sh && let Some(rest) = line.trim().strip_prefix("deepemd ") {
            let command = rest.split("  #").next().unwrap_or(rest).trim();
            commands.push(command.to_string());
        }
    }
    commands
}

#[test]
fn every_command_of_the_readme_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let commands = sh_commands(&readme);
    assert!(commands.len() >= 8, "{commands:?}");
    let scratch = tempfile::tempdir().unwrap();
    for dir in ["datasets", "models"] {
        std::os::unix::fs::symlink(
            root.join(dir).canonicalize().unwrap(),
            scratch.path().join(dir),
        )
        .unwrap();
    }
    for command in &commands {
        // No shell: the README's commands are plain words (a `#K` selector is not a comment).
        let out = Command::new(env!("CARGO_BIN_EXE_deepemd"))
            .args(command.split_whitespace())
            .current_dir(scratch.path())
            .output()
            .unwrap();
        assert!(
            out.status.success() && !out.stdout.is_empty(),
            "deepemd {command}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_extractor_takes_sh_blocks_only_and_drops_comments() {
    let text = "```sh\ndeepemd emd a b   # note\ncargo x\n```\n```bash\ndeepemd train\n```\n";
    assert_eq!(sh_commands(text), ["emd a b"]);
}
