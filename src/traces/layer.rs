//! The layer livetel installs. It never changes; what it points at does.
//!
//! The recorder ([`recorder`]) reads the current [`Generation`](crate::traces::generation::Generation) through an
//! `ArcSwap` (no lock on any callback) and pins it into each new span, with the span's sampling decision.
//! Children join their parent's generation while it is open, so a trace finishes whole in the backend it began
//! in. What gets recorded at all is decided in [`gate`]: callsite interest is the union of the current generation
//! and the ones still draining, and the reload path rebuilds the interest cache whenever that set changes.
//!
//! Installed alone ([`crate::init`]) those decisions are the subscriber's, so a `none` backend leaves tracing's
//! macros at their no-subscriber cost. In a user's stack, [`LiveLayer`] wraps them in a per-layer filter: they
//! decide only what livetel records.

use std::any::TypeId;
use std::sync::Arc;

use tracing_core::span::{Attributes, Id, Record as SpanRecord};
use tracing_core::{Dispatch, Event, LevelFilter, Metadata, Subscriber, subscriber::Interest};
use tracing_subscriber::filter::Filtered;
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::{LookupSpan, Registry};

use super::gate;
use super::live::{Live, Placement};
use super::recorder::Recorder;

/// livetel as one layer of your own subscriber, beside your `fmt` layer and anything else.
///
/// Get one from [`crate::Builder::build_layer`], which also returns the [`crate::Telemetry`] guard (status,
/// reload trigger and handle, shutdown):
///
/// ```no_run
/// use tracing_subscriber::filter::LevelFilter;
/// use tracing_subscriber::prelude::*;
///
/// let (layer, telemetry) = livetel::Builder::new("config/telemetry.toml").build_layer()?;
/// tracing_subscriber::registry()
///     .with(tracing_subscriber::fmt::layer().with_filter(LevelFilter::INFO))
///     .with(layer)
///     .init();
/// # drop(telemetry);
/// # Ok::<(), livetel::InitError>(())
/// ```
///
/// The layer filters for itself (a per-layer filter): `enabled`, `backend`, `filter` and `sample_rate` decide
/// only what livetel records, and the layers beside it see every span and event they want, whatever livetel's
/// config says, through any number of reloads. `S` is the subscriber the layer is added to; Rust infers it from
/// `.with(layer)`.
pub struct LiveLayer<S = Registry> {
    inner: Filtered<Recorder<S>, gate::LiveFilter, S>,
}

impl<S> LiveLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    pub(crate) fn new(live: Arc<Live>) -> Self {
        let recorder = Recorder::new(Arc::clone(&live), Placement::Shared);
        LiveLayer {
            inner: recorder.with_filter(gate::LiveFilter { live }),
        }
    }
}

impl<S> std::fmt::Debug for LiveLayer<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveLayer").finish_non_exhaustive()
    }
}

/// Every callback goes to the filtered recorder; `downcast_raw` too, so that `Layered` sees the per-layer filter.
impl<S> Layer<S> for LiveLayer<S>
where
    S: Subscriber + for<'a> LookupSpan<'a> + 'static,
{
    fn on_register_dispatch(&self, dispatch: &Dispatch) {
        self.inner.on_register_dispatch(dispatch);
    }

    fn on_layer(&mut self, subscriber: &mut S) {
        self.inner.on_layer(subscriber);
    }

    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        self.inner.register_callsite(meta)
    }

    fn enabled(&self, meta: &Metadata<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.enabled(meta, ctx)
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_new_span(attrs, id, ctx);
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        self.inner.max_level_hint()
    }

    fn on_record(&self, id: &Id, values: &SpanRecord<'_>, ctx: Context<'_, S>) {
        self.inner.on_record(id, values, ctx);
    }

    fn on_follows_from(&self, id: &Id, follows: &Id, ctx: Context<'_, S>) {
        self.inner.on_follows_from(id, follows, ctx);
    }

    fn event_enabled(&self, event: &Event<'_>, ctx: Context<'_, S>) -> bool {
        self.inner.event_enabled(event, ctx)
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        self.inner.on_event(event, ctx);
    }

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_enter(id, ctx);
    }

    fn on_exit(&self, id: &Id, ctx: Context<'_, S>) {
        self.inner.on_exit(id, ctx);
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        self.inner.on_close(id, ctx);
    }

    fn on_id_change(&self, old: &Id, new: &Id, ctx: Context<'_, S>) {
        self.inner.on_id_change(old, new, ctx);
    }

    unsafe fn downcast_raw(&self, id: TypeId) -> Option<*const ()> {
        if id == TypeId::of::<Self>() {
            return Some(self as *const Self as *const ());
        }
        // SAFETY: forwarded as is; the inner layer upholds `downcast_raw`'s contract for its own types.
        unsafe { self.inner.downcast_raw(id) }
    }
}
