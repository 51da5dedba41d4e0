//! The callbacks that record: span state at creation, fields, events, and the finished span handed to its
//! generation's sink. Which spans get here is decided in [`super::gate`].

use std::any::TypeId;
use std::sync::Arc;

use tracing_core::span::{Attributes, Id, Record as SpanRecord};
use tracing_core::{Dispatch, Event, LevelFilter, Metadata, Subscriber, subscriber::Interest};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{ExtensionsMut, LookupSpan};

use super::hook_span::{self, HookSpan};
use super::state::{self, SpanState};
use super::{gate, logs};
use crate::console::layer::ConsoleSlot;
use crate::sinks::Takes;
use crate::sinks::fields::{Collect, Update};
use crate::sinks::record::{Fields, Record};
use crate::traces::generation::Generation;
use crate::traces::live::{Live, Placement};

/// Records what the gate lets through, and hands events to the console.
pub(crate) struct Recorder<S> {
    pub(crate) live: Arc<Live>,
    pub(crate) placement: Placement,
    /// The console's `fmt` layers, built for this subscriber type.
    console: ConsoleSlot<S>,
}

impl<S> Recorder<S> {
    pub(crate) fn new(live: Arc<Live>, placement: Placement) -> Self {
        Recorder {
            live,
            placement,
            console: ConsoleSlot::default(),
        }
    }
}

impl<S> Recorder<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    /// The generation span `id` began in, when some live filter has span directives (else no lookup at all).
    #[inline]
    fn span_tracking_generation(&self, id: &Id, ctx: &Context<'_, S>) -> Option<Arc<Generation>> {
        if self.live.tracks_spans() {
            state::generation_of(id, ctx)
        } else {
            None
        }
    }
}

#[cfg(feature = "profiling")]
impl<S> Recorder<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    /// Span `id` was entered (`true`) or exited: the meter of its generation (a recorded span's) or of the
    /// current one (a hook span's) reads this thread's meters and labels its CPU samples.
    #[inline(never)]
    fn meter(&self, id: &Id, ctx: &Context<'_, S>, enter: bool) {
        let Some(span) = ctx.span(id) else { return };
        let name = span.metadata().name();
        let mut ext = span.extensions_mut();
        if let Some(state) = ext.get_mut::<SpanState>() {
            state.meter(name, enter);
        } else if let Some(hook_span) = ext.get_mut::<HookSpan>() {
            hook_span.meter(name, &self.live.current(), enter);
        }
    }
}

impl<S> Recorder<S> {
    /// Tells the current generation's hooks that the hook span in `ext` closed; false when it holds none.
    fn finish_hook_span(&self, ext: &mut ExtensionsMut<'_>, meta: &'static Metadata<'static>) -> bool {
        let Some(hook_span) = ext.get_mut::<HookSpan>() else {
            return false;
        };
        hook_span.finish(meta, &self.live.current());
        true
    }
}

