//! Events as log records: every event the recorder sees goes, as a log record, to the sinks of the current
//! generation that take logs, with the ids of the recorded span it happened in.
//!
//! The current generation, not the span's: a log belongs to the moment it is made, so a long-lived span (a
//! server's main span) does not pin its events to a generation that was replaced hours ago and closes at its
//! drain timeout. Log records are not sampled: an event inside an unsampled trace still becomes a log (its
//! trace flags say the trace was not sampled).
//!
//! Which events: those the `[telemetry.logs]` filter takes, while logs are on and a sink of the current
//! generation takes them (the generation has a logs filter only then).

use tracing_core::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::generation::Generation;
use super::state::SpanState;
use crate::sinks::fields::Collect;
use crate::sinks::record::{Fields, LogRecord, SpanIds};

/// Hands `event` to `generation`'s (the current one's) sinks that take logs, as a log record, when its logs filter takes
/// it; does nothing (not even collect the fields) otherwise.
#[inline]
pub(crate) fn log_event<S>(generation: &Generation, draining: bool, event: &Event<'_>, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let Some(filter) = &generation.logs_filter else {
        return;
    };
    // With the same directives as every other consumer, what was admitted is what the logs want — unless a
    // draining generation admitted it.
    if (generation.filters_differ || draining)
        && !<EnvFilter as Layer<S>>::enabled(filter, event.metadata(), ctx.clone())
    {
        return;
    }
    let mut fields = Fields::new();
    event.record(&mut Collect(&mut fields));
    let record = LogRecord::now(event.metadata(), fields, recorded_span(event, ctx));
    generation.sinks.send_log(record, &generation.counters);
}

/// The ids of the nearest span in the event's scope that livetel records, and whether its trace is sampled.
fn recorded_span<S>(event: &Event<'_>, ctx: &Context<'_, S>) -> Option<(SpanIds, bool)>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    ctx.event_scope(event)?
        .find_map(|span| span.extensions().get::<SpanState>().map(|s| (s.ids, s.sampled)))
}
