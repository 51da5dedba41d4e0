//! Spans lost, torn or misrouted while the recording backend is replaced [`SWAPS`] times under [`THREADS`] threads making
//! P1's 3-level trees: livetel's flips (local → local, a new file each time) against
//! `tracing_subscriber::reload` swapping in a new tracing-chrome layer (a new file) or a new tracing-opentelemetry
//! layer (a new provider), through `Handle::modify`.
//!
//! A tree is *whole* when its 3 spans arrived in one output. A span is *lost* when it reached no output; a tree
//! is *torn* when some of its spans arrived but it is not whole (split across outputs, or missing some).
//! *Misrouted*: a whole tree made between two swaps that arrived in an output other than the one current then
//! (the swap did not take effect for it). The figure counts the spans of every tree lost, torn or misrouted.
//! Swaps and trees that panic are caught and counted.

use std::collections::{HashMap, HashSet};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry::Value;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing::Dispatch;
use tracing::dispatcher::with_default;
use tracing_chrome::{ChromeLayer, FlushGuard};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::reload;

use crate::figures::trees_from;
use crate::measure::Delivery;
use crate::stacks::{Base, Livetel, OtelLayer, chrome_layer, otel_layer, reloadable, sdk_provider};

/// Swaps (or flips) per run.
pub const SWAPS: u64 = 100;
/// Threads making trees throughout a run.
const THREADS: u64 = 4;
/// Time between two swaps.
const SWAP_EVERY: Duration = Duration::from_millis(10);
/// A worker's pause between two trees, as in the flips test: below every writer's capacity, so a bounded queue
/// drops nothing and what is missing is the swaps' doing.
const TREE_EVERY: Duration = Duration::from_micros(50);

/// What the recording exporters received, as (output, tree `i`, span name).
type Log = Arc<Mutex<Vec<(u64, u64, String)>>>;

/// Where the spans arrived: for each tree (its field `i`), the output and name of each span found.
pub type Arrived = HashMap<u64, Vec<(u64, String)>>;

/// A stack whose output is replaced while threads trace through it. Output `k` is the one swap `k` made
/// current (0: the first).
pub trait Swapped {
    fn dispatch(&self) -> Dispatch;
    /// Builds output `k` and makes it current; an error if the stack refused.
    fn swap(&mut self, k: u64) -> Result<(), String>;
    /// Retires every output and reads back where each span went; also counts outputs that could not be read.
    fn finish(self) -> (Arrived, u64);
}

/// When the reload stacks retire a replaced output.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Retire {
    /// Every output lives to the end of the run (then guards are dropped, providers shut down).
    AtEnd,
    /// At its swap, as a service that rotates files or providers must (drop the FlushGuard to finish the file,
    /// shut the provider down to flush it).
    AtSwap,
}

/// A tree made by a worker: its `i` and the epoch before and after (epoch `2k` = swap `k` done, odd = a swap
/// under way).
struct Made {
    i: u64,
    before: u64,
    after: u64,
}

/// What a run observed.
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub trees: u64,
    /// Spans that reached no output.
    pub lost: u64,
    /// Trees with some spans arrived but not whole in one output.
    pub torn: u64,
    /// Spans not in a whole tree in the output current when it was made (lost, torn or misrouted): the
    /// figure. A tree made during a swap may be whole in either output.
    pub broken: u64,
    pub misrouted: u64,
    /// Swaps that panicked / were refused; trees whose spans panicked.
    pub swap_panics: u64,
    pub refused: u64,
    pub tree_panics: u64,
    /// Outputs that received spans; outputs that could not be read back (incomplete JSON).
    pub outputs_used: u64,
    pub unreadable: u64,
    /// How long the swaps took, s (building a swap's output included).
    pub secs: f64,
}

impl Tally {
    /// Spans made, delivered (arrived anywhere) and dropped (lost).
    pub fn delivery(&self) -> Delivery {
        Delivery::of(3 * self.trees, 3 * self.trees - self.lost)
    }

    fn count(made: &[Made], arrived: &Arrived) -> Tally {
        let mut t = Tally {
            trees: made.len() as u64,
            ..Tally::default()
        };
        let mut used = HashSet::new();
        for m in made {
            let spans = arrived.get(&m.i).map_or(&[][..], Vec::as_slice);
            let names: HashSet<&str> = spans.iter().map(|(_, n)| n.as_str()).collect();
            let outputs: HashSet<u64> = spans.iter().map(|(o, _)| *o).collect();
            used.extend(outputs.iter().copied());
            t.lost += 3 - names.len().min(3) as u64;
            let whole = names.len() == 3 && outputs.len() == 1;
            let settled = m.before == m.after && m.before % 2 == 0;
            if !whole {
                t.broken += 3;
                t.torn += u64::from(!spans.is_empty());
            } else if settled && !outputs.contains(&(m.before / 2)) {
                t.broken += 3;
                t.misrouted += 1;
            }
        }
        t.outputs_used = used.len() as u64;
        t
    }
}

