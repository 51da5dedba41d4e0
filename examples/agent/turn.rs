//! One simulated agent turn: the span tree a real agent makes, with a little CPU work in each step.

use std::collections::{BTreeMap, HashMap};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The spans a turn makes, in the order of [`Counts::by_name`].
pub const SPAN_NAMES: [&str; 11] = [
    "agent.turn",
    "agent.prepare_context",
    "context.assembly",
    "memory.recall",
    "llm.chat",
    "agent.tool_loop",
    "tool.execute",
    "agent.persist_message",
    "a2a.call",
    "a2a.handle",
    "tool.crash",
];

/// Spans the demo itself created, by name, and turns completed.
#[derive(Default)]
pub struct Counts {
    spans: [AtomicU64; SPAN_NAMES.len()],
    turns: AtomicU64,
    crashes: AtomicU64,
    error_turns: AtomicU64,
    slow_turns: AtomicU64,
}

impl Counts {
    fn span(&self, name: &str) {
        if cfg!(feature = "profiling")
            && let Some(i) = SPAN_NAMES.iter().position(|n| *n == name)
        {
            self.spans[i].fetch_add(1, Relaxed);
        }
    }

    /// `{"summary":{"spans_created":N,"turns":T,"error_turns":E,"slow_turns":S,"by_name":{...}}}`
    pub fn summary_json(&self) -> String {
        let by_name: BTreeMap<&str, u64> = SPAN_NAMES
            .iter()
            .zip(&self.spans)
            .map(|(n, c)| (*n, c.load(Relaxed)))
            .collect();
        let total: u64 = by_name.values().sum();
        let summary = serde_json::json!({
            "summary": {
                "spans_created": total,
                "turns": self.turns.load(Relaxed),
                "crashed_tasks": self.crashes.load(Relaxed),
                "error_turns": self.error_turns.load(Relaxed),
                "slow_turns": self.slow_turns.load(Relaxed),
                "by_name": by_name
            }
        });
        summary.to_string()
    }
}

/// Turns whose tool call panics, in parts per million (`--panic-rate`).
pub static PANIC_PPM: AtomicU64 = AtomicU64::new(0);

/// Sets the simulated work per step and the fraction of turns that panic.
pub fn configure(work_scale: f64, panic_rate: f64) {
    WORK_SCALE.store((work_scale.max(0.0) * 1000.0) as u64, Relaxed);
    PANIC_PPM.store((panic_rate.clamp(0.0, 1.0) * 1e6) as u64, Relaxed);
}

/// Turns whose last tool fails, and turns made slow, in parts per million (`--error-rate`, `--slow-rate`).
static ERROR_PPM: AtomicU64 = AtomicU64::new(0);
static SLOW_PPM: AtomicU64 = AtomicU64::new(0);
/// How much longer a slow turn takes (`--slow-ms`).
static SLOW_MS: AtomicU64 = AtomicU64::new(0);

/// Sets the fraction of turns that end in error and that are slow, and how slow.
pub fn configure_faults(error_rate: f64, slow_rate: f64, slow_ms: u64) {
    ERROR_PPM.store((error_rate.clamp(0.0, 1.0) * 1e6) as u64, Relaxed);
    SLOW_PPM.store((slow_rate.clamp(0.0, 1.0) * 1e6) as u64, Relaxed);
    SLOW_MS.store(slow_ms, Relaxed);
}

/// True for about `ppm` per million turns, spread by a hash of the turn (`salt` tells the faults apart).
fn picked(ppm: &AtomicU64, turn: u64, salt: u64) -> bool {
    let ppm = ppm.load(Relaxed);
    ppm > 0 && ((turn ^ salt).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 44) % 1_000_000 < ppm
}

/// Panics inside an instrumented span on the calling (main) thread: the process dies, its files must not.
#[livetel::instrument(name = "agent.fatal")]
pub fn panic_on_main_thread() -> &'static str {
    panic!("injected panic on the main thread");
}

/// A tool call that panics inside its span, on a thread of its own (as a task would); the turn goes on.
#[livetel::instrument(name = "tool.crash", skip_all)]
fn crashing_tool() {
    panic!("injected panic in a spawned task");
}

