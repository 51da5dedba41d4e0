//! P1_reload: why livetel does not put its backends behind `tracing_subscriber::reload`, the design it started
//! from. What the reload stacks cost on P1's workload (against livetel's local and otlp backends, the OTLP pair
//! at equal delivery), and what their swaps lose, tear or misroute (see [`crate::swaps`], [`crate::reload_swaps`]).

use crate::exporting::{Exporting, Offer, pair};
use crate::figures::{Scale, local_against};
use crate::measure::Figure;
use crate::reload_swaps::{ChromeSwaps, OtelSwaps, Retire};
use crate::sink::Sink;
use crate::stacks::{Livetel, chrome_layer, otel_layer, otlp_body, otlp_provider, reloadable};
use crate::swaps::{self, Flips, SWAPS, Tally};

/// Every P1_reload figure.
pub fn figures(s: &Scale, sink: &Sink, rt: &tokio::runtime::Runtime) -> Vec<Figure> {
    let mut out = vec![local(s), otlp(s, sink, rt)];
    out.extend(swap_figures());
    out
}

/// P1_reload_local: livetel's local backend vs Registry + EnvFilter + `reload::Layer<ChromeLayer>`.
fn local(s: &Scale) -> Figure {
    local_against(
        "P1_reload_local",
        "Registry + EnvFilter + reload::Layer<tracing-chrome>",
        s,
        Livetel::start("backend = \"local\"", false),
        |file| {
            let (layer, guard) = chrome_layer(file);
            let (dispatch, _handle) = reloadable(layer);
            (dispatch, guard)
        },
    )
}

/// P1_reload_otlp: livetel's otlp backend vs Registry + EnvFilter + `reload::Layer<OpenTelemetryLayer>` over
/// the provider P1_otlp's baseline uses, at equal delivery.
fn otlp(s: &Scale, sink: &Sink, rt: &tokio::runtime::Runtime) -> Figure {
    let l = Livetel::start(&otlp_body(&sink.endpoint, 2048, 512), false);
    let provider = otlp_provider(&sink.endpoint, rt, 2048, 512);
    let (dispatch, _handle) = reloadable(otel_layer(&provider));
    let f = pair(
        "P1_reload_otlp",
        "<= 1.05",
        s,
        sink,
        (&Exporting::livetel(&l), &Exporting::sdk(&dispatch, &provider)),
        Offer::Delivered,
        "vs Registry + EnvFilter + reload::Layer<tracing-opentelemetry 0.34> + BatchSpanProcessor; offered at the \
         rate each delivers (0 dropped by design)"
            .into(),
    );
    let _ = provider.shutdown();
    f
}

/// P1_reload_swap_local / _otlp: spans lost or torn over [`SWAPS`] swaps of the reload stacks, against
/// livetel's flips local → local (a new file each: like a swap to a new ChromeLayer or provider, recording all
/// along; the OTLP backend's flips are checked by tests/otlp_flips.rs).
fn swap_figures() -> Vec<Figure> {
    let ours = swaps::run(Flips::start());
    let chrome = swaps::run(ChromeSwaps::start(Retire::AtEnd));
    let chrome_retired = swaps::run(ChromeSwaps::start(Retire::AtSwap));
    let otel = OtelSwaps::start(Retire::AtEnd);
    let context = if otel.context_found() {
        "found"
    } else {
        "not found (downcast stops at reload)"
    };
    let otel = swaps::run(otel);
    let otel_retired = swaps::run(OtelSwaps::start(Retire::AtSwap));
    vec![
        swap_figure(
            "P1_reload_swap_local",
            ours,
            chrome,
            chrome_retired,
            String::new(),
        ),
        swap_figure(
            "P1_reload_swap_otlp",
            ours,
            otel,
            otel_retired,
            format!("; OpenTelemetrySpanExt::context() behind reload: {context}"),
        ),
    ]
}

/// A swap figure: spans lost, torn or misrouted, livetel vs the reload stack with outputs kept to the end; the
/// note has every count, and the reload stack's when each output is retired at its swap.
fn swap_figure(name: &'static str, ours: Tally, theirs: Tally, retired: Tally, extra: String) -> Figure {
    let note = format!(
        "{SWAPS} swaps, 4 threads. livetel (flips local->local): {ours}. reload, outputs kept to the end: \
         {theirs}. reload, each output retired at its swap: {retired}{extra}"
    );
    Figure::counts(
        name,
        (ours.broken, theirs.broken),
        "spans lost/torn/misrouted",
        "0",
        note,
    )
    .with_delivery(ours.delivery(), theirs.delivery())
}
