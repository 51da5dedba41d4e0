//! The figures whose stacks export to the loopback sink (P1_otlp, P1_otlp_flood, P7, and P1_reload_otlp through
//! [`pair`]), each with what both stacks made, delivered and dropped.
//!
//! **Equal delivery.** At P1's rate (over a million spans/s offered on one thread) both batch queues overflow, and
//! the two stacks drop different shares (one quick run: livetel delivered 122,368 of 420,000). Per-span cost then
//! compares different work: a dropped span skips the enqueue, and what each stack drops depends on how fast its
//! exporter drains the queue on the *other* core. Dividing by delivered spans instead would charge the traced
//! thread for the exporter's throughput. So P1_otlp offers spans at the rate each stack delivers them
//! ([`Offer::Delivered`]): every span made is delivered, by both, and the cpu ns/span of the traced thread compare
//! the same work. The flood figure (P1_otlp_flood) is printed beside it, with its drops.

use std::cell::Cell;
use std::time::{Duration, Instant};

use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Dispatch;
use tracing::dispatcher::with_default;

use crate::figures::{Scale, per_span, trees};
use crate::measure::{Delivery, Figure, ab, cpu_ns};
use crate::sink::Sink;
use crate::stacks::{Livetel, otel_baseline, otel_baseline_sized, otlp_body};

/// A stack that exports to the sink: its subscriber, and how to wait until it has delivered or dropped
/// everything it was given (after which the sink's count is final for it).
pub struct Exporting<'a> {
    pub dispatch: &'a Dispatch,
    flush: Box<dyn Fn() + 'a>,
}

impl<'a> Exporting<'a> {
    /// livetel: flushed when nothing is in flight.
    pub fn livetel(l: &'a Livetel) -> Exporting<'a> {
        Exporting {
            dispatch: l.dispatch(),
            flush: Box::new(|| l.settle()),
        }
    }

    /// A tracing-opentelemetry stack: flushed by its provider's `force_flush`, which returns once the batch
    /// processor's queue is exported.
    pub fn sdk(dispatch: &'a Dispatch, provider: &'a SdkTracerProvider) -> Exporting<'a> {
        Exporting {
            dispatch,
            flush: Box::new(move || {
                let _ = provider.force_flush();
            }),
        }
    }
}

/// How a round offers its spans.
#[derive(Clone, Copy)]
pub enum Offer {
    /// As fast as the thread makes them; whatever the queue cannot take is dropped.
    Flood,
    /// At the rate the stack delivers them: in bursts of [`BURST_TREES`], each waiting (unmeasured) until at
    /// most [`MAX_AHEAD`] spans are made but not yet received by the sink. A burst on top of that stays below
    /// the queue size (2048), so nothing is dropped.
    Delivered,
}

/// Trees per burst of an [`Offer::Delivered`] round (384 spans).
const BURST_TREES: u64 = 128;
/// Spans made but not yet received that an [`Offer::Delivered`] round allows before a burst: twice the export
/// batch (512), so a full batch is always queued while the producer waits.
const MAX_AHEAD: u64 = 1024;
/// How long a producer waits for the sink before giving up (what never arrives counts as dropped).
const PATIENCE: Duration = Duration::from_secs(2);