impl std::fmt::Display for Tally {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} trees, {} spans lost, {} trees torn, {} misrouted, {} outputs used, {} unreadable, panics {} swaps \
             {} trees, {} swaps refused, over {:.1} s",
            self.trees,
            self.lost,
            self.torn,
            self.misrouted,
            self.outputs_used,
            self.unreadable,
            self.swap_panics,
            self.tree_panics,
            self.refused,
            self.secs
        )
    }
}

/// Makes trees until `stop`, recording the epoch around each; a tree whose spans panic is counted, not made.
fn worker(t: u64, d: &Dispatch, epoch: &AtomicU64, stop: &AtomicBool) -> (Vec<Made>, u64) {
    with_default(d, || {
        let (mut made, mut panics) = (Vec::new(), 0);
        for n in 0u64.. {
            if stop.load(SeqCst) {
                break;
            }
            let i = (t << 32) | n;
            let before = epoch.load(SeqCst);
            match catch_unwind(|| trees_from(i, 1)) {
                Ok(()) => made.push(Made {
                    i,
                    before,
                    after: epoch.load(SeqCst),
                }),
                Err(_) => panics += 1,
            }
            std::thread::sleep(TREE_EVERY);
        }
        (made, panics)
    })
}

/// Runs [`THREADS`] workers through `sut` while it makes [`SWAPS`] swaps, then counts what arrived. Panics are
/// caught and counted; only the first one's message is printed.
pub fn run(mut sut: impl Swapped) -> Tally {
    let quiet = QuietPanics::install();
    let (epoch, stop) = (AtomicU64::new(0), AtomicBool::new(false));
    let d = sut.dispatch();
    let (mut swap_panics, mut refused, mut tree_panics, mut secs) = (0, 0, 0, 0.0);
    let start = Instant::now();
    let made = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|w| {
                let (d, epoch, stop) = (&d, &epoch, &stop);
                scope.spawn(move || worker(w, d, epoch, stop))
            })
            .collect();
        for k in 1..=SWAPS {
            std::thread::sleep(SWAP_EVERY);
            epoch.store(2 * k - 1, SeqCst);
            match catch_unwind(AssertUnwindSafe(|| sut.swap(k))) {
                Ok(Ok(())) => {}
                Ok(Err(_)) => refused += 1,
                Err(_) => swap_panics += 1,
            }
            epoch.store(2 * k, SeqCst);
        }
        std::thread::sleep(SWAP_EVERY);
        stop.store(true, SeqCst);
        secs = start.elapsed().as_secs_f64();
        let mut made = Vec::new();
        for w in workers {
            let (m, panics) = w.join().expect("worker catches its panics");
            made.extend(m);
            tree_panics += panics;
        }
        made
    });
    drop(d);
    let (arrived, unreadable) = sut.finish();
    drop(quiet);
    Tally {
        unreadable,
        swap_panics,
        refused,
        tree_panics,
        secs,
        ..Tally::count(&made, &arrived)
    }
}

/// A panic hook that prints the first panic only, for the length of a run (a poisoned lock makes every later
/// callback panic); the previous hook comes back on drop.
struct QuietPanics;

impl QuietPanics {
    fn install() -> QuietPanics {
        let previous = std::panic::take_hook();
        let first = AtomicBool::new(true);
        std::panic::set_hook(Box::new(move |info| {
            if first.swap(false, SeqCst) {
                previous(info);
            }
        }));
        QuietPanics
    }
}

impl Drop for QuietPanics {
    fn drop(&mut self) {
        // The default hook again (the bench installs no other).
        let _ = std::panic::take_hook();
    }
}

/// Swaps the layer behind `handle` for `new` with `Handle::modify`, and returns the one it replaced, to be
/// dropped after the write lock is released (`Handle::reload` drops it inside the lock, where a drop that
/// emits a tracing event deadlocks).
///
/// The swap runs with `dispatch` as this thread's default, as it is in a service whose reload stack is the
/// global subscriber. `modify` rebuilds the callsite interest cache, and while only one dispatcher is registered
/// tracing-core rebuilds it against the *calling thread's* default: swapping from a thread whose default is
/// another (or no) subscriber disables every callsite for every thread (all spans after the first swap were
/// lost that way in a first run of this bench).
fn replace<L>(handle: &reload::Handle<L, Base>, dispatch: &Dispatch, new: L) -> Result<L, String> {
    let mut old = None;
    with_default(dispatch, || {
        handle.modify(|l| old = Some(std::mem::replace(l, new)))
    })
    .map_err(|e| e.to_string())?;
    old.ok_or_else(|| "modify did not run".to_owned())
}

