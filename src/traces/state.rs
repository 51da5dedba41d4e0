//! What a span carries from its start to its close.

use std::sync::Arc;

use tracing_core::span::Attributes;
use tracing_core::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::{LookupSpan, SpanRef};

use crate::clock;
use crate::sinks::Takes;
use crate::sinks::fields::Collect;
use crate::sinks::fields::marks_error;
use crate::sinks::record::{EventRecord, Fields, Record, SpanEvents, SpanIds};
use crate::traces::codec::{Forwarded, Remote, is_carrier};
use crate::traces::generation::Generation;
use crate::traces::hooks::ClosedSpan;
use crate::traces::live::Live;
use crate::traces::sampler;
use crate::traces::tail::TailTrace;

/// Stored in the span's extensions: the generation it began in, its ids and whether its trace is kept.
pub(crate) struct SpanState {
    pub(crate) generation: Arc<Generation>,
    pub(crate) sampled: bool,
    pub(crate) ids: SpanIds,
    /// What a trace that came from another process carries besides its ids (`tracestate`, baggage).
    pub(crate) remote: Option<Arc<Remote>>,
    start_ns: u64,
    tid: u64,
    pub(crate) fields: Fields,
    pub(crate) events: SpanEvents,
    /// Its trace, held until the local root decides, when the head dropped it and tail sampling is on.
    pub(crate) tail: Option<Arc<TailTrace>>,
    /// The first span of its trace in this process: the one whose end decides at the tail.
    local_root: bool,
    /// The trace id is random (W3C Trace Context Level 2's `random` flag): livetel made it, or the caller said so.
    pub(crate) random: bool,
    /// An ERROR event happened inside it (for the generation's hooks: the span ended in error).
    error_event: bool,
    /// What its generation's meter measured while it was entered.
    #[cfg(feature = "profiling")]
    pub(crate) meters: crate::traces::hooks::SpanMeters,
}

