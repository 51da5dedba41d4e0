//! What livetel records: callsite interest, per-span `enabled` and the level hint, from the live generations.
//!
//! The same decisions serve both ways livetel is installed. Alone ([`crate::init`], [`crate::Builder::build`])
//! they are the subscriber's own answers, so `backend = "none"` leaves tracing's macros at their no-subscriber
//! cost. In a user's stack ([`crate::Builder::build_layer`]) they are a *per-layer* filter ([`LiveFilter`]):
//! they decide only what livetel records, and never silence the layers beside it.
//!
//! One exception, narrow on purpose: livetel's own carrier spans (the server spans `livetel::http` and
//! `livetel::grpc`, the consumer span `livetel::consumer`, see `codec::carrier`) are always admitted, so that a request's or a message's span
//! exists to forward the caller's trace context even when livetel records nothing. Their interest is `sometimes`,
//! never `never`; the recorder records them only when the generation wants them ([`carries_only`]). No other
//! callsite changes.

use std::sync::Arc;

use tracing_core::{LevelFilter, Metadata, Subscriber, subscriber::Interest};
use tracing_subscriber::layer::{Context, Filter};
use tracing_subscriber::registry::LookupSpan;

use super::codec::is_carrier;
use super::state::SpanState;
use crate::traces::generation::Generation;
use crate::traces::live::Live;

/// The union of the current generation's interest and the draining ones': a callsite a draining generation may
/// still record (a child of one of its open spans) stays `sometimes`. Every generation's filter is asked, even
/// when the answer is known early: `EnvFilter` keeps the matchers of its span directives per callsite here.
///
/// Outside livetel's own rebuild the answer may be stored after a reload, so it is `sometimes` until the
/// control loop settles it ([`Live::answers_exactly`]).
pub(crate) fn interest<S: Subscriber>(live: &Live, meta: &'static Metadata<'static>) -> Interest {
    let current = live.current().interest::<S>(meta);
    // Not `any`: it would stop at the first and leave the other filters unasked.
    let draining_wants = live
        .draining()
        .iter()
        .filter(|g| !g.interest::<S>(meta).is_never())
        .count();
    if is_carrier(meta) || !live.answers_exactly() {
        return Interest::sometimes();
    }
    if current.is_always() || draining_wants == 0 {
        current
    } else {
        Interest::sometimes()
    }
}

/// True when the current generation takes `meta` (for spans, console or logs), or when a draining generation
/// takes it as the child of one of its open spans (`ctx`'s current span, as livetel sees it). Never on
/// livetel's own threads.
pub(crate) fn enabled<S>(live: &Live, meta: &Metadata<'_>, ctx: &Context<'_, S>) -> bool
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    !crate::threads::is_untraced() && asks(live, meta, ctx, Generation::enabled)
}

/// True when livetel records `meta` as a span or a span's event, of what [`enabled`] admitted: the same answer
/// unless a console or logs filter differs from the traces filter.
#[inline]
pub(crate) fn records<S>(live: &Live, meta: &Metadata<'_>, ctx: &Context<'_, S>) -> bool
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    !live.filters_differ() || asks(live, meta, ctx, Generation::records)
}

/// `question` put to the current generation, then to the draining one of `ctx`'s current span.
#[inline]
fn asks<S>(
    live: &Live,
    meta: &Metadata<'_>,
    ctx: &Context<'_, S>,
    question: fn(&Generation, &Metadata<'_>, Context<'_, S>) -> bool,
) -> bool
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if question(&live.current(), meta, ctx.clone()) {
        return true;
    }
    if !live.has_draining() {
        return false;
    }
    let Some(current) = ctx.lookup_current() else {
        return false;
    };
    // The nearest span livetel records: with a console or logs filter wider than the traces', the current span
    // may be one only they wanted.
    let Some(parent) = current
        .scope()
        .find(|p| !live.filters_differ() || p.extensions().get::<SpanState>().is_some())
    else {
        return false;
    };
    let ext = parent.extensions();
    ext.get::<SpanState>()
        .is_some_and(|s| s.generation.is_open() && question(&s.generation, meta, ctx.clone()))
}

/// What the subscriber (alone) or livetel's per-layer filter admits: what livetel records, and its carrier spans
/// always, as a carrier of the caller's context.
#[inline]
pub(crate) fn admits<S>(live: &Live, meta: &Metadata<'_>, ctx: &Context<'_, S>) -> bool
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    enabled(live, meta, ctx) || (is_carrier(meta) && !crate::threads::is_untraced())
}

/// True for a span admitted only to carry context: a livetel carrier span (server or consumer) when the
/// generation does not record it. The recorder asks after [`records`], which already turned away what only the
/// console or logs wanted.
#[inline]
pub(crate) fn carries_only<S>(live: &Live, meta: &Metadata<'_>, ctx: &Context<'_, S>) -> bool
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    is_carrier(meta) && !enabled(live, meta, ctx)
}

/// The most verbose level any live generation records.
pub(crate) fn max_level<S: Subscriber>(live: &Live) -> LevelFilter {
    let mut level = live.current().max_level::<S>();
    for g in live.draining().iter() {
        level = level.max(g.max_level::<S>());
    }
    level
}

/// livetel's decisions as a per-layer filter, for [`crate::LiveLayer`] in a user's stack.
pub(crate) struct LiveFilter {
    pub(crate) live: Arc<Live>,
}

impl<S> Filter<S> for LiveFilter
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn enabled(&self, meta: &Metadata<'_>, ctx: &Context<'_, S>) -> bool {
        admits(&self.live, meta, ctx)
    }

    fn callsite_enabled(&self, meta: &'static Metadata<'static>) -> Interest {
        interest::<S>(&self.live, meta)
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(max_level::<S>(&self.live))
    }
}
