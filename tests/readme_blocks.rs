//! Every shell block of README.md, docs/*.md and deploy/README.md whose fence is marked ```` ```sh runnable ```` works as written:
//! each runs with `bash -euo pipefail` from the repository root (`TMPDIR` a fresh temporary directory) and
//! must exit 0. Mark only blocks that are quick
//! and change nothing outside temporary directories.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The runnable blocks of a Markdown file, with the line each starts on.
fn runnable_blocks(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match current.as_mut() {
            Some(_) if line.trim_start().starts_with("```") => blocks.extend(current.take()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {
                let info = line.trim_start().strip_prefix("```").unwrap_or_default();
                let mut words = info.split_whitespace();
                if matches!(words.next(), Some("sh" | "bash")) && words.any(|w| w == "runnable") {
                    current = Some((i + 1, String::new()));
                }
            }
        }
    }
    assert!(
        current.is_none(),
        "{}: a runnable block is not closed",
        path.display()
    );
    blocks
}

fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(root().join("docs"))
        .expect("docs/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files.push(root().join("deploy/README.md"));
    files
}

#[test]
fn runnable_shell_blocks_work_as_written() {
    let mut ran = 0;
    let tmp = tempfile::tempdir().expect("tempdir");
    for file in markdown_files() {
        for (line, body) in runnable_blocks(&file) {
            let out = Command::new("bash")
                .args(["-euo", "pipefail", "-c", &body])
                .current_dir(root())
                .env("TMPDIR", tmp.path())
                .output()
                .expect("bash");
            assert!(
                out.status.success(),
                "{}:{line}: the block failed ({}):\n{body}\n--- stdout\n{}\n--- stderr\n{}",
                file.display(),
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            ran += 1;
        }
    }
    assert!(ran > 0, "no runnable block in README.md or docs/");
    println!("{ran} runnable blocks ran");
}

#[test]
fn relative_links_point_at_files_that_exist() {
    let mut checked = 0;
    for file in markdown_files() {
        let text = std::fs::read_to_string(&file).expect("read");
        let dir = file.parent().expect("dir");
        for (i, _) in text.match_indices("](") {
            let target = text[i + 2..].split(')').next().unwrap_or_default();
            let target = target.split('#').next().unwrap_or_default();
            if target.is_empty() || target.contains("://") || target.contains(' ') {
                continue;
            }
            assert!(
                dir.join(target).exists(),
                "{}: link to {target}, which does not exist",
                file.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 0);
}