/// livetel flipping local → local: each flip sets a new `service_name`, which starts a new file (whose process
/// name tells its output).
pub struct Flips {
    l: Livetel,
    trigger: livetel::ReloadTrigger,
}

impl Flips {
    pub fn start() -> Flips {
        let l = Livetel::start(&Flips::body(0), false);
        let trigger = l.tel.reload_trigger();
        Flips { l, trigger }
    }

    fn body(k: u64) -> String {
        format!("backend = \"local\"\nservice_name = \"swap-{k}\"")
    }
}

impl Swapped for Flips {
    fn dispatch(&self) -> Dispatch {
        self.l.dispatch().clone()
    }

    fn swap(&mut self, k: u64) -> Result<(), String> {
        self.l.write(&Flips::body(k));
        match self.trigger.reload_blocking() {
            livetel::ReloadOutcome::Applied { .. } => Ok(()),
            other => Err(format!("{other:?}")),
        }
    }

    fn finish(self) -> (Arrived, u64) {
        let (_, dir) = self.l.shutdown();
        read_chrome_dir(&dir.path().join("traces"), |process, _| {
            process?.strip_prefix("swap-")?.parse().ok()
        })
    }
}

/// Registry + EnvFilter + `reload::Layer<ChromeLayer>`; swap `k` builds a ChromeLayer writing `swap-{k}.json`.
pub struct ChromeSwaps {
    dir: tempfile::TempDir,
    dispatch: Dispatch,
    handle: reload::Handle<ChromeLayer<Base>, Base>,
    guards: Vec<FlushGuard>,
    retire: Retire,
}

impl ChromeSwaps {
    pub fn start(retire: Retire) -> ChromeSwaps {
        let dir = tempfile::tempdir().expect("temp dir");
        let (layer, guard) = chrome_layer(&dir.path().join("swap-0.json"));
        let (dispatch, handle) = reloadable(layer);
        ChromeSwaps {
            dir,
            dispatch,
            handle,
            guards: vec![guard],
            retire,
        }
    }
}

impl Swapped for ChromeSwaps {
    fn dispatch(&self) -> Dispatch {
        self.dispatch.clone()
    }

    fn swap(&mut self, k: u64) -> Result<(), String> {
        let (layer, guard) = chrome_layer(&self.dir.path().join(format!("swap-{k}.json")));
        drop(replace(&self.handle, &self.dispatch, layer)?);
        if self.retire == Retire::AtSwap {
            drop(self.guards.pop());
        }
        self.guards.push(guard);
        Ok(())
    }

    fn finish(self) -> (Arrived, u64) {
        drop(self.guards);
        read_chrome_dir(self.dir.path(), |_, file| {
            file.file_stem()?.to_str()?.strip_prefix("swap-")?.parse().ok()
        })
    }
}

/// Registry + EnvFilter + `reload::Layer<OpenTelemetryLayer>`; swap `k` builds a provider (the batch processor
/// over an in-process exporter that records what it receives as output `k`) and a layer over its tracer. The
/// queue holds 65,536 spans, so the processor drops nothing at this rate: what is missing, the swaps lost.
pub struct OtelSwaps {
    dispatch: Dispatch,
    handle: reload::Handle<OtelLayer, Base>,
    providers: Vec<SdkTracerProvider>,
    log: Log,
    retire: Retire,
}

impl OtelSwaps {
    pub fn start(retire: Retire) -> OtelSwaps {
        let log = Arc::default();
        let provider = recording_provider(0, &log);
        let (dispatch, handle) = reloadable(otel_layer(&provider));
        OtelSwaps {
            dispatch,
            handle,
            providers: vec![provider],
            log,
            retire,
        }
    }

    /// Whether `OpenTelemetrySpanExt::context` finds a span's OpenTelemetry context through this stack (it
    /// finds the layer by downcasting, which `reload` does not pass on).
    pub fn context_found(&self) -> bool {
        context_found(&self.dispatch)
    }
}

/// Whether `OpenTelemetrySpanExt::context` gives a valid span context for a new span under `d`.
pub fn context_found(d: &Dispatch) -> bool {
    with_default(d, || {
        let span = tracing::info_span!("p1.root");
        span.context().span().span_context().is_valid()
    })
}

