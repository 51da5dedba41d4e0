//! The generation hand-off, step by step and deterministic: one thread builds a three-span trace in six
//! hot-path steps (open root, open child, open leaf, close leaf, close child, close root), and a flip is applied
//! — completely, by `reload_blocking` — before each step in turn, with and without a retire tick after it, for
//! every kind of flip: out of recording, into recording, to a new file, and out-and-back-in.
//!
//! What each case must record is known exactly: a trace whose root began in a recording generation finishes
//! whole in that generation's file, whatever happens after; a trace whose root began under `none` is recorded
//! from the flip on (the spans opened after it), never split across files. `tests/flips.rs` runs the same
//! hand-off concurrently; this test pins every interleaving *between* steps, which a concurrent run only
//! samples.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::{Fixture, spans, trace_files};
use livetel::{ReloadOutcome, Telemetry};

const LOCAL: &str = "watch = false\nbackend = \"local\"";
/// Another service name: the same backend in a new file.
const LOCAL_OTHER_FILE: &str = "watch = false\nbackend = \"local\"\n# other file";
const NONE: &str = "watch = false\nbackend = \"none\"";

/// A flip: the configs applied one after the other at the flip point.
struct Flip {
    name: &'static str,
    from: &'static str,
    to: &'static [&'static str],
    /// The spans recorded when the flip comes before step `p` (0..=6), in opening order.
    expect: fn(usize) -> &'static [&'static str],
}

const ALL: &[&str] = &["h.root", "h.child", "h.leaf"];

fn whole_if_root_recorded(p: usize) -> &'static [&'static str] {
    if p == 0 { &[] } else { ALL }
}

fn from_the_flip_on(p: usize) -> &'static [&'static str] {
    match p {
        0 => ALL,
        1 => &ALL[1..],
        2 => &ALL[2..],
        _ => &[],
    }
}

fn always_whole(_: usize) -> &'static [&'static str] {
    ALL
}

const FLIPS: &[Flip] = &[
    Flip {
        name: "local -> none",
        from: LOCAL,
        to: &[NONE],
        expect: whole_if_root_recorded,
    },
    Flip {
        name: "none -> local",
        from: NONE,
        to: &[LOCAL],
        expect: from_the_flip_on,
    },
    Flip {
        name: "local -> local (new file)",
        from: LOCAL,
        to: &[LOCAL_OTHER_FILE],
        expect: always_whole,
    },
    Flip {
        name: "local -> none -> local",
        from: LOCAL,
        to: &[NONE, LOCAL_OTHER_FILE],
        expect: always_whole,
    },
];

/// Writes `cfg`; [`LOCAL_OTHER_FILE`] gets another service name, which starts a new file.
fn write(f: &Fixture, cfg: &str) {
    let text = f.section(cfg);
    let text = if cfg == LOCAL_OTHER_FILE {
        text.replace("service_name = \"test\"", "service_name = \"other\"")
    } else {
        text
    };
    std::fs::write(&f.config, text).expect("write config");
}

/// Runs the six steps with `flip` applied before step `at`; `tick` waits for the control loop's retire tick.
fn run_case(
    t: &Telemetry,
    d: &tracing::Dispatch,
    f: &Fixture,
    case: u64,
    flip: &Flip,
    at: usize,
    tick: bool,
) {
    write(f, flip.from);
    let outcome = t.reload_trigger().reload_blocking();
    assert!(
        !matches!(outcome, ReloadOutcome::Rejected { .. }),
        "set-up of case {case}: {outcome:?}"
    );
    tracing::dispatcher::with_default(d, || {
        let mut open: Vec<tracing::span::EnteredSpan> = Vec::new();
        for step in 0..=6 {
            if step == at {
                for cfg in flip.to {
                    write(f, cfg);
                    let outcome = t.reload_trigger().reload_blocking();
                    assert!(outcome.is_applied(), "flip of case {case}: {outcome:?}");
                }
                if tick {
                    // Longer than the retire tick (20 ms): a drained generation is unpublished here.
                    std::thread::sleep(Duration::from_millis(60));
                }
            }
            match step {
                0 => open.push(tracing::info_span!("h.root", case).entered()),
                1 => open.push(tracing::info_span!("h.child", case).entered()),
                2 => open.push(tracing::info_span!("h.leaf", case).entered()),
                3..=5 => drop(open.pop()),
                _ => {}
            }
        }
    });
}

#[test]
fn every_flip_point_between_hot_path_steps_keeps_traces_whole() {
    let f = Fixture::new(LOCAL);
    let t = f.start();
    let d = t.dispatch().expect("own subscriber").clone();
    every_flip_point(f, t, d);
}

/// The same in a user's stack: livetel's layer beside a fmt layer (its per-layer filter decides).
#[test]
fn every_flip_point_in_a_users_stack() {
    use tracing_subscriber::prelude::*;
    let f = Fixture::new(LOCAL);
    let (layer, t) = f.builder().build_layer().expect("livetel starts");
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::sink);
    let d = tracing::Dispatch::new(tracing_subscriber::registry().with(fmt).with(layer));
    every_flip_point(f, t, d);
}

fn every_flip_point(f: Fixture, t: Telemetry, d: tracing::Dispatch) {
    let mut cases = Vec::new();
    for flip in FLIPS {
        for at in 0..=6 {
            for tick in [false, true] {
                let case = cases.len() as u64;
                run_case(&t, &d, &f, case, flip, at, tick);
                cases.push((flip, at, tick));
            }
        }
    }
    let counters = t.shutdown();
    assert_eq!(counters.dropped, 0, "{counters:?}");

    // case -> (file, span name) in file order
    let mut found: HashMap<u64, Vec<(usize, String)>> = HashMap::new();
    for (i, (path, events)) in trace_files(&f.traces).iter().enumerate() {
        common::assert_well_formed(path, events);
        for s in spans(events) {
            let case = s["args"]["case"].as_u64().expect("case field");
            found
                .entry(case)
                .or_default()
                .push((i, s["name"].as_str().unwrap_or("").to_owned()));
        }
    }
    for (case, (flip, at, tick)) in cases.iter().enumerate() {
        let got = found.remove(&(case as u64)).unwrap_or_default();
        let files: std::collections::HashSet<usize> = got.iter().map(|(i, _)| *i).collect();
        assert!(
            files.len() <= 1,
            "{}, flip before step {at}, tick {tick}: torn across files {files:?}",
            flip.name
        );
        let mut names: Vec<&str> = got.iter().map(|(_, n)| n.as_str()).collect();
        names.sort_by_key(|n| ALL.iter().position(|a| a == n));
        assert_eq!(
            names,
            (flip.expect)(*at),
            "{}, flip before step {at}, retire tick {tick}",
            flip.name
        );
    }
    let recorded: usize = cases.iter().map(|(flip, at, _)| (flip.expect)(*at).len()).sum();
    assert_eq!(counters.exported as usize, recorded, "{counters:?}");
    println!(
        "handoff: {} cases ({} flips x 7 points x tick/no tick), {recorded} spans exactly where expected",
        cases.len(),
        FLIPS.len()
    );
}
