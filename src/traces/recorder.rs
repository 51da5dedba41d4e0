//! The callbacks that record: span state at creation, fields, events, and the finished span handed to its
//! generation's sink. Which spans get here is decided in [`super::gate`].

use std::any::TypeId;
use std::sync::Arc;

use tracing_core::span::{Attributes, Id, Record as SpanRecord};
use tracing_core::{Dispatch, Event, LevelFilter, Metadata, Subscriber, subscriber::Interest};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::gate;
use super::state::{self, SpanState};
use crate::sinks::fields::Collect;
use crate::sinks::record::{Fields, Record};
use crate::traces::generation::Generation;
use crate::traces::live::{Live, Placement};

/// Records what the gate lets through.
pub(crate) struct Recorder {
    pub(crate) live: Arc<Live>,
    pub(crate) placement: Placement,
}

impl Recorder {
    /// The generation span `id` began in, when some live filter has span directives (else no lookup at all).
    #[inline]
    fn span_tracking_generation<S>(&self, id: &Id, ctx: &Context<'_, S>) -> Option<Arc<Generation>>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        if self.live.tracks_spans() {
            state::generation_of(id, ctx)
        } else {
            None
        }
    }
}

impl<S> Layer<S> for Recorder
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_register_dispatch(&self, dispatch: &Dispatch) {
        self.live.register_dispatch(dispatch);
    }

    /// Besides itself, the recorder hands out its [`Live`]: how `#[livetel::instrument]` finds the config of the
    /// livetel instance in the current dispatcher (`include_args`), with no process-wide state.
    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            Some(self as *const Self as *const ())
        } else if id == TypeId::of::<Live>() {
            Some(Arc::as_ptr(&self.live) as *const ())
        } else {
            None
        }
    }

    /// In `Shared` placement `Filtered` asks the filter, not this answer (nor the level hint below): the
    /// recorder must only never say `never`.
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        match self.placement {
            Placement::Alone => gate::interest::<S>(&self.live, meta),
            Placement::Shared => Interest::always(),
        }
    }

    fn enabled(&self, meta: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        match self.placement {
            Placement::Alone => gate::admits(&self.live, meta, &ctx),
            Placement::Shared => true,
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        match self.placement {
            Placement::Alone => Some(gate::max_level::<S>(&self.live)),
            Placement::Shared => None,
        }
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        // A callsite cached `always` skips `enabled`: livetel's own threads are turned away here too.
        if crate::threads::is_untraced() {
            return;
        }
        if gate::carries_only(&self.live, attrs.metadata(), &ctx) {
            return;
        }
        let Some(span) = ctx.span(id) else { return };
        let Some(state) = SpanState::begin(&self.live, attrs, &span) else {
            return;
        };
        if let Some(f) = state.generation.span_filter() {
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
        if let Some(f) = state.generation.span_filter() {
            <EnvFilter as Layer<S>>::on_record(f, id, values, ctx.clone());
        }
        if state.sampled || state.tail.is_some() {
            values.record(&mut Collect(&mut state.fields));
        }
    }

    /// Only filters with span directives care; they get the span's own generation's filter, so its scope stays
    /// balanced across a reload. Without such filters this is one relaxed load.
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(g) = self.span_tracking_generation(id, &ctx) {
            if let Some(f) = g.span_filter() {
                <EnvFilter as Layer<S>>::on_enter(f, id, ctx);
            }
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(g) = self.span_tracking_generation(id, &ctx) {
            if let Some(f) = g.span_filter() {
                <EnvFilter as Layer<S>>::on_exit(f, id, ctx);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if crate::threads::is_untraced() {
            return;
        }
        let state::EventTarget::Instant(generation) = state::route_event(&self.live, event, &ctx) else {
            return;
        };
        let mut fields = Fields::new();
        event.record(&mut Collect(&mut fields));
        let record = Record::instant(event.metadata(), fields);
        generation.sinks.send_instant(record, &generation.counters);
    }

    /// Finishes the span in its own generation. Its state is left in the extensions (emptied) for the
    /// `Registry` to drop when it clears the span, which also releases the generation.
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let mut ext = span.extensions_mut();
        let Some(state) = ext.get_mut::<SpanState>() else {
            return;
        };
        if let Some(f) = state.generation.span_filter() {
            <EnvFilter as Layer<S>>::on_close(f, id, ctx.clone());
        }
        state.finish(span.metadata());
    }
}
