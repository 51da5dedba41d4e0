//! P11: the CPU profiler's cost on a demo-like workload (nested spans, about 0.2 ms of CPU a turn in release, like the demo
//! agent's turn): the Pyroscope sampler at 100 Hz with span labels on (`LabelLayer`) /
//! profiling off (no sampler, no label layer), and labels on / off with the sampler on both sides.
//!
//! One sampler for the whole figure; a round turns it on or off by its rate (0 pauses it) and measures the
//! *process* CPU time per turn, so the signal handler on the workload thread and the sampler's own thread
//! (drain, symbolize, encode, push) are both counted. Pushes go to a closed loopback port: everything but the
//! HTTP body is done (and counted dropped). The interval is 1 s, ten times the default's rate of encodes.

use std::hint::black_box;
use std::time::Duration;

use livetel::profiling::pyroscope::{LabelLayer, Sampler, Settings, SpanLabels};
use tracing::Dispatch;
use tracing_subscriber::prelude::*;

use crate::measure::{Figure, ab};
use crate::stacks::Livetel;

#[inline(never)]
fn work(n: u64) -> u64 {
    (0..n).fold(0u64, |a, i| {
        black_box(a.wrapping_mul(31).wrapping_add(i ^ (a >> 7)))
    })
}

fn turn(i: u64) -> u64 {
    let _turn = tracing::info_span!("agent.turn", turn = i).entered();
    let context = {
        let _s = tracing::info_span!("context.assembly").entered();
        let _m = tracing::info_span!("memory.recall").entered();
        work(40_000 + i % 7)
    };
    let reply = {
        let _s = tracing::info_span!("llm.chat", model = "sim-small-1").entered();
        let prompt = format!("turn {i}: {context}");
        work(120_000) ^ prompt.len() as u64
    };
    for k in 0..3 {
        let _s = tracing::info_span!("tool.call", k).entered();
        black_box(work(20_000 + reply % 3));
    }
    let _p = tracing::info_span!("memory.persist").entered();
    black_box(vec![reply; 64]).len() as u64
}

fn process_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Process CPU ns per turn over `turns` turns under `dispatch`, the sampler at `hz` (and `labels`).
fn round(sampler: &Sampler, base: &Settings, hz: u32, labels: SpanLabels, d: &Dispatch, turns: u64) -> f64 {
    let mut s = base.clone();
    s.sample_hz = hz;
    s.span_labels = labels;
    sampler.update(s).expect("update the sampler");
    // The rate change closes the open interval: let the sampler thread encode it before measuring.
    std::thread::sleep(Duration::from_millis(250));
    tracing::dispatcher::with_default(d, || {
        let start = process_cpu_ns();
        for i in 0..turns {
            black_box(turn(i));
        }
        (process_cpu_ns() - start) as f64 / turns as f64
    })
}

/// Process CPU ns per turn of one livetel stack made from `body`, its shutdown included (the sampler pushes
/// its last interval then, so encoding is counted).
fn livetel_round(body: &str, turns: u64) -> f64 {
    let l = Livetel::start(body, false);
    let start = process_cpu_ns();
    tracing::dispatcher::with_default(l.dispatch(), || {
        for i in 0..turns {
            black_box(turn(i));
        }
    });
    drop(l.shutdown());
    (process_cpu_ns() - start) as f64 / turns as f64
}

/// P11_livetel: the same turns through livetel (`local` backend), `[telemetry.profiling]` with a Pyroscope
/// endpoint and `span_labels = "name_and_id"` / without profiling. A stack per round; its shutdown is counted.
pub fn cost_livetel(rounds: usize, turns: u64) -> Figure {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr());
    let endpoint = format!("http://{}", closed.expect("a loopback port"));
    let on = format!(
        "backend = \"local\"\n[telemetry.profiling]\npyroscope_endpoint = \"{endpoint}\"\nspan_labels = \"name_and_id\""
    );
    let m = ab(
        rounds,
        || livetel_round(&on, turns),
        || livetel_round("backend = \"local\"", turns),
    );
    let note = format!(
        "livetel local, profiling at 100 Hz + name_and_id labels / off; {turns} turns/round + shutdown"
    );
    Figure::paired("P11_livetel", m, "cpu ns/turn", "<= 1.01", note)
}

/// P11 (on with labels / off) and P11_labels (labels on / off, sampler on).
pub fn cost(rounds: usize, turns: u64) -> Vec<Figure> {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr());
    let endpoint = format!("http://{}", closed.expect("a loopback port"));
    let mut base = Settings::new(endpoint, "bench");
    base.interval = Duration::from_secs(1);
    base.sample_hz = 0;
    let sampler = match Sampler::start(base.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bench: P11 skipped: {e}");
            return Vec::new();
        }
    };
    let labelled = Dispatch::new(tracing_subscriber::registry().with(LabelLayer));
    let plain = Dispatch::new(tracing_subscriber::registry());
    let on = || round(&sampler, &base, 100, SpanLabels::NameAndId, &labelled, turns);
    let off = || round(&sampler, &base, 0, SpanLabels::None, &plain, turns);
    let p11 = ab(rounds, on, off);
    let unlabelled = || round(&sampler, &base, 100, SpanLabels::None, &plain, turns);
    let labels = ab(rounds, on, unlabelled);
    let stats = sampler.stop().expect("stop the sampler");
    let note = format!(
        "{turns} turns/round, 8 spans/turn; {} samples, {} dropped before the ring",
        stats.samples_taken, stats.samples_dropped
    );
    vec![
        Figure::paired(
            "P11",
            p11,
            "cpu ns/turn",
            "<= 1.01",
            format!("100 Hz + labels / off; {note}"),
        ),
        Figure::paired(
            "P11_labels",
            labels,
            "cpu ns/turn",
            "-",
            "labels on / off, 100 Hz both".into(),
        ),
    ]
}
