//! The demo agent, run as a user runs it: its summary matches the trace files, after a duration, SIGTERM or
//! SIGINT. Every process started here is stopped here.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use common::{Fixture, span_names, trace_files};
use serde_json::Value;

/// Kills the child if the test fails before it exits.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(f: &Fixture, extra: &[&str]) -> Running {
    start_as(f, extra, true)
}

/// Starts the demo; `json` prints statuses as JSON (`--status-json`), else as the plain lines a person reads.
fn start_as(f: &Fixture, extra: &[&str], json: bool) -> Running {
    let child = Command::new(common::example_binary("agent"))
        .arg("--config")
        .arg(&f.config)
        .args(["--threads", "2"])
        .args(json.then_some("--status-json"))
        .args(if extra.contains(&"--rate") {
            &[][..]
        } else {
            &["--rate", "0"][..]
        })
        .args(extra)
        .env_remove("OTEL_SDK_DISABLED")
        .env_remove("OTEL_TRACES_SAMPLER")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("run the agent example (built by cargo test)");
    Running(child)
}

/// Reads stdout to the end: status lines, then the summary line.
fn finish(mut run: Running, signal: Option<&str>) -> (Vec<Value>, Value) {
    let stdout = run.0.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first: Value =
        serde_json::from_str(&lines.next().expect("a first status line").expect("utf-8")).expect("json");
    if let Some(sig) = signal {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let pid = run.0.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-s", sig, &pid])
                .status()
                .is_ok_and(|s| s.success())
        );
    }
    let mut statuses = vec![first];
    let mut summary = Value::Null;
    for line in lines {
        let v: Value = serde_json::from_str(&line.expect("utf-8")).expect("every stdout line is JSON");
        if v.get("summary").is_some() {
            summary = v;
        } else if v.get("retired").is_some() {
            // A retired generation with news (an error, drops): not a status.
        } else {
            statuses.push(v);
        }
    }
    let status = run.0.wait().expect("agent exits");
    assert!(status.success(), "agent exit status {status:?}");
    (statuses, summary)
}

fn check_summary_matches_files(f: &Fixture, summary: &Value) {
    let s = &summary["summary"];
    let created = s["spans_created"].as_u64().expect("spans_created");
    assert!(created > 0 && s["turns"].as_u64() > Some(0), "{summary}");
    let in_files = span_names(&f.traces);
    let total: usize = in_files.values().sum();
    assert_eq!(total as u64, created, "spans in files vs spans the demo created");
    for (name, n) in s["by_name"].as_object().expect("by_name") {
        assert_eq!(
            in_files.get(name).copied().unwrap_or(0) as u64,
            n.as_u64().unwrap_or(0),
            "{name}"
        );
    }
    assert!(in_files.contains_key("llm.chat") && in_files.contains_key("tool.execute"));
    for (path, events) in trace_files(&f.traces) {
        common::assert_well_formed(&path, &events);
    }
}

#[test]
fn duration_run_summary_matches_files() {
    let f = Fixture::new("");
    let (statuses, summary) = finish(start(&f, &["--duration", "1"]), None);
    assert_eq!(statuses[0]["generation"], 1);
    assert_eq!(statuses[0]["backend"], "local");
    check_summary_matches_files(&f, &summary);
}

#[test]
fn sigterm_finalizes_and_summarizes() {
    let f = Fixture::new("");
    let (_, summary) = finish(start(&f, &[]), Some("TERM"));
    check_summary_matches_files(&f, &summary);
}

#[test]
fn sigint_finalizes_and_summarizes() {
    let f = Fixture::new("");
    let (_, summary) = finish(start(&f, &[]), Some("INT"));
    check_summary_matches_files(&f, &summary);
}

