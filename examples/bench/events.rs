//! Issue 13's figures: what an event costs (P1_event_*), and what a list of two backends costs against each
//! alone (P1_multi).

use std::os::fd::AsRawFd;

use tracing::Dispatch;
use tracing::dispatcher::with_default;
use tracing_subscriber::layer::SubscriberExt;

use crate::exporting::{Exporting, Offer, round};
use crate::figures::{Scale, per_span};
use crate::measure::{Figure, ab, ns_per};
use crate::sink::Sink;
use crate::stacks::{Livetel, base, otlp_body};

/// The event workload: `n` INFO events outside any span, two fields each (as P1's spans have).
#[inline(never)]
pub fn events(n: u64) {
    for i in 0..n {
        tracing::info!(i, kind = "bench", "p1 event");
    }
}

/// CPU ns per event of `n` events through `d`.
pub fn per_event(d: &Dispatch, n: u64) -> f64 {
    with_default(d, || ns_per(n, || events(n)))
}

/// Points this process's stderr at /dev/null while alive (both console stacks write there: a terminal would
/// measure the terminal), and back when dropped.
struct QuietStderr {
    saved: i32,
}

impl QuietStderr {
    fn new() -> Option<QuietStderr> {
        let null = std::fs::OpenOptions::new().write(true).open("/dev/null").ok()?;
        // SAFETY: plain descriptor calls on descriptors this process owns; the saved copy is restored on drop.
        let saved = unsafe { libc::dup(2) };
        if saved < 0 || unsafe { libc::dup2(null.as_raw_fd(), 2) } < 0 {
            return None;
        }
        Some(QuietStderr { saved })
    }
}

impl Drop for QuietStderr {
    fn drop(&mut self) {
        // SAFETY: restores the descriptor saved in `new`.
        unsafe {
            libc::dup2(self.saved, 2);
            libc::close(self.saved);
        }
    }
}

/// P1_event_console: livetel's console (compact, to stderr) vs Registry + EnvFilter("info") +
/// tracing-subscriber's fmt layer (compact, to stderr); both write to /dev/null.
pub fn console(s: &Scale) -> Figure {
    let l = Livetel::start(
        "backend = \"none\"\n[telemetry.console]\nenabled = true\nansi = false\nformat = \"compact\"\nfilter = \"info\"",
        false,
    );
    let fmt = tracing_subscriber::fmt::layer()
        .compact()
        .with_ansi(false)
        .with_writer(std::io::stderr);
    let theirs = Dispatch::new(base().with(fmt));
    let n = s.trees;
    let quiet = QuietStderr::new();
    let m = ab(s.rounds, || per_event(l.dispatch(), n), || per_event(&theirs, n));
    drop(quiet);
    Figure::paired(
        "P1_event_console",
        m,
        "cpu ns/event",
        "<= 1.05",
        "vs Registry + EnvFilter + fmt::layer().compact(), both to stderr (/dev/null)".into(),
    )
}

/// P1_multi: livetel with `backend = ["local", "otlp"]` vs the sum of the same workload through `local` alone
/// and `otlp` alone, each round side by side; OTLP offered at the rate it is delivered (as P1_otlp).
pub fn multi(s: &Scale, sink: &Sink) -> Figure {
    let body = otlp_body(&sink.endpoint, 2048, 512).replacen(
        "backend = \"otlp\"",
        "backend = [\"local\", \"otlp\"]",
        1,
    );
    let both = Livetel::start(&body, false);
    let local = Livetel::start("backend = \"local\"", false);
    let otlp = Livetel::start(&otlp_body(&sink.endpoint, 2048, 512), false);
    let (both_x, otlp_x) = (Exporting::livetel(&both), Exporting::livetel(&otlp));
    let m = ab(
        s.rounds,
        || round(sink, &both_x, s.trees, Offer::Delivered).0,
        || {
            let alone = per_span(local.dispatch(), s.trees);
            local.settle();
            alone + round(sink, &otlp_x, s.trees, Offer::Delivered).0
        },
    );
    let c = both.tel.counters();
    Figure::paired(
        "P1_multi",
        m,
        "cpu ns/span",
        "<= 1.0",
        format!(
            "[\"local\",\"otlp\"] vs local alone + otlp alone; the list made {} span copies, exported {}, dropped {}",
            c.started, c.exported, c.dropped
        ),
    )
}