impl SpanState {
    /// The state of a new span, or `None` when no recording generation takes it.
    ///
    /// The parent is the one the `Registry` recorded for `span` (contextual or explicit), read by id: no second
    /// walk of the thread's span stack.
    pub(crate) fn begin<'a, S>(
        live: &Live,
        attrs: &Attributes<'_>,
        span: &SpanRef<'a, S>,
    ) -> Option<SpanState>
    where
        S: Subscriber + LookupSpan<'a>,
    {
        let parent = recorded_parent(live, span);
        let inherited = parent.as_ref().and_then(|p| {
            let ext = p.extensions();
            if let Some(s) = ext.get::<SpanState>() {
                return Some((
                    Some(s.generation.clone()),
                    Some(s.sampled),
                    s.ids,
                    s.remote.clone(),
                    s.random,
                ));
            }
            // A parent livetel does not record but that forwards a caller's context: join the caller's trace.
            ext.get::<Forwarded>()
                .map(|f| (None, f.sampled(), f.ids(), f.remote.clone(), f.parent.random))
        });
        // A forwarding parent stands for the caller's span: the new span's parent is remote.
        let parent_remote = matches!(inherited, Some((None, ..)));
        // `local_root`: the first span of its trace here: no parent, a remote one, or a parent whose generation
        // closed (the span then begins a trace of its own).
        let (generation, sampled, trace_id, parent_span_id, remote, local_root, random) = match inherited {
            Some((Some(generation), Some(sampled), ids, remote, random)) if generation.is_open() => (
                generation,
                sampled,
                ids.trace_id,
                ids.span_id,
                remote,
                false,
                random,
            ),
            Some((None, sampled, ids, remote, random)) => {
                let generation = live.current_full();
                // A caller that deferred the decision (B3 without a flag) leaves it to this generation's sampler.
                let sampled = generation.sampler.keeps_remote(sampled, ids.trace_id);
                (
                    generation,
                    sampled,
                    ids.trace_id,
                    ids.span_id,
                    remote,
                    true,
                    random,
                )
            }
            _ => {
                let generation = live.current_full();
                let trace_id = sampler::trace_id();
                let sampled = generation.sampler.keeps(trace_id);
                (generation, sampled, trace_id, 0, None, true, true)
            }
        };
        if !generation.sinks.records() {
            return None;
        }
        // With several sinks a span counts once per sink, as each exports or drops it on its own.
        let copies = generation.sinks.span_copies();
        generation.counters.started.add(copies);
        let start_ns = clock::now_ns();
        let tail = if sampled {
            None
        } else {
            unsampled(&generation, parent.as_ref(), local_root, copies, start_ns)
        };
        // A root keeps its fields even when the sampler drops it: `set_parent` may still make it join a sampled
        // remote trace (a server span gets its caller's headers right after it is made). Children of an
        // unsampled trace never become sampled, so they skip the work, unless their trace is held for the tail.
        let is_root = parent_span_id == 0 && !parent_remote;
        let mut fields = Fields::new();
        // Other signals' hooks may read the fields of every span, sampled or not.
        let keep_fields = sampled || is_root || tail.is_some() || generation.hooks_read_fields();
        if keep_fields && !attrs.fields().is_empty() {
            attrs.record(&mut Collect(&mut fields));
        }
        let ids = SpanIds {
            trace_id,
            span_id: sampler::span_id(),
            parent_span_id,
            parent_remote,
        };
        Some(SpanState {
            generation,
            sampled,
            ids,
            remote,
            start_ns,
            tid: clock::tid(),
            fields,
            events: SpanEvents::default(),
            tail,
            local_root,
            random,
            error_event: false,
            #[cfg(feature = "profiling")]
            meters: Default::default(),
        })
    }

    /// Adopts a parent from another process: its trace id, its span as parent, and the decision the
    /// generation's sampler makes for it (`flag`: the caller's sampled flag, `None` when the caller deferred).
    /// The span becomes the first of the caller's trace here (its local root); counters stay balanced when the
    /// decision changes, and a root the head now drops is held for the tail.
    pub(crate) fn adopt_remote_parent(&mut self, trace_id: u128, parent_span_id: u64, flag: Option<bool>) {
        // A deferred decision (`None`) is made on the caller's trace id, as a span under a forwarding parent
        // makes it: the same caller gets the same decision whichever way it arrives.
        let sampled = self.generation.sampler.keeps_remote(flag, trace_id);
        if sampled != self.sampled || !self.local_root {
            self.redecide(sampled);
        }
        self.ids.trace_id = trace_id;
        self.ids.parent_span_id = parent_span_id;
        self.ids.parent_remote = true;
    }

    /// Honours a caller's deny without ids (B3 `b3: 0`): the span stays the root of its own trace, not sampled.
    pub(crate) fn deny(&mut self) {
        if self.sampled || !self.local_root {
            self.redecide(false);
        }
    }

    /// Undoes the decision made when the span began, and makes `sampled` the decision of a local root.
    fn redecide(&mut self, sampled: bool) {
        let (c, copies) = (&self.generation.counters, self.generation.sinks.span_copies());
        match self.tail.take() {
            // Its spans so far were made before it joined: they count as sampled out.
            Some(held) if self.local_root => held.abandon(),
            // It leaves the trace it was held in; that trace's root still decides the rest.
            Some(_) => {}
            None if !self.sampled => c.sampled_out.sub(copies),
            None => {}
        }
        self.local_root = true;
        self.sampled = sampled;
        if !sampled {
            self.tail = self
                .generation
                .tail
                .map(|policy| TailTrace::begin(policy, c, self.start_ns));
            if self.tail.is_none() {
                c.sampled_out.add(copies);
                if !self.generation.hooks_read_fields() {
                    self.fields.clear();
                }
            }
        }
    }

    /// Hands the finished span to the sinks of the generation it began in, or to its trace held for the tail.
    /// Takes the fields and events out in place: the state itself stays in the span's extensions until the
    /// `Registry` clears them, so the whole state is never moved out of its box.
    pub(crate) fn finish(&mut self, meta: &'static Metadata<'static>) {
        let dur_ns = clock::now_ns().saturating_sub(self.start_ns);
        if !self.generation.hooks.is_empty() {
            self.tell_hooks(meta, dur_ns);
        }
        if !self.sampled {
            self.finish_unsampled(meta, dur_ns);
            return;
        }
        if self.local_root {
            self.generation.counters.traces.kept_by_head.add(1);
        }
        let record = self.take_record(meta, dur_ns);
        self.generation.sinks.send_span(record, &self.generation.counters);
    }

    /// Tells the generation's other signals (metrics, profiling) that the span closed. Out of line: with every
    /// signal off, the span path pays one check of an empty list.
    #[inline(never)]
    fn tell_hooks(&self, meta: &'static Metadata<'static>, duration_ns: u64) {
        let span = ClosedSpan {
            meta,
            duration_ns,
            ids: self.ids,
            sampled: self.sampled,
            error: self.error_event
                || (self.generation.hooks_read_fields() && self.fields.iter().any(marks_error)),
            fields: &self.fields,
            #[cfg(feature = "profiling")]
            meters: self.generation.meter.as_ref().map(|_| &self.meters.sums),
        };
        let keep = self.generation.tell_hooks(&span);
        // A hook asked to keep the trace: the tail keeps it when its root closes (this span, maybe: its record
        // reaches the tail after this).
        if keep && let Some(tail) = &self.tail {
            tail.mark_keep();
        }
    }

    fn finish_unsampled(&mut self, meta: &'static Metadata<'static>, dur_ns: u64) {
        match self.tail.take() {
            Some(held) => {
                let record = self.take_record(meta, dur_ns);
                held.close(&self.generation, record, self.local_root);
            }
            None if self.local_root => self.generation.counters.traces.dropped_by_sampling.add(1),
            None => {}
        }
    }

    fn take_record(&mut self, meta: &'static Metadata<'static>, dur_ns: u64) -> Record {
        Record {
            meta,
            start_ns: self.start_ns,
            dur_ns: Some(dur_ns),
            tid: self.tid,
            fields: std::mem::take(&mut self.fields),
            ids: self.ids,
            events: std::mem::take(&mut self.events),
            #[cfg(feature = "profiling")]
            costs: self
                .generation
                .meter
                .as_ref()
                .map(|m| m.meter_costs(&self.meters.sums, &self.ids))
                .unwrap_or_default(),
        }
    }
}