#[test]
fn live_edit_while_running_is_printed() {
    let f = Fixture::new("sample_rate = 1.0");
    let mut run = start(&f, &["--duration", "30"]);
    let stdout = run.0.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let _first = lines.next();
    f.write("sample_rate = 0.5\ninclude_args = true");
    let changed = lines
        .map_while(Result::ok)
        .filter_map(|l| serde_json::from_str::<Value>(&l).ok())
        .find(|v| v["generation"] == 2)
        .expect("a status line for generation 2");
    assert_eq!(
        (changed["sample_rate"].as_f64(), changed["include_args"].as_bool()),
        (Some(0.5), Some(true))
    );
    assert_eq!(changed["trigger"], "watcher");
}

#[test]
fn a2a_hop_is_a_child_in_the_exported_trace() {
    let rx = common::receiver::Receiver::start();
    let f = Fixture::new(&format!(
        "backend = \"otlp\"\n[telemetry.otlp]\nendpoint = \"{}\"\n[telemetry.otlp.batch]\nscheduled_delay_ms = 50",
        rx.grpc_endpoint()
    ));
    let (_, summary) = finish(start(&f, &["--duration", "1", "--rate", "50"]), None);
    let spans = rx.spans();
    assert_eq!(
        spans.len() as u64,
        summary["summary"]["spans_created"].as_u64().unwrap_or(0),
        "every span exported"
    );
    let calls: HashMap<&str, &Value> = spans
        .iter()
        .filter(|s| s["name"] == "a2a.call")
        .map(|s| (s["span_id"].as_str().unwrap_or(""), s))
        .collect();
    let handles: Vec<&Value> = spans.iter().filter(|s| s["name"] == "a2a.handle").collect();
    assert!(!handles.is_empty());
    for h in handles {
        let call = calls
            .get(h["parent_span_id"].as_str().unwrap_or(""))
            .expect("a2a.handle's parent is an a2a.call");
        assert_eq!(h["trace_id"], call["trace_id"]);
        assert_eq!(h["kind"], 5, "consumer");
    }
}

/// The README's promise: each change prints one status line. Five changes under the plain-text output — a
/// sample rate, a rejected edit (its line says where), two fields at once, a flip to `none` and back to
/// `local` — and the demo prints exactly six lines before its summary: one at start, one per change. Each
/// replaced generation drains and retires cleanly in between (its spans last milliseconds, a reload waits
/// out the 100 ms debounce), which prints nothing: a retirement is printed only with news (an error, drops).
#[test]
fn each_change_prints_one_status_line() {
    let f = Fixture::new("sample_rate = 1.0");
    let mut run = start_as(&f, &["--rate", "100"], false);
    let stdout = run.0.stdout.take().expect("stdout");
    let (tx, lines) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let next = |what: &str| {
        lines
            .recv_timeout(common::PATIENCE)
            .unwrap_or_else(|_| panic!("no status line for {what}"))
    };
    let mut printed = vec![next("the start")];
    assert!(printed[0].starts_with("generation 1 (Init)"), "{printed:?}");
    let changes = [
        ("sample_rate = 0.5", "generation 2 (Watcher)", None),
        ("sample_rate = 7", "generation 2 (Watcher)", Some(" ERROR: ")),
        (
            "sample_rate = 0.25\ninclude_args = true",
            "generation 3 (Watcher)",
            None,
        ),
        ("backend = \"none\"", "generation 4 (Watcher): backend=none", None),
        (
            "backend = \"local\"",
            "generation 5 (Watcher): backend=local",
            None,
        ),
    ];
    for (body, want, error) in changes {
        f.write(body);
        let line = next(body);
        assert!(
            line.starts_with(want) && error.is_none_or(|e| line.contains(e)),
            "after {body:?}, the next line is {line:?}; printed before: {printed:#?}"
        );
        assert_eq!(line.contains(" ERROR: "), error.is_some(), "{line}");
        printed.push(line);
    }
    // Each line names the keys its reload changed; a rejected edit changed none.
    assert!(
        printed[1].contains(" changed=sampling.probability"),
        "{}",
        printed[1]
    );
    assert!(printed[2].contains(" changed=- "), "{}", printed[2]);
    assert!(
        printed[3].contains(" changed=include_args,sampling.probability"),
        "{}",
        printed[3]
    );
    let pid = run.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-s", "TERM", &pid])
            .status()
            .is_ok_and(|s| s.success())
    );
    let mut summary = None;
    while let Ok(line) = lines.recv_timeout(common::PATIENCE) {
        if line.starts_with("{\"summary\"") {
            summary = Some(line);
        } else {
            printed.push(line);
        }
    }
    reader.join().expect("reader");
    assert!(run.0.wait().expect("agent exits").success());
    assert!(summary.is_some(), "no summary line");
    println!(
        "{} changes, {} status lines:\n{}",
        changes.len(),
        printed.len(),
        printed.join("\n")
    );
    assert_eq!(
        printed.len(),
        1 + changes.len(),
        "one line at start and one per change: {printed:#?}"
    );
}

