//! Monotonic timestamps and small per-thread ids for trace records.

use std::cell::Cell;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, SystemTime};

/// The monotonic epoch (in `CLOCK_MONOTONIC` nanoseconds) and the wall-clock time it was taken at.
fn anchor() -> &'static (u64, SystemTime) {
    static ANCHOR: OnceLock<(u64, SystemTime)> = OnceLock::new();
    ANCHOR.get_or_init(|| (monotonic_ns(), SystemTime::now()))
}

/// Wall-clock time of a trace timestamp (for OTLP, which wants Unix time).
pub(crate) fn wall(ns: u64) -> SystemTime {
    anchor().1 + Duration::from_nanos(ns)
}

/// Nanoseconds since the process's trace epoch (the first call). Two reads per span, so this reads
/// `CLOCK_MONOTONIC` (the clock behind `Instant`) directly into integer nanoseconds: `Instant::elapsed` and its
/// `Duration` arithmetic were about 90 instructions a read (callgrind), this is about 15 plus the vDSO call.
#[inline]
pub(crate) fn now_ns() -> u64 {
    monotonic_ns().saturating_sub(anchor().0)
}

#[inline]
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call; CLOCK_MONOTONIC always exists
    // on Linux, and on failure `ts` stays zero (a timestamp at the epoch, never a crash).
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

/// The clock of durations that are never timestamps: the CPU's invariant counter (the TSC, read by `quanta`),
/// or `CLOCK_MONOTONIC` where there is none. A read is about 8 ns here against 16 ns for `clock_gettime`, and a
/// span only other signals see ([`crate::traces::hook_span`]) reads it twice: that is 5 % of livetel's cost per
/// span at `backend = "none"` with metrics on (docs/PERFORMANCE.md, P1m_static). Trace timestamps stay on
/// [`now_ns`]: the counter's calibration is taken once, so over hours it drifts from the wall clock, which a
/// duration of a span does not feel (parts per million). Calibrated by [`calibrate_ticks`] off the hot path (it
/// takes up to 200 ms).
fn ticks_clock() -> &'static quanta::Clock {
    static CLOCK: OnceLock<quanta::Clock> = OnceLock::new();
    CLOCK.get_or_init(quanta::Clock::new)
}

/// Calibrates the clock of [`ticks`]; the reload path calls it before a generation that reads it is live.
pub(crate) fn calibrate_ticks() {
    let _ = ticks_clock();
}

/// Now, in the clock's own units: only [`ticks_between`] gives them meaning.
#[inline]
pub(crate) fn ticks() -> u64 {
    ticks_clock().raw()
}

/// Nanoseconds from `start` to `end` (two [`ticks`]); 0 when `end` is not after `start`.
#[inline]
pub(crate) fn ticks_between(start: u64, end: u64) -> u64 {
    ticks_clock().delta_as_nanos(start, end)
}

static NEXT_TID: AtomicU64 = AtomicU64::new(1);

/// How many names of threads that have exited are kept: a writer may still name a thread whose records were
/// queued before it exited. Older ones are forgotten (their records then name the thread `thread-{tid}`), so a
/// service whose threads come and go (a blocking pool, a thread per job) holds a bounded table.
const EXITED_NAMES: usize = 1024;

/// Names of threads by tid, filled once per thread, read by trace writers for metadata.
#[derive(Default)]
struct Names {
    by_tid: HashMap<u64, String>,
    /// Threads that have exited, oldest first.
    exited: VecDeque<u64>,
}

fn names() -> &'static Mutex<Names> {
    static NAMES: OnceLock<Mutex<Names>> = OnceLock::new();
    NAMES.get_or_init(Default::default)
}

/// Marks its thread's name as exited when the thread ends (a thread-local's destructor).
struct Exits(u64);

impl Drop for Exits {
    fn drop(&mut self) {
        if let Ok(mut names) = names().lock() {
            names.exited.push_back(self.0);
            while names.exited.len() > EXITED_NAMES {
                if let Some(old) = names.exited.pop_front() {
                    names.by_tid.remove(&old);
                }
            }
        }
    }
}

thread_local! {
    static TID: Cell<u64> = const { Cell::new(0) };
    /// Set once, when the thread first traces; dropped when it exits.
    static EXITS: std::cell::OnceCell<Exits> = const { std::cell::OnceCell::new() };
}

/// A small id for the calling thread, stable for its life (Chrome traces want small integers).
#[inline]
pub(crate) fn tid() -> u64 {
    TID.with(|t| {
        let v = t.get();
        if v != 0 {
            return v;
        }
        let v = register_thread();
        t.set(v);
        v
    })
}

#[cold]
fn register_thread() -> u64 {
    let id = NEXT_TID.fetch_add(1, Ordering::Relaxed);
    let name = std::thread::current()
        .name()
        .map_or_else(|| format!("thread-{id}"), str::to_owned);
    if let Ok(mut names) = names().lock() {
        names.by_tid.insert(id, name);
    }
    // During the thread's own teardown this thread-local may be gone: its name then simply stays.
    let _ = EXITS.try_with(|e| {
        e.get_or_init(|| Exits(id));
    });
    id
}

/// The name of thread `tid`, as it was when the thread first traced.
pub(crate) fn thread_name(tid: u64) -> Option<String> {
    names().lock().ok()?.by_tid.get(&tid).cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Threads that come and go leave at most `EXITED_NAMES` names behind; a live thread keeps its name.
    #[test]
    fn names_of_exited_threads_are_bounded_and_a_live_thread_keeps_its_own() {
        let (tx, rx) = std::sync::mpsc::channel::<u64>();
        let (hold, release) = std::sync::mpsc::channel::<()>();
        let live = std::thread::Builder::new()
            .name("live.one".into())
            .spawn(move || {
                let _ = tx.send(tid());
                let _ = release.recv();
            })
            .expect("spawn");
        let live_tid = rx.recv().expect("its tid");
        for _ in 0..(EXITED_NAMES + 500) / 100 {
            let batch: Vec<_> = (0..100).map(|_| std::thread::spawn(tid)).collect();
            for t in batch {
                t.join().expect("join");
            }
        }
        let held = names()
            .lock()
            .map(|n| (n.by_tid.len(), n.exited.len()))
            .expect("names");
        // Live threads: this test's, `live.one`, and whatever the test harness runs meanwhile.
        assert!(held.1 <= EXITED_NAMES, "{held:?}");
        assert!(held.0 <= EXITED_NAMES + 64, "{held:?}");
        assert_eq!(thread_name(live_tid).as_deref(), Some("live.one"));
        drop(hold);
        live.join().expect("join");
    }
}
