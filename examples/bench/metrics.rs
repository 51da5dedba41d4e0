//! P1m: the metrics signal's cost per span. P1's trees through livetel's local backend with
//! `[telemetry.metrics] enabled` on and off, side by side (no `/metrics` listener: the scrape is not in it).

use crate::figures::{Scale, livetel_pair};
use crate::measure::Figure;
use crate::stacks::Livetel;

const OFF: &str = "backend = \"local\"";
const ON: &str = "backend = \"local\"\nmetrics.enabled = true";

/// P1m: per-span cost with span metrics on / off (goal ≤ 1.10).
pub fn cost(s: &Scale) -> Figure {
    let on = Livetel::start(ON, false);
    let off = Livetel::start(OFF, false);
    let m = livetel_pair(s, &on, &off);
    let series = on.tel.refresh_status().metrics.as_ref().map_or(0, |m| m.series);
    let note = format!("metrics on / off, local backend, P1's trees; {series} series");
    Figure::paired("P1m", m, "cpu ns/span", "<= 1.10", note)
}
