//! Python virtual environments of the tests' peers and checkers, under target/, created with pinned packages on
//! first use (so `cargo test` works on a fresh machine; `.ci/run` creates the same ones up front).

use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// The `bin` directory of `target/<name>`, created with `packages` (pinned) if it is not ready.
pub fn ensure(name: &str, packages: &[&str]) -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join(name);
    let bin = venv.join("bin");
    let ready = venv.join(".livetel-ready");
    if std::fs::read_to_string(&ready).is_ok_and(|listed| listed == packages.join("\n")) {
        return bin;
    }
    let ok = Command::new("python3").arg("-m").arg("venv").arg(&venv).status();
    assert!(
        ok.is_ok_and(|s| s.success()),
        "python3 -m venv {} failed: install python3 and python3-venv",
        venv.display()
    );
    let ok = Command::new(bin.join("python"))
        .args(["-m", "pip", "install", "-q"])
        .args(packages)
        .status();
    assert!(ok.is_ok_and(|s| s.success()), "pip install {packages:?} failed");
    std::fs::write(&ready, packages.join("\n")).expect("mark venv ready");
    bin
}