/// Waits until at most `ahead` of the `made` spans are missing at the sink since its count was `before`, or
/// `limit` has passed.
fn wait_received(sink: &Sink, before: u64, made: u64, ahead: u64, limit: Duration) {
    let t = Instant::now();
    while made.saturating_sub(sink.received() - before) > ahead && t.elapsed() < limit {
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// Makes `n` trees at the rate the sink receives them (see [`Offer::Delivered`]); returns the CPU ns this thread
/// spent in the bursts, not in the waits between them.
fn paced_cpu_ns(sink: &Sink, before: u64, n: u64) -> u64 {
    let (mut trees_made, mut ns) = (0, 0);
    while trees_made < n {
        wait_received(sink, before, 3 * trees_made, MAX_AHEAD, PATIENCE);
        let k = BURST_TREES.min(n - trees_made);
        ns += cpu_ns(|| trees(k));
        trees_made += k;
    }
    ns
}

/// One round of P1's workload (`n` trees) through `stack`: cpu ns per span on this thread, and what the stack
/// delivered once flushed.
pub fn round(sink: &Sink, stack: &Exporting, n: u64, offer: Offer) -> (f64, Delivery) {
    let before = sink.received();
    let ns = match offer {
        Offer::Flood => per_span(stack.dispatch, n),
        Offer::Delivered => {
            with_default(stack.dispatch, || paced_cpu_ns(sink, before, n)) as f64 / (3 * n) as f64
        }
    };
    (stack.flush)();
    (ns, Delivery::of(3 * n, sink.received() - before))
}

/// Adds a round's delivery to `acc`; returns its figure.
fn tally(acc: &Cell<Delivery>, (x, d): (f64, Delivery)) -> f64 {
    acc.set(acc.get() + d);
    x
}

/// A P1 figure of two exporting stacks in interleaved rounds: cpu ns/span, paired-median ratio, and what each
/// delivered over all rounds.
pub fn pair(
    name: &'static str,
    goal: &'static str,
    s: &Scale,
    sink: &Sink,
    (ours, theirs): (&Exporting, &Exporting),
    offer: Offer,
    note: String,
) -> Figure {
    let (mine, base) = (Cell::default(), Cell::default());
    let m = ab(
        s.rounds,
        || tally(&mine, round(sink, ours, s.trees, offer)),
        || tally(&base, round(sink, theirs, s.trees, offer)),
    );
    Figure::paired(name, m, "cpu ns/span", goal, note).with_delivery(mine.get(), base.get())
}

/// P1_otlp (at equal delivery) and P1_otlp_flood (at P1's full rate, as this figure was measured before):
/// livetel's otlp backend vs tracing-opentelemetry + the SDK batch processor, same exporter, same loopback sink,
/// same batch settings (queue 2048, batch 512, 20 ms).
pub fn otlp(s: &Scale, sink: &Sink, rt: &tokio::runtime::Runtime) -> Vec<Figure> {
    let l = Livetel::start(&otlp_body(&sink.endpoint, 2048, 512), false);
    let (otel, provider) = otel_baseline(&sink.endpoint, rt);
    let stacks = (&Exporting::livetel(&l), &Exporting::sdk(&otel, &provider));
    let what = "vs tracing-opentelemetry 0.34 + BatchSpanProcessor";
    let figures = vec![
        pair(
            "P1_otlp",
            "<= 1.05",
            s,
            sink,
            stacks,
            Offer::Delivered,
            format!("{what}; offered at the rate each delivers (0 dropped by design)"),
        ),
        pair(
            "P1_otlp_flood",
            "-",
            s,
            sink,
            stacks,
            Offer::Flood,
            format!("{what}; offered at full rate, both queues overflow: unequal work"),
        ),
    ];
    let _ = provider.shutdown();
    figures
}

/// P7_otlp_export: spans per second delivered to the loopback sink with nothing dropped, livetel vs the static
/// stack (tracing-opentelemetry + BatchSpanProcessor, same queue and batch sizes), in interleaved rounds. Both
/// producers are paced by what the sink has received, so neither outruns its exporter.
pub fn export_throughput(sink: &Sink, rt: &tokio::runtime::Runtime, rounds: usize, secs: f64) -> Figure {
    let l = Livetel::start(&otlp_body(&sink.endpoint, 65_536, 4096), false);
    let (otel, provider) = otel_baseline_sized(&sink.endpoint, rt, 65_536, 4096);
    let (ours, theirs) = (Exporting::livetel(&l), Exporting::sdk(&otel, &provider));
    let (mine, base) = (Cell::default(), Cell::default());
    let m = ab(
        rounds,
        || tally(&mine, delivered(sink, &ours, secs)),
        || tally(&base, delivered(sink, &theirs, secs)),
    );
    let _ = provider.shutdown();
    Figure::paired(
        "P7_otlp_export",
        m,
        "spans/s",
        ">= 250000, 0 dropped",
        format!("{rounds} rounds"),
    )
    .with_delivery(mine.get(), base.get())
}

/// Produces trees for `secs`, never more than 32k spans ahead of the sink; returns spans/s received (counting
/// until the sink has caught up, or a second passes) and, after a flush, what was delivered.
fn delivered(sink: &Sink, stack: &Exporting, secs: f64) -> (f64, Delivery) {
    let before = sink.received();
    let t = Instant::now();
    let mut made = 0u64;
    with_default(stack.dispatch, || {
        while t.elapsed().as_secs_f64() < secs {
            wait_received(sink, before, made, 32_768, PATIENCE);
            trees(16);
            made += 48;
        }
    });
    wait_received(sink, before, made, 0, Duration::from_secs(1));
    let rate = (sink.received() - before) as f64 / t.elapsed().as_secs_f64();
    (stack.flush)();
    (rate, Delivery::of(made, sink.received() - before))
}
