//! A generation: everything one applied config decides for the spans that begin under it.

use std::sync::Arc;

use tracing_core::{LevelFilter, Metadata, Subscriber, subscriber::Interest};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Layer};

use crate::console::ConsoleSpec;
use crate::counters::Counters;
use crate::sinks::SinkSet;
use crate::traces::codec::Propagators;
use crate::traces::field_pick::FieldPick;
use crate::traces::hooks::{ClosedSpan, Hooks, Verdict};
use crate::traces::sampler::Sampler;
use crate::traces::sampler::TailPolicy;

/// An `EnvFilter` with the directives it was parsed from; shared by the generations whose directives are the same.
#[derive(Clone)]
pub(crate) struct Directives {
    pub(crate) text: Arc<str>,
    filter: Arc<EnvFilter>,
}

impl Directives {
    pub(crate) fn new(text: &str, filter: EnvFilter) -> Self {
        Directives {
            text: text.into(),
            filter: Arc::new(filter),
        }
    }
}

impl std::ops::Deref for Directives {
    type Target = EnvFilter;

    fn deref(&self) -> &EnvFilter {
        &self.filter
    }
}

/// The traces signal's part of a generation: what its spans record, how they are sampled, where they go.
#[derive(Clone)]
pub(crate) struct Traces {
    /// `None` when it records no spans (backend `none`, or disabled).
    pub(crate) filter: Option<Directives>,
    /// The filter has span directives (`[span{field}]`), so it must see spans enter, exit and close.
    pub(crate) filter_tracks_spans: bool,
    pub(crate) sampler: Sampler,
    pub(crate) tail: Option<TailPolicy>,
    pub(crate) sinks: SinkSet,
    pub(crate) include_args: bool,
    pub(crate) propagators: Propagators,
    /// The config's filter when no sink records spans (backend `none`): what other signals' hooks (metrics)
    /// see of spans there, when some signal is on. `None` when spans are recorded (`filter` serves) or off.
    pub(crate) unrecorded: Option<Directives>,
}

impl Traces {
    /// Records nothing: no filter, no sink.
    pub(crate) fn off() -> Self {
        Traces {
            filter: None,
            filter_tracks_spans: false,
            sampler: Sampler::new(0.0),
            tail: None,
            sinks: SinkSet::default(),
            include_args: false,
            propagators: Propagators::DEFAULT,
            unrecorded: None,
        }
    }
}

/// Immutable once built; swapped in whole. A span keeps an `Arc` to the generation it began in and finishes
/// there, so a flip never tears a trace.
///
/// A generation is assembled from one part per signal ([`Generation::assemble`]): the traces part (its fields
/// are laid out flat, as the hot path reads them), the console, the logs filter, and the hooks of other
/// signals. A reload that leaves a signal's slice of the config alone carries that signal's part over as it is.
pub(crate) struct Generation {
    pub(crate) id: u64,
    /// What its spans record; `None` when it records no spans (backend `none`, or disabled).
    pub(crate) filter: Option<Directives>,
    /// The console, when it is on: every event its filter takes is printed while this generation is current.
    pub(crate) console: Option<Arc<ConsoleSpec>>,
    /// Which events become log records, when logs are on and a sink takes them.
    pub(crate) logs_filter: Option<Directives>,
    /// The other signals that are on (metrics, profiling): told about each span that closes.
    pub(crate) hooks: Hooks,
    /// The hook that meters its spans while entered (profiling's, when it counts allocations or CPU time).
    #[cfg(feature = "profiling")]
    pub(crate) meter: Option<Arc<dyn crate::traces::hooks::SpanHook>>,
    /// When no sink records spans (backend `none`) and some signal is on: the spans those signals' hooks see
    /// (`crate::traces::hook_span`). They are not recorded as spans and forward no context of their own.
    pub(crate) hook_filter: Option<Directives>,
    /// The traces part's filter for spans no sink records, kept to carry the traces part over.
    unrecorded: Option<Directives>,
    /// `hook_filter` is its only filter (no console, no logs): whatever it admits, the hooks see.
    pub(crate) hooks_see_all: bool,
    /// The fields its hooks read: all a span only hooks see keeps ([`crate::traces::hook_span`]).
    pub(crate) hook_fields: FieldPick,
    /// The console's or the logs' directives differ from `filter`'s: what livetel admits (the union) is then
    /// more than what it records as spans, and the recorder asks `filter` again ([`Generation::records`]).
    pub(crate) filters_differ: bool,
    /// The console's directives are those of every other consumer: whatever this generation admits, the
    /// console wants, so it need not ask its filter again.
    pub(crate) console_sees_all: bool,
    /// The filter has span directives (`[span{field}]`), so it must see spans enter, exit and close. Without
    /// them those callbacks are no-ops that still take the filter's lock; the layer skips them.
    pub(crate) filter_tracks_spans: bool,
    pub(crate) sampler: Sampler,
    /// What traces the sampler drops are held for: errors and slow traces kept at their tail. `None`: head only.
    pub(crate) tail: Option<TailPolicy>,
    /// Where its spans go; empty when it records nothing.
    pub(crate) sinks: SinkSet,
    pub(crate) include_args: bool,
    /// The header formats `propagation` reads and writes for spans of this generation's time.
    pub(crate) propagators: Propagators,
    pub(crate) counters: Arc<Counters>,
}

impl Generation {
    /// A generation that records nothing.
    pub(crate) fn off(id: u64, counters: Arc<Counters>) -> Self {
        Generation::assemble(id, Traces::off(), None, None, Hooks::new(), counters)
    }

