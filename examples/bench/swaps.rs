//! Spans lost, torn or misrouted while the recording backend is replaced [`SWAPS`] times under [`THREADS`] threads making
//! P1's 3-level trees: livetel's flips (local → local, a new file each time, [`Flips`]) against
//! `tracing_subscriber::reload` swapping in a new tracing-chrome layer (a new file) or a new tracing-opentelemetry
//! layer (a new provider), through `Handle::modify` (those stacks: [`crate::reload_swaps`]).
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
use std::time::{Duration, Instant};

use tracing::Dispatch;
use tracing::dispatcher::with_default;

use crate::figures::trees_from;
use crate::measure::Delivery;
use crate::stacks::Livetel;

/// Swaps (or flips) per run.
pub const SWAPS: u64 = 100;
/// Threads making trees throughout a run.
const THREADS: u64 = 4;
/// Time between two swaps.
const SWAP_EVERY: Duration = Duration::from_millis(10);
/// A worker's pause between two trees, as in the flips test: below every writer's capacity, so a bounded queue
/// drops nothing and what is missing is the swaps' doing.
const TREE_EVERY: Duration = Duration::from_micros(50);

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

/// Reads every `.json` file in `dir`: the spans of each, attributed to the output `output_of(process name,
/// path)` gives (files it names no output for are skipped); and the number of files that are not complete JSON.
pub fn read_chrome_dir(dir: &Path, output_of: impl Fn(Option<&str>, &Path) -> Option<u64>) -> (Arrived, u64) {
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
