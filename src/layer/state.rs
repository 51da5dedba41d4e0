//! What a span carries from its start to its close.

use std::sync::Arc;

use tracing_core::span::Attributes;
use tracing_core::{Event, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::backend::fields::JsonFields;
use crate::backend::Record;
use crate::clock;
use crate::generation::Generation;
use crate::reload::live::Live;

/// Stored in the span's extensions: the generation it began in and whether its trace is kept.
pub(crate) struct SpanState {
    pub(crate) gen: Arc<Generation>,
    pub(crate) sampled: bool,
    start_ns: u64,
    tid: u64,
    pub(crate) args: Option<String>,
}

impl SpanState {
    /// The state of a new span, or `None` when no recording generation takes it.
    pub(crate) fn begin<S>(
        live: &Live,
        attrs: &Attributes<'_>,
        ctx: &Context<'_, S>,
    ) -> Option<SpanState>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let parent = if attrs.is_contextual() {
            ctx.lookup_current()
        } else {
            attrs.parent().and_then(|id| ctx.span(id))
        };
        let inherited = parent.and_then(|p| {
            p.extensions()
                .get::<SpanState>()
                .map(|s| (s.gen.clone(), s.sampled))
        });
        let (gen, sampled) = match inherited {
            Some((gen, sampled)) if gen.is_open() => (gen, sampled),
            _ => {
                let gen = live.current_full();
                let sampled = gen.sampler.sample();
                (gen, sampled)
            }
        };
        if !gen.sink.records() {
            return None;
        }
        gen.counters.started.add(1);
        if !sampled {
            gen.counters.sampled_out.add(1);
        }
        let args = (sampled && !attrs.fields().is_empty()).then(|| {
            let mut s = String::new();
            attrs.record(&mut JsonFields(&mut s));
            s
        });
        Some(SpanState {
            gen,
            sampled,
            start_ns: clock::now_ns(),
            tid: clock::tid(),
            args,
        })
    }

    /// Hands the finished span to the sink of the generation it began in.
    pub(crate) fn finish(self, meta: &'static Metadata<'static>) {
        if !self.sampled {
            return;
        }
        let record = Record {
            name: meta.name(),
            target: meta.target(),
            start_ns: self.start_ns,
            dur_ns: Some(clock::now_ns().saturating_sub(self.start_ns)),
            tid: self.tid,
            args: self.args.filter(|a| !a.is_empty()),
        };
        self.gen.sink.send(record, &self.gen.counters);
    }
}

/// The generation an event belongs to (its parent span's, else the current one) and whether it is kept.
pub(crate) fn event_generation<S>(
    live: &Live,
    event: &Event<'_>,
    ctx: &Context<'_, S>,
) -> Option<(Arc<Generation>, bool)>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let parent = ctx.event_span(event);
    match parent {
        Some(p) => p
            .extensions()
            .get::<SpanState>()
            .map(|s| (s.gen.clone(), s.sampled)),
        None => {
            let gen = live.current_full();
            let sampled = gen.sampler.sample();
            Some((gen, sampled))
        }
    }
}