/// The demo's work queue: turn numbers from the dispatcher to the workers, through a bounded instrumented
/// channel (`livetel::channel`: with profiling on, its counts are in status and on `/metrics`).
pub type Queue = std::sync::Mutex<livetel::channel::mpsc::Receiver<u64>>;

/// Hands out turn numbers at `rate` per second over all workers (0: as fast as they take them) until `stop`;
/// returning drops the sender, which ends the workers.
pub fn run_dispatcher(rate: f64, stop: &AtomicBool, tx: livetel::channel::mpsc::Sender<u64>) {
    let interval = (rate > 0.0).then(|| Duration::from_secs_f64(1.0 / rate));
    let mut next = Instant::now();
    let mut n = 0u64;
    while !stop.load(Relaxed) {
        if tx.blocking_send(n).is_err() {
            return;
        }
        n += 1;
        if let Some(i) = interval {
            next += i;
            let now = Instant::now();
            if next > now {
                std::thread::sleep(next - now);
            } else {
                next = now;
            }
        }
    }
}

/// Runs the turns the queue hands out until it ends or `stop`.
pub fn run_worker(worker: usize, queue: &Queue, stop: &AtomicBool, counts: &Counts) {
    while !stop.load(Relaxed) {
        let next = match queue.lock() {
            Ok(mut rx) => rx.blocking_recv(),
            Err(_) => None,
        };
        let Some(n) = next else { return };
        turn(worker, n, counts);
        counts.turns.fetch_add(1, Relaxed);
        // Outside any span: a log record (OTLP logs, a Chrome instant for `local`, a console line).
        tracing::info!(worker, turn = n, "turn done");
    }
}

/// The agents of the demo: `agent.name` on each turn, summed by profiling (status `profiling.top`). Read only
/// by the span's fields, which a build without `profiling` compiles out.
#[cfg_attr(not(feature = "profiling"), allow(dead_code))]
const AGENTS: [&str; 3] = ["planner", "researcher", "writer"];

#[livetel::instrument(
    name = "agent.turn",
    skip(counts),
    fields(agent.name = AGENTS[turn as usize % AGENTS.len()], session.id = worker)
)]
fn turn(worker: usize, turn: u64, counts: &Counts) {
    counts.span("agent.turn");
    let context = prepare_context(turn, counts);
    let prompt = format!("turn {turn} of worker {worker}: {context}");
    let reply = llm_chat("sim-small-1", &prompt, counts);
    let fails = picked(&ERROR_PPM, turn, worker as u64 + 0x5eed);
    counts.error_turns.fetch_add(u64::from(fails), Relaxed);
    tool_loop(&reply, fails, counts);
    let ppm = PANIC_PPM.load(Relaxed);
    if ppm > 0 && (turn.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 44) % 1_000_000 < ppm {
        counts.span("tool.crash");
        // The span of the crashing tool is a child of this turn's span, made on another thread.
        let parent = tracing::Span::current();
        let crashed = std::thread::spawn(move || parent.in_scope(crashing_tool))
            .join()
            .is_err();
        counts.crashes.fetch_add(u64::from(crashed), Relaxed);
    }
    a2a_call(&reply, counts);
    persist_message(&reply, counts);
    if picked(&SLOW_PPM, turn, worker as u64 + 0x510e) {
        counts.slow_turns.fetch_add(1, Relaxed);
        std::thread::sleep(Duration::from_millis(SLOW_MS.load(Relaxed)));
    }
}

/// Calls another agent in-process, as if over the network: the W3C headers are the only link.
#[livetel::instrument(name = "a2a.call", skip_all)]
fn a2a_call(task: &str, counts: &Counts) {
    counts.span("a2a.call");
    #[cfg_attr(not(feature = "profiling"), allow(unused_mut))]
    let mut headers = HashMap::new();
    #[cfg(feature = "profiling")]
    livetel::propagation::inject(&tracing::Span::current(), &mut headers);
    black_box(a2a_handle(&headers, task, counts));
}

/// The "remote" agent: a consumer span (`livetel::propagation::consumer_span`) that adopts the caller from the
/// headers and becomes its child.
fn a2a_handle(headers: &HashMap<String, String>, task: &str, counts: &Counts) -> u64 {
    #[cfg(feature = "profiling")]
    let span = {
        counts.span("a2a.handle");
        livetel::propagation::consumer_span("a2a.handle", headers)
    };
    #[cfg(feature = "profiling")]
    let _entered = span.enter();
    let _ = (headers, counts);
    work(16_000 + task.len() as u64)
}