/// The trace a span the head dropped is held in for the tail, when `generation` keeps errors or slow traces:
/// a new one for a local root, else its parent's (in the same generation). Without one the span is counted as
/// sampled out now. Out of line, so that the head-only path stays as it was.
#[inline(never)]
fn unsampled<'a, S>(
    generation: &Arc<Generation>,
    parent: Option<&SpanRef<'a, S>>,
    local_root: bool,
    copies: u64,
    start_ns: u64,
) -> Option<Arc<TailTrace>>
where
    S: Subscriber + LookupSpan<'a>,
{
    let tail = match generation.tail {
        None => None,
        Some(policy) if local_root => Some(TailTrace::begin(policy, &generation.counters, start_ns)),
        Some(_) => parent.and_then(|p| p.extensions().get::<SpanState>().and_then(|s| s.tail.clone())),
    };
    if tail.is_none() {
        generation.counters.sampled_out.add(copies);
    }
    tail
}

/// The span a new span's trace continues: its parent, or — when a console or logs filter admits spans the
/// traces filter does not record — its nearest ancestor livetel records or that forwards a caller's context (a
/// span only the console wanted is no link of the trace, as a per-layer-filtered span is none for its layer).
fn recorded_parent<'a, S>(live: &Live, span: &SpanRef<'a, S>) -> Option<SpanRef<'a, S>>
where
    S: Subscriber + LookupSpan<'a>,
{
    if !live.filters_differ() {
        return span.parent();
    }
    span.scope().skip(1).find(|p| {
        let ext = p.extensions();
        ext.get::<SpanState>().is_some() || ext.get::<Forwarded>().is_some()
    })
}

