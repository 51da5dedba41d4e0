//! Go's `pprof`, built from Debian's `golang-github-google-pprof-dev` sources into `target/go-pprof/` on first
//! use (`.ci/run` installs the packages; `LIVETEL_TEST_PPROF` names another binary).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The pprof binary, built if missing.
pub fn pprof() -> PathBuf {
    static LOCK: Mutex<()> = Mutex::new(());
    if let Ok(p) = std::env::var("LIVETEL_TEST_PPROF") {
        return PathBuf::from(p);
    }
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = root().join("target").join("go-pprof");
    let bin = dir.join("pprof");
    if !bin.exists() {
        let ok = Command::new("go")
            .args(["build", "-o"])
            .arg(&bin)
            .arg("github.com/google/pprof")
            .env("GOPATH", "/usr/share/gocode")
            .env("GO111MODULE", "off")
            .env("GOPROXY", "off")
            .env("GOFLAGS", "")
            .env("GOCACHE", dir.join("cache"))
            .status();
        assert!(
            ok.is_ok_and(|s| s.success()),
            "building Go pprof failed: apt-get install golang-go golang-github-google-pprof-dev"
        );
    }
    bin
}

/// `pprof ARGS... FILE`: its stdout; panics with its stderr when it refuses the file.
pub fn run(args: &[&str], file: &Path) -> String {
    let out = Command::new(pprof())
        .args(args)
        .arg(file)
        .env("HOME", std::env::temp_dir())
        .output()
        .expect("run pprof");
    assert!(
        out.status.success(),
        "pprof {args:?} {} failed: {}",
        file.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
