//! P1b: the time budgets' cost per span, and P4_override: how long an override takes to go live.

use std::time::{Duration, Instant};

use crate::figures::{Scale, livetel_pair};
use crate::measure::{Figure, percentile};
use crate::stacks::Livetel;

const OFF: &str = "backend = \"local\"";
/// Every span of P1's trees has a budget it stays within (the common case: a budgeted span on time), plus
/// names no span has.
const ON: &str = "backend = \"local\"\n[telemetry.budgets]\n\"p1.root\" = \"1h\"\n\"p1.mid\" = \"1h\"\n\
                  \"p1.leaf\" = \"1h\"\n\"agent.turn\" = \"50ms\"\n\"llm.call\" = \"2s\"";

/// P1b: per-span cost with budgets on / off, side by side (goal ≤ 1.05).
pub fn cost(s: &Scale) -> Figure {
    let on = Livetel::start(ON, false);
    let off = Livetel::start(OFF, false);
    let m = livetel_pair(s, &on, &off);
    let budgeted = on
        .tel
        .refresh_status()
        .budgets
        .as_ref()
        .map_or(0, |b| b.spans.len());
    let note = format!(
        "budgets on / off, local backend, P1's trees (each span budgeted, within it); {budgeted} names"
    );
    Figure::paired("P1b", m, "cpu ns/span", "<= 1.05", note)
}

/// P4_override: `Handle::override_toml_blocking` called → status shows the generation it made (no debounce: a
/// handle's request goes straight to the control thread). Each round adds an override and removes it: two
/// reloads, both timed.
pub fn override_latency(rounds: usize) -> Vec<Figure> {
    let l = Livetel::start("backend = \"local\"", false);
    let handle = l.tel.handle();
    let status = l.tel.status();
    let mut ms = Vec::with_capacity(2 * rounds);
    let wait_live = |t: Instant, generation: u64| {
        while status.borrow().generation < generation {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "an override never went live"
            );
            std::thread::yield_now();
        }
        t.elapsed().as_secs_f64() * 1000.0
    };
    for k in 0..rounds {
        let rate = if k % 2 == 0 { 0.5 } else { 0.25 };
        let t = Instant::now();
        let added = handle.override_toml_blocking(
            format!("[telemetry]\nsample_rate = {rate}\n"),
            Duration::from_secs(600),
        );
        let (Some(id), livetel::ReloadOutcome::Applied { generation }) = (added.id, &added.outcome) else {
            panic!("override not applied: {:?}", added.outcome);
        };
        ms.push(wait_live(t, *generation));
        let t = Instant::now();
        let removed = handle.remove_override_blocking(id);
        let livetel::ReloadOutcome::Applied { generation } = removed.outcome else {
            panic!("override not removed: {:?}", removed.outcome);
        };
        ms.push(wait_live(t, generation));
        std::thread::sleep(Duration::from_millis(5));
    }
    let note = format!("{rounds} overrides added and removed through a Handle, no debounce");
    vec![
        Figure::absolute(
            "P4_override_p50_ms",
            percentile(ms.clone(), 0.5),
            "ms",
            "-",
            note.clone(),
        ),
        Figure::absolute("P4_override_p99_ms", percentile(ms, 0.99), "ms", "<= 5", note),
    ]
}
