//! The one layer livetel installs. It never changes; what it points at does.
//!
//! [`LiveLayer`] reads the current [`Generation`](crate::generation::Generation) through an `ArcSwap` (no lock
//! on any callback) and pins it into each new span, with the span's sampling decision. Children join their
//! parent's generation while it is open, so a trace finishes whole in the backend it began in. Callsite interest
//! is the union of the current generation and the ones still draining; the reload path rebuilds the interest
//! cache whenever that set changes, so a `none` backend leaves tracing's macros at their no-subscriber cost.

mod state;

use std::sync::Arc;

use tracing_core::span::{Attributes, Id, Record as SpanRecord};
use tracing_core::{subscriber::Interest, Event, LevelFilter, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use crate::backend::fields::Collect;
use crate::backend::record::{Fields, Record};
use crate::reload::live::Live;
pub(crate) use state::SpanState;

/// Targets of the exporters' own stacks: never traced, whatever the filter says, so export cannot feed itself.
const SELF_TARGETS: &[&str] = &[
    "livetel",
    "tonic",
    "tower",
    "hyper",
    "h2",
    "reqwest",
    "opentelemetry",
    "notify",
    "mio",
    "want",
];

fn is_self_target(target: &str) -> bool {
    SELF_TARGETS.iter().any(|t| {
        target
            .strip_prefix(t)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("::") || rest.starts_with('_'))
    })
}

/// The reloadable layer. Build a subscriber with [`crate::Builder`]; this type is public so that its place in a
/// user's own stack (`Registry::default().with(layer)`) can be named.
pub struct LiveLayer {
    live: Arc<Live>,
}

impl LiveLayer {
    pub(crate) fn new(live: Arc<Live>) -> Self {
        LiveLayer { live }
    }
}

impl<S> Layer<S> for LiveLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        if is_self_target(meta.target()) {
            return Interest::never();
        }
        let current = self.live.current();
        let interest = current.interest::<S>(meta);
        if interest.is_always() {
            return interest;
        }
        let draining = self.live.draining();
        if draining.iter().any(|g| !g.interest::<S>(meta).is_never()) {
            Interest::sometimes()
        } else {
            interest
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        let current = self.live.current();
        if current.enabled(meta, ctx.clone()) {
            return true;
        }
        // While older generations drain, a child of one of their spans joins that generation.
        if !self.live.has_draining() {
            return false;
        }
        let Some(parent) = ctx.lookup_current() else {
            return false;
        };
        let ext = parent.extensions();
        ext.get::<SpanState>()
            .is_some_and(|s| s.gen.is_open() && s.gen.enabled(meta, ctx.clone()))
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        let mut level = self.live.current().max_level::<S>();
        for g in self.live.draining().iter() {
            level = level.max(g.max_level::<S>());
        }
        Some(level)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let Some(state) = SpanState::begin(&self.live, attrs, &span) else {
            return;
        };
        if let Some(f) = state.gen.span_filter() {
            <EnvFilter as Layer<S>>::on_new_span(f, attrs, id, ctx.clone());
        }
        span.extensions_mut().insert(state);
    }

    fn on_record(&self, id: &Id, values: &SpanRecord<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        let Some(state) = ext.get_mut::<SpanState>() else {
            return;
        };
        if let Some(f) = state.gen.span_filter() {
            <EnvFilter as Layer<S>>::on_record(f, id, values, ctx.clone());
        }
        if state.sampled {
            values.record(&mut Collect(&mut state.fields));
        }
    }

    /// Only filters with span directives care; they get the span's own generation's filter, so its scope stays
    /// balanced across a reload. Without such filters this is one relaxed load.
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if self.live.tracks_spans() {
            if let Some(gen) = state::generation_of(id, &ctx) {
                if let Some(f) = gen.span_filter() {
                    <EnvFilter as Layer<S>>::on_enter(f, id, ctx);
                }
            }
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if self.live.tracks_spans() {
            if let Some(gen) = state::generation_of(id, &ctx) {
                if let Some(f) = gen.span_filter() {
                    <EnvFilter as Layer<S>>::on_exit(f, id, ctx);
                }
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let state::EventTarget::Instant(gen) = state::route_event(&self.live, event, &ctx) else {
            return;
        };
        let mut fields = Fields::new();
        event.record(&mut Collect(&mut fields));
        let record = Record::instant(event.metadata(), fields);
        gen.sink.send(record, &gen.counters);
    }

    /// Finishes the span in its own generation. Its state is left in the extensions (emptied) for the
    /// `Registry` to drop when it clears the span, which also releases the generation.
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let mut ext = span.extensions_mut();
        let Some(state) = ext.get_mut::<SpanState>() else {
            return;
        };
        if let Some(f) = state.gen.span_filter() {
            <EnvFilter as Layer<S>>::on_close(f, id, ctx.clone());
        }
        state.finish(span.metadata());
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn self_targets_match_whole_crate_names_only() {
        assert!(super::is_self_target("tonic::transport"));
        assert!(super::is_self_target("opentelemetry_sdk::trace"));
        assert!(super::is_self_target("h2"));
        assert!(!super::is_self_target("h2o"));
        assert!(!super::is_self_target("my_app"));
    }
}
