//! Loading a Chrome JSON trace (livetel's `local` backend, or any Chrome trace) into closed spans.
//!
//! Accepted: a JSON array of events or an object with `traceEvents`; `"X"` complete events (`ts` + `dur`) and
//! `"B"`/`"E"` pairs (matched per `pid`/`tid` as a stack). A file cut short (SIGKILL between writes of another
//! writer) may lack its closing `]` and end with a comma: both are repaired before parsing. Other phases
//! (metadata, instants, counters) are skipped. Times are microseconds in the file, nanoseconds here (rounded).
//! `args.busy_ns`, when a span carries it, is the time the span was entered on its thread; livetel's own traces
//! carry `resource.cpu.micros` instead when `[telemetry.profiling] cpu_time = true` (the thread's CPU time while
//! the span was entered), read as busy time.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

/// Above this many events a progress bar is shown (on a terminal only).
const PROGRESS_FROM: usize = 100_000;

/// What went wrong reading a trace file.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The file could not be read.
    #[error("{}: cannot read the trace: {source}", path.display())]
    Read {
        /// The trace file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not a Chrome JSON trace, even after repairing a missing end.
    #[error("{}: not a Chrome JSON trace (line {line}, column {column}): {message}", path.display())]
    Parse {
        /// The trace file.
        path: PathBuf,
        /// Line of the error, 1-based.
        line: usize,
        /// Column of the error, 1-based.
        column: usize,
        /// What serde_json said.
        message: String,
    },
    /// The JSON is neither an array of events nor an object with `traceEvents`.
    #[error("{}: expected a JSON array of trace events or an object with `traceEvents`", path.display())]
    Shape {
        /// The trace file.
        path: PathBuf,
    },
}

/// One closed span.
#[derive(Debug, Clone)]
pub struct Span {
    /// Its name.
    pub name: String,
    /// Process and thread it ran on.
    pub thread: (u64, u64),
    /// Start, nanoseconds.
    pub start_ns: u64,
    /// Duration, nanoseconds.
    pub dur_ns: u64,
    /// Time entered (on-CPU on its thread), when the trace records it.
    pub busy_ns: Option<u64>,
}

impl Span {
    /// End, nanoseconds.
    pub fn end_ns(&self) -> u64 {
        self.start_ns + self.dur_ns
    }
}

/// Reads `path` and returns its closed spans, in file order of their end.
pub fn load(path: &Path) -> Result<Vec<Span>, TraceError> {
    let text = std::fs::read_to_string(path).map_err(|source| TraceError::Read {
        path: path.to_owned(),
        source,
    })?;
    let value = parse(&text).map_err(|e| TraceError::Parse {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let events = match value {
        Value::Array(events) => events,
        Value::Object(mut map) => match map.remove("traceEvents") {
            Some(Value::Array(events)) => events,
            _ => {
                return Err(TraceError::Shape {
                    path: path.to_owned(),
                });
            }
        },
        _ => {
            return Err(TraceError::Shape {
                path: path.to_owned(),
            });
        }
    };
    Ok(spans(&events))
}

/// Parses the text; on failure, retries with a missing closing `]` restored (trailing comma dropped).
fn parse(text: &str) -> Result<Value, serde_json::Error> {
    match serde_json::from_str(text) {
        Ok(v) => Ok(v),
        Err(first) => {
            let trimmed = text.trim_end().trim_end_matches(',');
            if !trimmed.trim_start().starts_with('[') || trimmed.ends_with(']') {
                return Err(first);
            }
            serde_json::from_str(&format!("{trimmed}\n]")).map_err(|_| first)
        }
    }
}

/// A progress bar over `len` items on stderr, hidden unless stderr is a terminal and the trace is big.
pub fn progress(len: usize, what: &'static str) -> ProgressBar {
    if len < PROGRESS_FROM || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len as u64);
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} events ({eta})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what);
    bar
}

fn spans(events: &[Value]) -> Vec<Span> {
    let bar = progress(events.len(), "reading");
    let mut out = Vec::new();
    let mut open: HashMap<(u64, u64), Vec<(String, u64)>> = HashMap::new();
    for (i, event) in events.iter().enumerate() {
        if i % 4096 == 0 {
            bar.set_position(i as u64);
        }
        let thread = (uint(event, "pid"), uint(event, "tid"));
        let name = || {
            event
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned()
        };
        match event.get("ph").and_then(Value::as_str) {
            Some("X") => {
                let (Some(start_ns), Some(dur_ns)) = (ns(event, "ts"), ns(event, "dur")) else {
                    continue;
                };
                let busy_ns = event.get("args").and_then(busy_of);
                out.push(Span {
                    name: name(),
                    thread,
                    start_ns,
                    dur_ns,
                    busy_ns,
                });
            }
            Some("B") => {
                if let Some(ts) = ns(event, "ts") {
                    open.entry(thread).or_default().push((name(), ts));
                }
            }
            Some("E") => {
                let (Some(stack), Some(end)) = (open.get_mut(&thread), ns(event, "ts")) else {
                    continue;
                };
                if let Some((name, start_ns)) = stack.pop() {
                    let dur_ns = end.saturating_sub(start_ns);
                    out.push(Span {
                        name,
                        thread,
                        start_ns,
                        dur_ns,
                        busy_ns: None,
                    });
                }
            }
            _ => {}
        }
    }
    bar.finish_and_clear();
    out
}

fn uint(event: &Value, key: &str) -> u64 {
    event.get(key).and_then(Value::as_u64).unwrap_or(0)
}

/// A microsecond field as nanoseconds (exact for the three decimals livetel writes).
fn ns(event: &Value, key: &str) -> Option<u64> {
    let micros = event.get(key)?.as_f64()?;
    (micros >= 0.0).then(|| (micros * 1000.0).round() as u64)
}

/// A span's busy time from its args: `busy_ns`, or livetel's `resource.cpu.micros` (CPU time while entered).
fn busy_of(args: &Value) -> Option<u64> {
    args.get("busy_ns").and_then(Value::as_u64).or_else(|| {
        args.get("resource.cpu.micros")
            .and_then(Value::as_u64)
            .map(|us| us.saturating_mul(1_000))
    })
}
