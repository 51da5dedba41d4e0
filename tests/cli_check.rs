//! `livetel check` and `livetel schema`, the binary itself (feature `cli`): each file of the bad-config corpus
//! (`tests/bad_configs/`, its first line says where the error is) fails with `file:line:column: key: message`;
//! The `[telemetry]` examples of README.md and docs/ and `config/telemetry.toml` pass; the schema is JSON with every table.
#![cfg(feature = "cli")]

mod common;

use common::cli::livetel;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `(line:column, key)` from a corpus file's first line: `# expect: 3:15 telemetry.sample_rate`.
fn expectation(path: &Path) -> (String, String) {
    let text = std::fs::read_to_string(path).unwrap();
    let first = text.lines().next().unwrap_or_default();
    let rest = first
        .strip_prefix("# expect: ")
        .expect("corpus files start with `# expect: L:C KEY`");
    let (place, key) = rest.split_once(' ').unwrap();
    (place.to_owned(), key.to_owned())
}

#[test]
fn every_bad_config_of_the_corpus_fails_at_its_line_column_and_key() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/bad_configs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the corpus has its files");
    for file in &files {
        let (place, key) = expectation(file);
        let out = livetel(&["check", file.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(1), "{}", file.display());
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = format!("{}:{place}: `{key}`: ", file.display());
        assert!(
            stderr.starts_with(&expected),
            "{stderr} should start with {expected}"
        );
    }
    // Several files at once: each is reported, and one bad file fails the run.
    let good = root().join("config/telemetry.toml");
    let out = livetel(&["check", good.to_str().unwrap(), files[0].to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains(": ok"));
}

#[test]
fn the_shipped_config_and_every_readme_example_pass() {
    let out = livetel(&["check", root().join("config/telemetry.toml").to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // README.md and docs/*.md: every `toml` block with a `[telemetry` table.
    let mut readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for entry in std::fs::read_dir(root().join("docs")).unwrap().flatten() {
        if entry.path().extension().is_some_and(|e| e == "md") {
            readme.push_str(&std::fs::read_to_string(entry.path()).unwrap());
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for (i, block) in readme.split("```toml\n").skip(1).enumerate() {
        let body = block.split("```").next().unwrap_or_default();
        if !body.contains("[telemetry") {
            continue;
        }
        let path = dir.path().join(format!("readme_{i}.toml"));
        std::fs::write(&path, body).unwrap();
        let out = livetel(&["check", path.to_str().unwrap()]);
        assert!(
            out.status.success(),
            "README block {i}:\n{body}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        checked += 1;
    }
    assert!(checked >= 2, "the docs' `[telemetry]` examples were found");
}

#[test]
fn schema_prints_json_with_every_table() {
    let out = livetel(&["schema"]);
    assert!(out.status.success());
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for table in [
        "local", "otlp", "console", "logs", "sampling", "vault", "resource",
    ] {
        assert!(schema["properties"][table].is_object(), "{table}");
    }
    assert_eq!(schema["additionalProperties"], false, "unknown keys are refused");
}
