//! Monotonic timestamps and small per-thread ids for trace records.

use std::cell::Cell;
use std::collections::HashMap;
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

/// Names of threads by tid, filled once per thread, read by trace writers for metadata.
fn names() -> &'static Mutex<HashMap<u64, String>> {
    static NAMES: OnceLock<Mutex<HashMap<u64, String>>> = OnceLock::new();
    NAMES.get_or_init(Default::default)
}

thread_local! {
    static TID: Cell<u64> = const { Cell::new(0) };
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
    if let Ok(mut map) = names().lock() {
        map.insert(id, name);
    }
    id
}

/// The name of thread `tid`, as it was when the thread first traced.
pub(crate) fn thread_name(tid: u64) -> Option<String> {
    names().lock().ok()?.get(&tid).cloned()
}