    /// The generation made of these parts; what follows from them together (whether the consumers' filters
    /// differ) is worked out here.
    pub(crate) fn assemble(
        id: u64,
        traces: Traces,
        console: Option<Arc<ConsoleSpec>>,
        logs_filter: Option<Directives>,
        hooks: Hooks,
        counters: Arc<Counters>,
    ) -> Self {
        let hook_filter = traces.unrecorded.clone().filter(|_| !hooks.is_empty());
        if hook_filter.is_some() {
            // Its hook spans time themselves with it; calibrated here, before they do.
            crate::clock::calibrate_ticks();
        }
        // Also livetel's carrier spans, which every generation admits to forward context.
        let hooks_see_all = hook_filter.is_some() && console.is_none() && logs_filter.is_none();
        let traces_directives = traces.filter.as_ref().map(|d| &*d.text);
        let console_directives = console.as_deref().map(|c| c.config.filter.as_str());
        let logs_directives = logs_filter.as_ref().map(|d| &*d.text);
        let hook_directives = hook_filter.as_ref().map(|d| &*d.text);
        let filters_differ = console_directives
            .into_iter()
            .chain(logs_directives)
            .chain(hook_directives)
            .any(|d| Some(d) != traces_directives);
        let console_sees_all = console_directives.is_some_and(|c| {
            traces_directives
                .into_iter()
                .chain(logs_directives)
                .chain(hook_directives)
                .all(|d| d == c)
        });
        let hook_fields = FieldPick::of(&hooks);
        #[cfg(feature = "profiling")]
        let meter = hooks.iter().find(|(_, h)| h.meters()).map(|(_, h)| Arc::clone(h));
        Generation {
            id,
            filter: traces.filter,
            console,
            logs_filter,
            hooks,
            #[cfg(feature = "profiling")]
            meter,
            hooks_see_all,
            hook_filter,
            unrecorded: traces.unrecorded,
            hook_fields,
            filters_differ,
            console_sees_all,
            filter_tracks_spans: traces.filter_tracks_spans,
            sampler: traces.sampler,
            tail: traces.tail,
            sinks: traces.sinks,
            include_args: traces.include_args,
            propagators: traces.propagators,
            counters,
        }
    }

    /// Its traces part, to carry over into a generation whose traces slice is the same.
    pub(crate) fn traces(&self) -> Traces {
        Traces {
            filter: self.filter.clone(),
            filter_tracks_spans: self.filter_tracks_spans,
            sampler: self.sampler,
            tail: self.tail,
            sinks: self.sinks.clone(),
            include_args: self.include_args,
            propagators: self.propagators,
            unrecorded: self.unrecorded.clone(),
        }
    }

    /// The filter, when it needs to see this span's lifecycle (it has span directives).
    #[inline]
    pub(crate) fn span_filter(&self) -> Option<&EnvFilter> {
        self.filter.as_deref().filter(|_| self.filter_tracks_spans)
    }

    /// True while spans may still be handed to this generation's sinks.
    #[inline]
    pub(crate) fn is_open(&self) -> bool {
        !self.sinks.is_closed()
    }

    /// The filters of its consumers: spans, console, logs, and other signals' hooks when no sink records spans.
    fn filters(&self) -> impl Iterator<Item = &EnvFilter> {
        self.filter
            .as_deref()
            .into_iter()
            .chain(self.console.as_deref().map(|c| &c.filter))
            .chain(self.logs_filter.as_deref())
            .chain(self.hook_filter.as_deref())
    }

    /// True when some hook reads span fields: every span keeps its fields, sampled or not.
    #[inline]
    pub(crate) fn hooks_read_fields(&self) -> bool {
        self.hook_fields.any()
    }

    /// Tells every hook that `span` closed; true when one asks to keep its trace.
    #[inline]
    pub(crate) fn tell_hooks(&self, span: &ClosedSpan<'_>) -> bool {
        let mut keep = false;
        for (_, hook) in &self.hooks {
            keep |= hook.on_close(span) == Verdict::KeepTrace;
        }
        keep
    }

    /// True when the spans of `meta` are seen by other signals' hooks without being recorded (backend `none`).
    #[inline]
    pub(crate) fn hooks_see<S: Subscriber>(&self, meta: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        match &self.hook_filter {
            Some(_) if self.hooks_see_all => true,
            Some(f) => <EnvFilter as Layer<S>>::enabled(f, meta, ctx),
            None => false,
        }
    }

    /// The union of its consumers' interest. Every filter is asked: `EnvFilter` keeps per-callsite state here.
    pub(crate) fn interest<S: Subscriber>(&self, meta: &'static Metadata<'static>) -> Interest {
        let mut union = Interest::never();
        for f in self.filters() {
            let i = <EnvFilter as Layer<S>>::register_callsite(f, meta);
            if i.is_always() || (i.is_sometimes() && union.is_never()) {
                union = i;
            }
        }
        union
    }

    /// True when some consumer (spans, console, logs) takes `meta`.
    #[inline]
    pub(crate) fn enabled<S: Subscriber>(&self, meta: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        if !self.filters_differ {
            return self.records(meta, ctx);
        }
        self.filters()
            .any(|f| <EnvFilter as Layer<S>>::enabled(f, meta, ctx.clone()))
    }

    /// True when it records `meta` as a span or a span's event.
    #[inline]
    pub(crate) fn records<S: Subscriber>(&self, meta: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        match &self.filter {
            Some(f) => <EnvFilter as Layer<S>>::enabled(f, meta, ctx),
            None => false,
        }
    }

    pub(crate) fn max_level<S: Subscriber>(&self) -> LevelFilter {
        self.filters()
            .map(|f| <EnvFilter as Layer<S>>::max_level_hint(f).unwrap_or(LevelFilter::TRACE))
            .max()
            .unwrap_or(LevelFilter::OFF)
    }
}