#[cfg(feature = "profiling")]
impl SpanState {
    /// The span `name` was entered (`true`) or exited: its generation's meter reads this thread's meters and
    /// labels the thread's CPU samples, when it has one.
    pub(crate) fn meter(&mut self, name: &'static str, enter: bool) {
        if let Some(meter) = &self.generation.meter {
            self.meters.step(&**meter, name, &self.ids, enter);
        }
    }
}

/// The generation span `id` began in, if livetel records it.
pub(crate) fn generation_of<S>(id: &tracing_core::span::Id, ctx: &Context<'_, S>) -> Option<Arc<Generation>>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let span = ctx.span(id)?;
    let ext = span.extensions();
    ext.get::<SpanState>().map(|s| s.generation.clone())
}

/// Holds an event inside a span of a trace the head dropped, with its span (so a kept trace has it, in every
/// sink); an ERROR event marks the trace in error. False when the trace is not held (not recorded).
fn hold_event(state: &mut SpanState, event: &Event<'_>) -> bool {
    let Some(tail) = &state.tail else {
        return false;
    };
    if *event.metadata().level() == Level::ERROR {
        tail.mark_error();
    }
    // Only for sinks that carry events with their span (OTLP); the others have every event as a log record
    // already, and a long-held root must not grow with events nobody will write.
    if state.generation.sinks.takes(Takes::SPAN_EVENTS) {
        attach(state, event);
    }
    true
}

/// Holds `event` with its span, or counts it dropped when the span holds as many as it may.
fn attach(state: &mut SpanState, event: &Event<'_>) {
    if !state.events.push_with(|| EventRecord::of(event)) {
        state.generation.counters.span_events_dropped.add(1);
    }
}

/// Where an event goes.
pub(crate) enum EventTarget {
    /// Record it as an instant event of this generation (Chrome).
    Instant(Arc<Generation>),
    /// Attach it to its parent span (OTLP span events); done.
    Attached,
    /// Not recorded.
    Nowhere,
}

/// Records an event in its parent span (when a sink takes events with their span: OTLP; the others write the
/// span's events as instants) or says which generation writes it as an instant now.
pub(crate) fn route_event<S>(live: &Live, event: &Event<'_>, ctx: &Context<'_, S>) -> EventTarget
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    // livetel's server span when it only carries context stands for no parent.
    let recorded =
        |p: &SpanRef<'_, S>| !is_carrier(p.metadata()) || p.extensions().get::<SpanState>().is_some();
    // With a console or logs filter wider than the traces', the nearest span livetel records.
    let parent = if live.filters_differ() {
        ctx.event_scope(event)
            .and_then(|mut scope| scope.find(|p| p.extensions().get::<SpanState>().is_some()))
    } else {
        ctx.event_span(event).filter(recorded)
    };
    let Some(parent) = parent else {
        let generation = live.current_full();
        if !generation.sinks.takes(Takes::INSTANTS) || !generation.sampler.keeps(sampler::trace_id()) {
            return EventTarget::Nowhere;
        }
        return EventTarget::Instant(generation);
    };
    let mut ext = parent.extensions_mut();
    let Some(state) = ext.get_mut::<SpanState>() else {
        return EventTarget::Nowhere;
    };
    if *event.metadata().level() == Level::ERROR {
        state.error_event = true;
    }
    if !state.sampled {
        return if hold_event(state, event) {
            EventTarget::Attached
        } else {
            EventTarget::Nowhere
        };
    }
    if state.generation.sinks.takes(Takes::SPAN_EVENTS) {
        attach(state, event);
        return EventTarget::Attached;
    }
    EventTarget::Instant(state.generation.clone())
}
