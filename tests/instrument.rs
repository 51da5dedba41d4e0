//! `#[livetel::instrument]` parity with what people use from `#[tracing::instrument]`: `err`, `ret`, `target`,
//! and arguments of async functions while `include_args` is on. In its own test binary: `include_args` is
//! process-wide.

mod common;

use common::receiver::Receiver;
use common::{Fixture, spans, trace_files};
use tracing::dispatcher::with_default;

#[derive(Debug)]
struct ToolFailed(&'static str);

impl std::fmt::Display for ToolFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tool failed: {}", self.0)
    }
}

#[livetel::instrument(name = "tool.execute", target = "agent::tools", err, ret)]
fn execute(tool: &str) -> Result<usize, ToolFailed> {
    if tool == "broken" {
        return Err(ToolFailed("exit 2"));
    }
    let parsed: usize = "3".parse().map_err(|_| ToolFailed("parse"))?;
    Ok(tool.len() + parsed)
}

#[livetel::instrument(name = "llm.chat", skip(api_key), err)]
async fn chat(model: &str, prompt: &str, api_key: &str) -> Result<String, ToolFailed> {
    tokio::task::yield_now().await;
    if prompt.is_empty() {
        return Err(ToolFailed("empty prompt"));
    }
    Ok(format!("{model}:{prompt}:{}", api_key.len()))
}

/// `impl Trait` inside the return type: the body still runs in a closure whose return type is left to inference.
#[livetel::instrument(err, ret)]
fn digits(text: &str) -> Result<impl Iterator<Item = u32> + std::fmt::Debug + use<>, ToolFailed> {
    let parsed: Vec<u32> = text
        .chars()
        .map(|c| c.to_digit(10).ok_or(ToolFailed("not a digit")))
        .collect::<Result<_, _>>()?;
    Ok(parsed.into_iter())
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime")
        .block_on(f)
}

#[test]
fn err_ret_target_and_async_arguments_in_chrome_files() {
    let f = Fixture::new("watch = false\ninclude_args = true\nfilter = \"trace\"");
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        assert_eq!(execute("grep").ok(), Some(7));
        assert!(execute("broken").is_err());
        assert!(block_on(chat("m1", "hello", "SECRET-KEY")).is_ok());
        assert!(block_on(chat("m1", "", "SECRET-KEY")).is_err());
        assert_eq!(digits("42").map(Iterator::sum::<u32>).ok(), Some(6));
        assert!(digits("4x").is_err());
    });
    drop(t);
    let files = trace_files(&f.traces);
    let events: Vec<_> = files.iter().flat_map(|(_, e)| e.iter().cloned()).collect();
    let tools: Vec<_> = spans(&events)
        .into_iter()
        .filter(|s| s["name"] == "tool.execute")
        .collect();
    assert_eq!(tools.len(), 2);
    assert!(
        tools.iter().all(|s| s["cat"] == "agent::tools"),
        "target: {tools:?}"
    );
    assert!(
        tools[0]["args"]["error"].is_null(),
        "no error on Ok: {}",
        tools[0]
    );
    assert_eq!(tools[1]["args"]["error"], "tool failed: exit 2");
    assert_eq!(tools[1]["args"]["otel.status_code"], "ERROR");
    let instants: Vec<_> = events.iter().filter(|e| e["ph"] == "i").collect();
    let tool_returns: Vec<_> = instants
        .iter()
        .filter(|e| e["args"]["return"].is_string() && e["cat"] == "agent::tools")
        .collect();
    assert_eq!(tool_returns.len(), 2, "one `ret` event per call: {instants:?}");
    assert_eq!(tool_returns[0]["args"]["return"], "Ok(7)");
    let errors = instants.iter().filter(|e| e["args"]["error"].is_string()).count();
    assert_eq!(
        errors, 3,
        "one ERROR event per Err (tool, chat, digits): {instants:?}"
    );
    let digit_returns = instants
        .iter()
        .filter(|e| e["cat"] == "instrument" && e["args"]["return"].is_string());
    assert_eq!(
        digit_returns.count(),
        2,
        "`ret` with an `impl Trait` inside the return type"
    );
    let chats: Vec<_> = spans(&events)
        .into_iter()
        .filter(|s| s["name"] == "llm.chat")
        .collect();
    assert_eq!(chats.len(), 2);
    assert_eq!(
        chats[0]["args"]["model"], "\"m1\"",
        "async arguments: {}",
        chats[0]
    );
    assert_eq!(chats[0]["args"]["prompt"], "\"hello\"");
    assert_eq!(chats[1]["args"]["otel.status_code"], "ERROR");
    for (path, _) in &files {
        let text = std::fs::read_to_string(path).expect("trace file");
        assert!(
            !text.contains("SECRET-KEY"),
            "a skipped argument reached {}",
            path.display()
        );
    }
}

#[test]
fn err_reaches_otlp_as_span_status_error() {
    let rx = Receiver::start();
    let f = Fixture::new(&rx.otlp_body());
    let t = f.start();
    with_default(t.dispatch().expect("own subscriber"), || {
        assert!(execute("grep").is_ok());
        assert!(execute("broken").is_err());
    });
    let counters = t.shutdown();
    assert_eq!((counters.exported, counters.dropped), (2, 0), "{counters:?}");
    let spans = rx.wait_spans(2);
    let status = |s: &serde_json::Value| s["status"]["code"].as_i64();
    let broken: Vec<_> = spans
        .iter()
        .filter(|s| s["attributes"]["error"].is_string())
        .collect();
    assert_eq!(broken.len(), 1, "{spans:?}");
    // opentelemetry.proto.trace.v1.Status.StatusCode: 0 UNSET, 1 OK, 2 ERROR.
    assert_eq!(status(broken[0]), Some(2), "{}", broken[0]);
    assert_eq!(broken[0]["attributes"]["error"], "tool failed: exit 2");
    let fine: Vec<_> = spans
        .iter()
        .filter(|s| !s["attributes"]["error"].is_string())
        .collect();
    assert_eq!(status(fine[0]), Some(0), "{}", fine[0]);
}