impl<S> Layer<S> for Recorder<S>
where
    S: Subscriber + for<'a> LookupSpan<'a> + 'static,
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
        if self.live.console_on()
            && let Some(console) = &self.live.current().console
        {
            self.console.on_new_span(console, attrs, id, &ctx);
        }
        // No sink records spans (backend `none`) and other signals see them: no gate to ask.
        let hooks_only = self.live.hooks_only() && !self.live.has_draining();
        if hooks_only && self.live.hooks_see_all() {
            // And they see whatever was admitted: no generation to load either.
            if let Some(span) = ctx.span(id) {
                HookSpan::begin(&self.live, attrs, &span);
            }
            return;
        }
        if hooks_only || !gate::records(&self.live, attrs.metadata(), &ctx) {
            let current = self.live.current();
            if current.hook_filter.is_some() {
                if current.hooks_see(attrs.metadata(), ctx.clone())
                    && let Some(span) = ctx.span(id)
                {
                    HookSpan::begin(&self.live, attrs, &span);
                }
                return;
            }
            // The flag was stale (a reload made spans recorded again): ask the gate after all.
            if !hooks_only || !gate::records(&self.live, attrs.metadata(), &ctx) {
                return;
            }
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
        if self.live.console_on()
            && let Some(console) = &self.live.current().console
        {
            self.console.on_record(console, id, values, &ctx);
        }
        let Some(span) = ctx.span(id) else { return };
        let mut ext = span.extensions_mut();
        let Some(state) = ext.get_mut::<SpanState>() else {
            if let Some(hook_span) = ext.get_mut::<HookSpan>() {
                hook_span.record(values, self.live.hook_fields());
            }
            return;
        };
        if let Some(f) = state.generation.span_filter() {
            <EnvFilter as Layer<S>>::on_record(f, id, values, ctx.clone());
        }
        if state.sampled || state.tail.is_some() || state.generation.hooks_read_fields() {
            values.record(&mut Update(&mut state.fields));
        }
    }

    /// Only filters with span directives care; they get the span's own generation's filter, so its scope stays
    /// balanced across a reload. Without such filters this is one relaxed load.
    /// With profiling's meters on (allocations, CPU time) the span's meters are read last on enter and first on
    /// exit, so that little of livetel's own work lands in them.
    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(g) = self.span_tracking_generation(id, &ctx)
            && let Some(f) = g.span_filter()
        {
            <EnvFilter as Layer<S>>::on_enter(f, id, ctx.clone());
        }
        #[cfg(feature = "profiling")]
        if self.live.meters_spans() {
            self.meter(id, &ctx, true);
        }
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        #[cfg(feature = "profiling")]
        if self.live.meters_spans() {
            self.meter(id, &ctx, false);
        }
        if let Some(g) = self.span_tracking_generation(id, &ctx)
            && let Some(f) = g.span_filter()
        {
            <EnvFilter as Layer<S>>::on_exit(f, id, ctx);
        }
    }

    /// The event as a span event or an instant (where the trace goes), then as a log record (where logs go).
    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        if crate::threads::is_untraced() {
            return;
        }
        // One load of the current generation serves the console, the trace and the logs.
        let current = self.live.current();
        let draining = self.live.has_draining();
        if let Some(console) = &current.console {
            // Admitted by the current generation alone (nothing draining), and the console wants all it admits.
            let wanted = current.console_sees_all && !draining;
            self.console.on_event(console, wanted, event, &ctx);
        }
        // Spans are recorded by the current generation or by a draining one (a child of its open span).
        let traced = current.sinks.records() || draining;
        if traced
            && gate::records(&self.live, event.metadata(), &ctx)
            && let state::EventTarget::Instant(generation) = state::route_event(&self.live, event, &ctx)
            && generation.sinks.takes(Takes::INSTANTS)
        {
            let mut fields = Fields::new();
            event.record(&mut Collect(&mut fields));
            let record = Record::instant(event.metadata(), fields);
            generation.sinks.send_instant(record, &generation.counters);
        }
        if current.hook_filter.is_some() {
            hook_span::mark_error(event, &ctx);
        }
        logs::log_event(&current, draining, event, &ctx);
    }

    /// Finishes the span in its own generation. Its state is left in the extensions (emptied) for the
    /// `Registry` to drop when it clears the span, which also releases the generation.
    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let mut ext = span.extensions_mut();
        // A span holds a state or a hook span. At `none` most are hook spans, looked for first: one lookup.
        if self.live.hooks_only() && self.finish_hook_span(&mut ext, span.metadata()) {
            return;
        }
        let Some(state) = ext.get_mut::<SpanState>() else {
            self.finish_hook_span(&mut ext, span.metadata());
            return;
        };
        if let Some(f) = state.generation.span_filter() {
            <EnvFilter as Layer<S>>::on_close(f, id, ctx.clone());
        }
        state.finish(span.metadata());
    }
}
