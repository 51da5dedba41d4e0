//! `livetel report` and `livetel flamegraph`, the binary itself (feature `cli`): the report's figures on a
//! trace of known durations (nearest-rank percentiles, busy/idle share, class), a trace cut short without its
//! closing `]`, `"B"`/`"E"` pairs; a trace written by livetel's `local` backend; the flame graph parsed as XML;
//! piped output free of progress-bar escape codes.
#![cfg(feature = "cli")]

mod common;

use std::path::Path;

use common::cli::livetel;
use common::{Fixture, trace_files};
use serde_json::{Value, json};
use tracing::dispatcher::with_default;

/// 100 `"work"` spans of 1..=100 µs, each busy for 90 % of it; 10 `"wait"` spans of 1 ms, busy 10 µs each (as
/// `resource.cpu.micros`, livetel's profiling tier's CPU time while entered); one
/// `"turn"` of 50 µs busy 25 µs. `ts`/`dur` in microseconds, as Chrome traces have them.
fn fixture_events() -> Vec<Value> {
    let mut events = vec![json!({"ph":"M","name":"process_name","pid":1,"tid":0,"args":{"name":"fixture"}})];
    let mut ts = 0u64;
    for d in 1..=100u64 {
        events.push(json!({"ph":"X","name":"work","ts":ts,"dur":d,"pid":1,"tid":1,
            "args":{"busy_ns": d * 900}}));
        ts += d + 1;
    }
    for _ in 0..10 {
        // As livetel writes it with `cpu_time = true`: CPU time while entered, in microseconds.
        events.push(json!({"ph":"X","name":"wait","ts":ts,"dur":1000,"pid":1,"tid":2,
            "args":{"resource.cpu.micros": 10}}));
        ts += 1001;
    }
    events
        .push(json!({"ph":"X","name":"turn","ts":ts,"dur":50.0,"pid":1,"tid":3,"args":{"busy_ns": 25_000}}));
    events
}

fn report_json(path: &Path) -> Vec<Value> {
    let out = livetel(&["report", path.to_str().unwrap(), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("report --json is JSON")
}

fn row<'a>(rows: &'a [Value], name: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("a row for {name}: {rows:?}"))
}

#[test]
fn report_figures_match_a_trace_of_known_durations() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("known.json");
    std::fs::write(&path, serde_json::to_string(&fixture_events()).unwrap()).unwrap();
    let rows = report_json(&path);
    assert_eq!(rows.len(), 3, "{rows:?}");
    let work = row(&rows, "work");
    assert_eq!(work["count"], 100);
    // Nearest rank over 1..=100 µs: pN is N µs.
    assert_eq!(
        (work["p50_ns"].as_u64(), work["p95_ns"].as_u64()),
        (Some(50_000), Some(95_000))
    );
    assert_eq!(
        (work["p99_ns"].as_u64(), work["max_ns"].as_u64()),
        (Some(99_000), Some(100_000))
    );
    assert!((work["busy_share"].as_f64().unwrap() - 0.9).abs() < 1e-12);
    assert_eq!(work["class"], "cpu-bound");
    let wait = row(&rows, "wait");
    assert_eq!(wait["count"], 10);
    for key in ["p50_ns", "p95_ns", "p99_ns", "max_ns"] {
        assert_eq!(wait[key], 1_000_000, "{key}");
    }
    assert!((wait["idle_share"].as_f64().unwrap() - 0.99).abs() < 1e-12);
    assert_eq!(wait["class"], "io-bound");
    let turn = row(&rows, "turn");
    assert_eq!(
        (turn["count"].as_u64(), turn["max_ns"].as_u64()),
        (Some(1), Some(50_000))
    );
    assert_eq!(
        (turn["busy_share"].as_f64(), turn["class"].as_str()),
        (Some(0.5), Some("mixed"))
    );

    // The table carries the same figures, and no escape code when piped.
    let out = livetel(&["report", path.to_str().unwrap()]);
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    let line = table
        .lines()
        .find(|l| l.starts_with("work "))
        .expect("a work line");
    for cell in [
        "100",
        "50.000",
        "95.000",
        "99.000",
        "100.000",
        "90%",
        "10%",
        "cpu-bound",
    ] {
        assert!(line.split_whitespace().any(|c| c == cell), "{cell} in {line:?}");
    }
    assert!(
        !table.contains('\x1b') && !out.stderr.contains(&0x1b),
        "no escape codes when piped"
    );
}

