//! P10: tail sampling. Per-span cost with errors kept at the tail against head-only sampling at the same
//! probability (0.1), side by side; and the bytes held with 1,000 undecided traces in flight.

use tracing::dispatcher::with_default;

use crate::figures::{Scale, livetel_pair};
use crate::measure::Figure;
use crate::stacks::Livetel;

const HEAD_ONLY: &str = "backend = \"local\"\nsample_rate = 0.1";
const TAIL: &str = "backend = \"local\"\nsample_rate = 0.1\nsampling.always_sample_errors = true\n\
                    sampling.always_sample_slow_seconds = 10.0";

/// P10_tail: P1's trees (3 spans, 2 fields each; none in error, none slow) through livetel's local backend at
/// probability 0.1, tail keeping on / off. With it on, the 90 % of traces the head drops are held and dropped at
/// their root's end instead of skipped at their start.
pub fn cost(s: &Scale) -> Figure {
    let tail = Livetel::start(TAIL, false);
    let head = Livetel::start(HEAD_ONLY, false);
    let m = livetel_pair(s, &tail, &head);
    let t = tail.tel.refresh_status().sampling.traces;
    let note = format!(
        "vs head-only at 0.1; tail run: kept by head {}, dropped by sampling {}, dropped by a bound {}",
        t.kept_by_head, t.dropped_by_sampling, t.dropped_by_bound
    );
    Figure::paired("P10_tail", m, "cpu ns/span", "-", note)
}

/// P10_tail_bytes: the most bytes held with `traces` undecided traces, each a root with 3 children (2 fields
/// each, 1 event) closed and held while the roots stay open. Bytes are the tail's own estimate (records and the
/// heap they own); the figure is per trace in the note.
pub fn held_bytes(traces: u64) -> Figure {
    let l = Livetel::start(
        "backend = \"local\"\nsampling.strategy = \"always_off\"\nsampling.always_sample_errors = true",
        false,
    );
    with_default(l.dispatch(), || {
        let roots: Vec<_> = (0..traces)
            .map(|i| tracing::info_span!(parent: None, "p10.root", i, kind = "bench"))
            .collect();
        for (i, root) in (0u64..).zip(&roots) {
            for _ in 0..3 {
                tracing::info_span!(parent: root, "p10.child", i, kind = "bench")
                    .in_scope(|| tracing::info!(i, "step"));
            }
        }
        let held = l.tel.refresh_status().sampling.traces;
        assert_eq!(held.buffered, traces, "every trace held");
    });
    let t = l.tel.refresh_status().sampling.traces;
    let note = format!(
        "{traces} traces in flight (3 closed spans held each, 2 fields and 1 event a span, root open): {:.0} \
         bytes a trace; after: held {} bytes, dropped by sampling {}",
        t.peak_buffered_bytes as f64 / traces as f64,
        t.buffered_bytes,
        t.dropped_by_sampling
    );
    Figure::absolute(
        "P10_tail_bytes",
        t.peak_buffered_bytes as f64,
        "peak bytes",
        "bounded",
        note,
    )
}
