//! A generation: everything one applied config decides for the spans that begin under it.

use std::sync::Arc;

use tracing_core::{LevelFilter, Metadata, Subscriber, subscriber::Interest};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::layer::{Context, Layer};

use crate::counters::Counters;
use crate::sinks::SinkSet;
use crate::traces::codec::Propagators;
use crate::traces::sampler::Sampler;
use crate::traces::tail::TailPolicy;

/// Immutable once built; swapped in whole. A span keeps an `Arc` to the generation it began in and finishes
/// there, so a flip never tears a trace.
pub(crate) struct Generation {
    pub(crate) id: u64,
    /// `None` when this generation records nothing (backend `none`, or disabled).
    pub(crate) filter: Option<EnvFilter>,
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

    pub(crate) fn interest<S: Subscriber>(&self, meta: &'static Metadata<'static>) -> Interest {
        match &self.filter {
            Some(f) => <EnvFilter as Layer<S>>::register_callsite(f, meta),
            None => Interest::never(),
        }
    }

    #[inline]
    pub(crate) fn enabled<S: Subscriber>(&self, meta: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        match &self.filter {
            Some(f) => <EnvFilter as Layer<S>>::enabled(f, meta, ctx),
            None => false,
        }
    }

    pub(crate) fn max_level<S: Subscriber>(&self) -> LevelFilter {
        match &self.filter {
            Some(f) => <EnvFilter as Layer<S>>::max_level_hint(f).unwrap_or(LevelFilter::TRACE),
            None => LevelFilter::OFF,
        }
    }
}