#[test]
fn a_trace_without_its_closing_bracket_and_b_e_pairs_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.json");
    // A B/E pair nested in another, as a plain Chrome trace has them, and a file cut after a comma.
    let text = "[\n{\"ph\":\"B\",\"name\":\"outer\",\"ts\":10,\"pid\":1,\"tid\":7},\n\
                {\"ph\":\"B\",\"name\":\"inner\",\"ts\":12,\"pid\":1,\"tid\":7},\n\
                {\"ph\":\"E\",\"ts\":15.5,\"pid\":1,\"tid\":7},\n\
                {\"ph\":\"E\",\"ts\":30,\"pid\":1,\"tid\":7},\n";
    std::fs::write(&path, text).unwrap();
    let rows = report_json(&path);
    assert_eq!(row(&rows, "outer")["max_ns"], 20_000);
    assert_eq!(row(&rows, "inner")["max_ns"], 3_500);
    assert_eq!(row(&rows, "inner")["class"], "unknown", "no busy time recorded");
    // The flame graph of the same file: inner nested under outer; a frame shows its inclusive weight, which is
    // outer's self time (16.5 µs) + inner's (3.5 µs) = its duration (weights of whole durations would sum 23.5).
    let svg = dir.path().join("cut.svg");
    let out = livetel(&["flamegraph", path.to_str().unwrap(), "-o", svg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let titles = frame_titles(&svg);
    assert!(
        titles.iter().any(|t| t.starts_with("outer (20,000 ns")),
        "{titles:?}"
    );
    assert!(
        titles.iter().any(|t| t.starts_with("inner (3,500 ns")),
        "{titles:?}"
    );
}

#[test]
fn not_a_trace_fails_with_the_file_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.json");
    std::fs::write(&path, "{\"not\": \"a trace\"}").unwrap();
    let out = livetel(&["report", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.json") && err.contains("traceEvents"), "{err}");
    let missing = dir.path().join("missing.json");
    let out = livetel(&["flamegraph", missing.to_str().unwrap(), "-o", "/dev/null"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.json: cannot read the trace"));
}

/// The `<title>` text of each frame of the SVG, after checking it parses as XML with an `<svg>` root.
fn frame_titles(svg: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(svg).unwrap();
    // inferno writes the SVG 1.1 doctype.
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(&text, options).expect("the flame graph is valid XML");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    doc.descendants()
        .filter(|n| n.has_tag_name("title"))
        .filter_map(|n| n.text().map(str::to_owned))
        .collect()
}

#[test]
fn a_trace_of_the_local_backend_reports_every_span_and_draws_its_tree() {
    let f = Fixture::new("watch = false");
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        for i in 0..30u32 {
            tracing::info_span!("request", i).in_scope(|| {
                tracing::info_span!("query").in_scope(|| {});
                tracing::info_span!("query").in_scope(|| {});
            });
        }
    });
    drop(t);
    let files = trace_files(&f.traces);
    assert_eq!(files.len(), 1);
    let (path, events) = &files[0];
    let durations = |name: &str| -> Vec<u64> {
        let mut d: Vec<u64> = events
            .iter()
            .filter(|e| e["ph"] == "X" && e["name"] == name)
            .map(|e| (e["dur"].as_f64().unwrap() * 1000.0).round() as u64)
            .collect();
        d.sort_unstable();
        d
    };
    let rows = report_json(path);
    let (request, query) = (row(&rows, "request"), row(&rows, "query"));
    assert_eq!(
        (request["count"].as_u64(), query["count"].as_u64()),
        (Some(30), Some(60))
    );
    // Nearest rank on the file's own durations: p50 of 30 is rank 15, of 60 rank 30; max the last.
    assert_eq!(request["p50_ns"].as_u64(), Some(durations("request")[14]));
    assert_eq!(query["p50_ns"].as_u64(), Some(durations("query")[29]));
    assert_eq!(request["max_ns"].as_u64(), durations("request").last().copied());

    let svg = f.dir.path().join("local.svg");
    let out = livetel(&["flamegraph", path.to_str().unwrap(), "-o", svg.to_str().unwrap()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        out.stderr.is_empty() && !out.stdout.contains(&0x1b),
        "quiet when piped"
    );
    let titles = frame_titles(&svg);
    assert!(titles.iter().any(|t| t.starts_with("request (")), "{titles:?}");
    assert!(titles.iter().any(|t| t.starts_with("query (")), "{titles:?}");
}