#[livetel::instrument(name = "agent.prepare_context", skip(counts))]
fn prepare_context(turn: u64, counts: &Counts) -> u64 {
    counts.span("agent.prepare_context");
    context_assembly(turn, counts)
}

#[livetel::instrument(name = "context.assembly", skip(counts))]
fn context_assembly(turn: u64, counts: &Counts) -> u64 {
    counts.span("context.assembly");
    memory_recall(turn % 7, counts) ^ work(16_000)
}

#[livetel::instrument(name = "memory.recall", skip(counts))]
fn memory_recall(key: u64, counts: &Counts) -> u64 {
    counts.span("memory.recall");
    work(32_000 + key)
}

#[livetel::instrument(
    name = "llm.chat",
    skip(counts),
    fields(
        gen_ai.operation.name = "chat",
        gen_ai.system = "livetel-sim",
        gen_ai.usage.input_tokens = tracing::field::Empty,
        gen_ai.usage.output_tokens = tracing::field::Empty
    )
)]
fn llm_chat(model: &str, prompt: &str, counts: &Counts) -> String {
    counts.span("llm.chat");
    let input_tokens = prompt.split_whitespace().count() as u64;
    let output_tokens = 16 + work(200_000) % 16;
    tracing::Span::current()
        .record("gen_ai.usage.input_tokens", input_tokens)
        .record("gen_ai.usage.output_tokens", output_tokens);
    // Inside the span: a span event, and a log record with this span's trace and span ids.
    tracing::info!(model, output_tokens, "llm reply");
    format!("{model} replies with {output_tokens} tokens")
}

/// Runs one to three tools; with `fails`, the last one fails (and the turn goes on).
#[livetel::instrument(name = "agent.tool_loop", skip_all)]
fn tool_loop(reply: &str, fails: bool, counts: &Counts) {
    counts.span("agent.tool_loop");
    let calls = 1 + reply.len() % 3;
    for i in 0..calls {
        let tool = if i % 2 == 0 { "search" } else { "calculator" };
        let _ = tool_execute(tool, fails && i + 1 == calls, counts);
    }
}

/// A tool call; a failure ends its span in error (`error` field, status ERROR, an ERROR event).
#[livetel::instrument(name = "tool.execute", err, skip(counts, fail))]
fn tool_execute(tool: &str, fail: bool, counts: &Counts) -> Result<(), String> {
    counts.span("tool.execute");
    black_box(work(32_000 + tool.len() as u64));
    if fail {
        // Inside the span: a WARN log record with this span's ids (and `err` adds the ERROR event on return).
        tracing::warn!(tool, "tool failed");
        return Err(format!("{tool}: simulated failure"));
    }
    Ok(())
}

#[livetel::instrument(name = "agent.persist_message", skip_all)]
fn persist_message(reply: &str, counts: &Counts) {
    counts.span("agent.persist_message");
    black_box(work(16_000 + reply.len() as u64));
}

/// Scales every step's simulated work (`--work-scale`); 1.0 makes a turn about half a millisecond of CPU.
pub static WORK_SCALE: AtomicU64 = AtomicU64::new(1000);

/// Deterministic CPU work standing in for a step's real work. At scale 1.0 a turn spends roughly: memory
/// recall 40 µs, context assembly 20 µs, LLM call 250 µs, each tool 40 µs, a2a 20 µs, persisting 20 µs — still
/// thousands of times faster than a real model call, so instrumentation overhead is, if anything, overstated.
/// Never inlined: every step runs this same machine code in both builds, so the instrumented/uninstrumented
/// ratio (P6) compares instrumentation, not where the linker happened to place an inlined copy of this loop
/// (loop alignment alone moved a build's turn rate by about 1.5 %).
#[inline(never)]
fn work(units: u64) -> u64 {
    let rounds = units * WORK_SCALE.load(Relaxed) / 1000;
    let mut x = black_box(0x9e37_79b9_7f4a_7c15u64);
    for i in 0..rounds {
        x = (x ^ i).wrapping_mul(0x100_0000_01b3).rotate_left(7);
    }
    black_box(x)
}
