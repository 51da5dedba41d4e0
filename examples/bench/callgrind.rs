//! P6 counted instead of timed: instructions per demo turn on the traced thread, instrumented / uninstrumented,
//! under `valgrind --tool=callgrind`. Instruction counts do not move with the load of a shared machine (the same
//! binary and input give the same count), so this figure checks the wall-clock P6 figures, which do.

use std::path::Path;
use std::process::Command;

use crate::measure::Figure;

/// Instructions per turn of the worker thread (`agent::turn::run_worker`, inclusive), or why not.
fn per_turn(agent: &Path, config: &Path, out: &Path) -> Result<f64, String> {
    let run = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg(agent)
        .arg("--config")
        .arg(config)
        .args(["--rate", "0", "--threads", "1", "--duration", "1"])
        .output()
        .map_err(|e| format!("valgrind: {e}"))?;
    let summary = String::from_utf8_lossy(&run.stdout);
    let line = summary.lines().last().unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(line).map_err(|e| format!("agent summary: {e}"))?;
    let turns = v["summary"]["turns"]
        .as_f64()
        .filter(|t| *t > 0.0)
        .ok_or("no turns")?;
    let annotate = Command::new("callgrind_annotate")
        .args(["--inclusive=yes", "--threshold=100"])
        .arg(out)
        .output()
        .map_err(|e| format!("callgrind_annotate: {e}"))?;
    let text = String::from_utf8_lossy(&annotate.stdout);
    let worker = text
        .lines()
        .find(|l| l.contains("agent::turn::run_worker"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.replace(',', "").parse::<f64>().ok())
        .ok_or("run_worker not in the profile")?;
    Ok(worker / turns)
}

/// P6_local_instructions: instrumented / uninstrumented instructions per turn (inverted, so that it reads like
/// a throughput ratio: 0.98 means 2 % more instructions per turn).
pub fn instructions(agents: &(std::path::PathBuf, std::path::PathBuf)) -> Result<Figure, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let config = dir.path().join("local.toml");
    let traces = dir.path().join("traces").display().to_string();
    let text = format!(
        "[telemetry]\nwatch = false\nbackend = \"local\"\n[telemetry.local]\ntrace_dir = {traces:?}\n\
         [telemetry.console]\nenabled = false\n"
    );
    std::fs::write(&config, text).map_err(|e| e.to_string())?;
    let out = dir.path().join("callgrind.out");
    let ours = per_turn(&agents.0, &config, &out)?;
    let plain = per_turn(&agents.1, &config, &out)?;
    Ok(Figure {
        name: "P6_local_instr",
        livetel: ours,
        baseline: Some(plain),
        unit: "instr/turn",
        goal: "-",
        note: "callgrind, traced thread; ratio = uninstrumented / instrumented".into(),
        paired: Some(plain / ours),
        delivery: None,
    })
}