/// `--error-rate` and `--slow-rate` make the traces tail sampling keeps: with the head keeping none, every
/// failed tool call is in the files, and the summary counts the turns of each kind.
#[test]
fn error_and_slow_turns_are_kept_when_the_head_keeps_nothing() {
    let f = Fixture::new(
        "sampling.strategy = \"always_off\"\nsampling.always_sample_errors = true\n\
         sampling.always_sample_slow_seconds = 0.015",
    );
    let args = [
        "--duration",
        "1",
        "--rate",
        "400",
        "--error-rate",
        "0.1",
        "--slow-rate",
        "0.05",
        "--slow-ms",
        "20",
    ];
    let (statuses, summary) = finish(start(&f, &args), None);
    assert_eq!(statuses[0]["sampling"]["strategy"], "always_off");
    let s = &summary["summary"];
    let (errors, slow) = (s["error_turns"].as_u64(), s["slow_turns"].as_u64());
    assert!(errors > Some(0) && slow > Some(0), "{summary}");
    let mut failed_tools = 0;
    let mut turns = 0;
    for (path, events) in trace_files(&f.traces) {
        common::assert_well_formed(&path, &events);
        for e in common::spans(&events) {
            turns += u64::from(e["name"] == "agent.turn");
            failed_tools += u64::from(e["name"] == "tool.execute" && e["args"]["error"].is_string());
        }
    }
    assert_eq!(Some(failed_tools), errors, "every failed tool call is kept");
    assert!(Some(turns) >= errors.max(slow), "{turns} turns kept; {summary}");
}

#[test]
fn an_override_through_the_demo_admin_endpoint_prints_its_start_and_its_end() {
    use std::io::{Read, Write};
    let f = Fixture::new("sample_rate = 0.5");
    let run = start_as(
        &f,
        &["--admin", "127.0.0.1:0", "--duration", "30", "--rate", "50"],
        false,
    );
    let mut run = run;
    let stdout = run.0.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let mut next_line = || lines.next().expect("a status line").expect("utf-8");
    let first = next_line();
    let admin = first
        .split(" admin=http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("the status line names the admin endpoint: {first}"))
        .to_owned();
    let mut stream = std::net::TcpStream::connect(&admin).expect("the demo's admin endpoint");
    let body = r#"{"sample_rate": 1.0, "ttl": "1s"}"#;
    let request = format!(
        "POST /overrides HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // One line when it starts, one when it ends by itself.
    let started = std::iter::repeat_with(&mut next_line)
        .find(|l| l.contains("(Override)"))
        .unwrap();
    assert!(
        started.contains("sample_rate=1 ") && started.contains("OVERRIDE 1: sample_rate until"),
        "{started}"
    );
    let ended = std::iter::repeat_with(&mut next_line)
        .find(|l| l.contains("(OverrideExpired)"))
        .unwrap();
    assert!(
        ended.contains("sample_rate=0.5 ") && !ended.contains("OVERRIDE"),
        "{ended}"
    );
}
