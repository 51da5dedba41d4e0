//! A generation: everything one applied config decides for the spans that begin under it.

use std::sync::Arc;

use tracing_core::{LevelFilter, Metadata, Subscriber, subscriber::Interest};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Layer};

use crate::console::ConsoleSpec;
use crate::counters::Counters;
use crate::sinks::SinkSet;
use crate::traces::codec::Propagators;
use crate::traces::sampler::Sampler;
use crate::traces::tail::TailPolicy;

/// Immutable once built; swapped in whole. A span keeps an `Arc` to the generation it began in and finishes
/// there, so a flip never tears a trace.
pub(crate) struct Generation {
    pub(crate) id: u64,
    /// What its spans record; `None` when it records no spans (backend `none`, or disabled).
    pub(crate) filter: Option<EnvFilter>,
    /// The console, when it is on: every event its filter takes is printed while this generation is current.
    pub(crate) console: Option<Arc<ConsoleSpec>>,
    /// Which events become log records, when logs are on and a sink takes them.
    pub(crate) logs_filter: Option<EnvFilter>,
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
        Generation {
            id,
            filter: None,
            console: None,
            logs_filter: None,
            filters_differ: false,
            console_sees_all: false,
            filter_tracks_spans: false,
            sampler: Sampler::new(0.0),
            tail: None,
            sinks: SinkSet::default(),
            include_args: false,
            propagators: Propagators::DEFAULT,
            counters,
        }
    }

    /// The filter, when it needs to see this span's lifecycle (it has span directives).
    #[inline]
    pub(crate) fn span_filter(&self) -> Option<&EnvFilter> {
        self.filter.as_ref().filter(|_| self.filter_tracks_spans)
    }

    /// True while spans may still be handed to this generation's sinks.
    #[inline]
    pub(crate) fn is_open(&self) -> bool {
        !self.sinks.is_closed()
    }

    /// The filters of its consumers: spans, console, logs.
    fn filters(&self) -> impl Iterator<Item = &EnvFilter> {
        self.filter
            .iter()
            .chain(self.console.as_deref().map(|c| &c.filter))
            .chain(self.logs_filter.as_ref())
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
