//! Symbol inspection of a built binary: without the `profiling` feature it holds no span callsite and not even
//! the span's name, and none of livetel's profiling tier (no `livetel::profiling` symbol, no process sampler,
//! no counting channel); with it (the control, `--features profiling`) it holds them all.

use std::process::Command;

#[test]
fn binary_has_callsites_only_with_the_feature() {
    let bin = env!("CARGO_BIN_EXE_probe");
    let bytes = std::fs::read(bin).expect("read the probe binary");
    let has_name = bytes
        .windows(b"feature_off.work".len())
        .any(|w| w == b"feature_off.work");
    let nm = Command::new("nm")
        .args(["--demangle", bin])
        .output()
        .expect("nm (binutils) is installed");
    let symbols = String::from_utf8_lossy(&nm.stdout);
    let callsites: Vec<&str> = symbols
        .lines()
        .filter(|l| l.contains("livetel_feature_off") && l.contains("CALLSITE"))
        .collect();
    if cfg!(feature = "profiling") {
        assert!(has_name, "the control build should hold the span name");
        assert!(
            !callsites.is_empty(),
            "the control build should hold a callsite symbol"
        );
    } else {
        assert!(!has_name, "a build without `profiling` holds the span name");
        assert!(
            callsites.is_empty(),
            "callsite symbols without `profiling`: {callsites:?}"
        );
    }
}

#[test]
fn binary_has_the_profiling_tier_only_with_the_feature() {
    let bin = env!("CARGO_BIN_EXE_probe");
    let bytes = std::fs::read(bin).expect("read the probe binary");
    let holds = |s: &str| bytes.windows(s.len()).any(|w| w == s.as_bytes());
    let nm = Command::new("nm")
        .args(["--demangle", bin])
        .output()
        .expect("nm (binutils) is installed");
    let symbols = String::from_utf8_lossy(&nm.stdout);
    let profiling: Vec<&str> = symbols
        .lines()
        .filter(|l| l.contains("livetel::profiling::") || l.contains("livetel::channel::stats"))
        .collect();
    // The process sampler's thread name and its event's name.
    let strings = ["livetel-procmet", "process.open_file_descriptor.count"];
    if cfg!(feature = "profiling") {
        assert!(
            !profiling.is_empty(),
            "the control build should hold livetel::profiling symbols"
        );
        assert!(
            strings.iter().all(|s| holds(s)),
            "the control build should hold {strings:?}"
        );
    } else {
        assert!(
            profiling.is_empty(),
            "profiling symbols without `profiling`: {profiling:?}"
        );
        let found: Vec<&&str> = strings.iter().filter(|s| holds(s)).collect();
        assert!(found.is_empty(), "a build without `profiling` holds {found:?}");
    }
}
