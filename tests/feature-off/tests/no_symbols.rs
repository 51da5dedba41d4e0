//! Symbol inspection of a built binary: without the `profiling` feature it holds no span callsite and not even
//! the span's name; with it (the control, `--features profiling`) it holds both.

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
