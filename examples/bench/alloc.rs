//! P10_alloc: allocation tracking's cost. A single-threaded, allocation-heavy workload (each span allocates a
//! vector and a string, and frees them) through livetel's local backend with `[telemetry.profiling] alloc`
//! on / off, on one instance flipped between rounds (the allocator's switch is process-wide, so two instances
//! side by side would both count). Off means what it says: no generation counts, and the counting allocator
//! pays its one relaxed load per call. Built with feature `profiling-alloc` (the bench declares the allocator).

use std::hint::black_box;
use std::time::{Duration, Instant};

use tracing::dispatcher::with_default;

use crate::figures::Scale;
use crate::measure::{Figure, ab, ns_per};
use crate::stacks::Livetel;

/// One iteration: a span inside which `per_span` strings are formatted into a vector (about `per_span + 1`
/// allocations, a few reallocations), all freed before it exits.
#[inline(never)]
fn workload(n: u64, per_span: u64) {
    for i in 0..n {
        let span = tracing::info_span!("p10.alloc", i);
        let _e = span.enter();
        let v: Vec<String> = (0..per_span).map(|x| format!("item {i}.{x}")).collect();
        black_box(&v);
    }
}

/// Sets `alloc` and waits until the allocator counts (or not) accordingly: the replaced generation drained.
fn set(l: &Livetel, on: bool) {
    let _ = l.tel.handle().modify_blocking(move |c| c.profiling.alloc = on);
    let deadline = Instant::now() + Duration::from_secs(10);
    while livetel::profiling::counting_now() != on && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// P10_alloc (an allocation-heavy span: 64 strings formatted into a vector, goal ≤ 1.02) and P10_alloc_span
/// (a light one: 2 strings, no goal: what tracking costs a span that does little else): CPU ns per span and its
/// work, `alloc` on / off.
pub fn cost(s: &Scale) -> Vec<Figure> {
    let l = Livetel::start("backend = \"local\"", false);
    let installed = livetel::profiling::allocator_installed();
    let mut out = Vec::new();
    for (name, per_span, n, goal) in [
        ("P10_alloc", 64, s.trees / 8, "<= 1.02"),
        ("P10_alloc_span", 2, s.trees, "-"),
    ] {
        let round = |on: bool| {
            set(&l, on);
            let x = with_default(l.dispatch(), || ns_per(n, || workload(n, per_span)));
            l.settle();
            x
        };
        let m = ab(s.rounds.max(9), || round(true), || round(false));
        let note = format!(
            "alloc on / off; a span formatting {per_span} strings into a vector, local backend; \
             counting allocator installed: {installed}"
        );
        out.push(Figure::paired(name, m, "cpu ns/span", goal, note));
    }
    out
}