impl Swapped for OtelSwaps {
    fn dispatch(&self) -> Dispatch {
        self.dispatch.clone()
    }

    fn swap(&mut self, k: u64) -> Result<(), String> {
        let provider = recording_provider(k, &self.log);
        drop(replace(&self.handle, &self.dispatch, otel_layer(&provider))?);
        if self.retire == Retire::AtSwap {
            if let Some(old) = self.providers.pop() {
                let _ = old.shutdown_with_timeout(Duration::from_secs(1));
            }
        }
        self.providers.push(provider);
        Ok(())
    }

    fn finish(self) -> (Arrived, u64) {
        drop(self.dispatch);
        for p in &self.providers {
            let _ = p.shutdown_with_timeout(Duration::from_secs(5));
        }
        let log = std::mem::take(&mut *self.log.lock().expect("recording log"));
        let mut arrived = Arrived::new();
        for (output, i, name) in log {
            arrived.entry(i).or_default().push((output, name));
        }
        (arrived, 0)
    }
}

/// A provider with the batch processor (queue 65,536, batch 512, 20 ms) over a [`Recording`] exporter.
fn recording_provider(output: u64, log: &Log) -> SdkTracerProvider {
    let exporter = Recording {
        output,
        log: Arc::clone(log),
    };
    sdk_provider(exporter, 65_536, 512)
}

/// An exporter that records (output, tree `i`, span name) for each span it receives.
#[derive(Debug)]
struct Recording {
    output: u64,
    log: Log,
}

impl SpanExporter for Recording {
    fn export(&self, batch: Vec<SpanData>) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        if let Ok(mut log) = self.log.lock() {
            log.extend(
                batch
                    .iter()
                    .filter_map(|s| Some((self.output, tree_of(s)?, s.name.to_string()))),
            );
        }
        std::future::ready(Ok(()))
    }
}

/// The span's field `i` (tracing-opentelemetry 0.34 records a `u64` field as a string attribute).
fn tree_of(s: &SpanData) -> Option<u64> {
    s.attributes
        .iter()
        .find(|kv| kv.key.as_str() == "i")
        .and_then(|kv| match &kv.value {
            Value::I64(v) => u64::try_from(*v).ok(),
            Value::String(v) => v.as_str().parse().ok(),
            _ => None,
        })
}

/// Reads every `.json` file in `dir`: the spans of each, attributed to the output `output_of(process name,
/// path)` gives (files it names no output for are skipped); and the number of files that are not complete JSON.
fn read_chrome_dir(dir: &Path, output_of: impl Fn(Option<&str>, &Path) -> Option<u64>) -> (Arrived, u64) {
    let mut arrived = Arrived::new();
    let mut unreadable = 0;
    let files = std::fs::read_dir(dir).into_iter().flatten().flatten();
    for path in files
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
    {
        let Some(events) = read_events(&path) else {
            unreadable += 1;
            continue;
        };
        let Some(output) = output_of(process_name(&events), &path) else {
            continue;
        };
        for (i, name) in chrome_spans(&events) {
            arrived.entry(i).or_default().push((output, name));
        }
    }
    (arrived, unreadable)
}

/// A Chrome trace file's events, or `None` if it is not a complete JSON array.
fn read_events(path: &Path) -> Option<Vec<serde_json::Value>> {
    let file = std::fs::File::open(path).ok()?;
    serde_json::from_reader(std::io::BufReader::new(file)).ok()
}

/// The `process_name` metadata of a trace (livetel writes its service name there).
fn process_name(events: &[serde_json::Value]) -> Option<&str> {
    events
        .iter()
        .find(|e| e["ph"] == "M" && e["name"] == "process_name")
        .and_then(|e| e["args"]["name"].as_str())
}

/// The spans of a trace as (tree `i`, name): livetel's complete (`X`) events, and tracing-chrome's `E` events
/// whose `B` is in the same file. `i` is a number in livetel's files, a string in tracing-chrome's.
fn chrome_spans(events: &[serde_json::Value]) -> Vec<(u64, String)> {
    let span = |e: &serde_json::Value| {
        let i = &e["args"]["i"];
        let i = i.as_u64().or_else(|| i.as_str()?.parse().ok())?;
        Some((i, e["name"].as_str()?.to_owned()))
    };
    let of_phase = |ph: &'static str| events.iter().filter(move |e| e["ph"] == ph).filter_map(span);
    let begun: HashSet<(u64, String)> = of_phase("B").collect();
    of_phase("X")
        .chain(of_phase("E").filter(|s| begun.contains(s)))
        .collect()
}
