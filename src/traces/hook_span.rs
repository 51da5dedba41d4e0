//! Spans that only other signals see: at `backend = "none"` no sink records spans, yet metrics (and the signals
//! after it) measure every span the config's filter admits. Such a span gets a [`HookSpan`] instead of a
//! [`super::SpanState`]: its start, the fields some hook reads ([`super::field_pick`]) and its error mark, and at
//! its close the generation's hooks hear of it, unsampled, with no ids. While some generation meters spans
//! (profiling's `alloc`, `cpu_time`, Pyroscope labels), a hook span carries meters too, read by the current
//! generation's meter: its figures are summed per `agent.name` / `session.id`, and its CPU samples are labeled
//! with its name (no span id: it has none).
//!
//! It is no link of any trace: propagation never reads it, so a service at `none` still forwards its callers'
//! context unchanged (the carrier spans' `Forwarded`), and nothing downstream names a span that was never
//! exported. Limit: the filter's span directives (`[span{field}]`) are not tracked for these spans; their
//! static directives (targets, levels, span names) decide.

use tracing_core::span::Attributes;
use tracing_core::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use crate::clock;
use crate::sinks::fields::marks_error;
use crate::sinks::record::SpanIds;
use crate::traces::field_pick::{PickUnion, Picked, PickedFields};
use crate::traces::generation::Generation;
use crate::traces::hooks::ClosedSpan;
#[cfg(feature = "profiling")]
use crate::traces::hooks::SpanMeters;
use crate::traces::live::Live;

/// Stored in the extensions of a span only other signals' hooks see. It holds no generation: at its close the
/// current generation's hooks hear of it (the signals' stores outlive every generation, so a span that began
/// before a reload is counted by the same store; one that closes after its signal was turned off is not).
/// Holding none saves a reference count taken and released per span.
/// It is small (at most 80 bytes: one field inline, meters boxed) because the Registry boxes it for every span.
pub(crate) struct HookSpan {
    /// Its start, in [`clock::ticks`].
    start: u64,
    /// Some hook reads one of its callsite's fields: `on_record` picks from what it records only then.
    reads_fields: bool,
    fields: PickedFields,
    /// An ERROR event happened inside it.
    error_event: bool,
    /// Its meters, when some generation metered spans as it began (boxed: only then is it paid for).
    #[cfg(feature = "profiling")]
    meters: Option<Box<SpanMeters>>,
}

impl HookSpan {
    /// Puts a hook span in `span`'s extensions, keeping the fields of `attrs` that the hooks read (the caller
    /// has made sure some hook sees the span).
    pub(crate) fn begin<'a, S>(live: &Live, attrs: &Attributes<'_>, span: &SpanRef<'a, S>)
    where
        S: Subscriber + for<'b> LookupSpan<'b>,
    {
        let pick = live.hook_fields();
        let reads_fields = pick.wants_any(attrs.metadata().fields());
        let mut fields = PickedFields::new();
        if reads_fields {
            attrs.record(&mut Picked {
                pick,
                fields: &mut fields,
            });
        }
        span.extensions_mut().insert(HookSpan {
            start: clock::ticks(),
            reads_fields,
            fields,
            error_event: false,
            #[cfg(feature = "profiling")]
            meters: live.meters_spans().then(Box::default),
        });
    }

    /// Adds the fields of `values` that `pick` wants, when some hook reads one of the span's fields.
    pub(crate) fn record(&mut self, values: &tracing_core::span::Record<'_>, pick: &PickUnion) {
        if self.reads_fields {
            values.record(&mut Picked {
                pick,
                fields: &mut self.fields,
            });
        }
    }

    /// The span `name` was entered (`true`) or exited: `current`'s meter reads this thread's meters, when the
    /// span carries meters and `current` meters spans. A generation swapped in between its enter and its exit
    /// reads the same thread counters; one that meters nothing leaves the entered period uncounted.
    #[cfg(feature = "profiling")]
    pub(crate) fn meter(&mut self, name: &'static str, current: &Generation, enter: bool) {
        if let (Some(meters), Some(meter)) = (&mut self.meters, &current.meter) {
            meters.step(&**meter, name, &SpanIds::default(), enter);
        }
    }

    /// Tells the hooks of `current` (the current generation) that it closed.
    pub(crate) fn finish(&self, meta: &'static Metadata<'static>, current: &Generation) {
        let closed = ClosedSpan {
            meta,
            duration_ns: clock::ticks_between(self.start, clock::ticks()),
            ids: SpanIds::default(),
            sampled: false,
            error: self.error_event || self.fields.iter().any(marks_error),
            fields: &self.fields,
            #[cfg(feature = "profiling")]
            meters: self.meters.as_deref().map(|m| &m.sums),
        };
        // No trace to keep: these spans belong to none.
        let _ = current.tell_hooks(&closed);
    }
}

/// Marks the hook span an ERROR event happened in. Only called when the current generation has hooks that see
/// unrecorded spans.
pub(crate) fn mark_error<S>(event: &Event<'_>, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if *event.metadata().level() != Level::ERROR {
        return;
    }
    if let Some(span) = ctx.event_span(event)
        && let Some(hook_span) = span.extensions_mut().get_mut::<HookSpan>()
    {
        hook_span.error_event = true;
    }
}

#[cfg(test)]
mod tests {
    /// The Registry boxes a hook span for every span at `backend = "none"`: it stays small.
    #[test]
    fn a_hook_span_is_small() {
        let size = std::mem::size_of::<super::HookSpan>();
        assert!(size <= 80, "{size} bytes");
    }
}
