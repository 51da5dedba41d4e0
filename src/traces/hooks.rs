//! What a signal beyond traces, console and logs sees of spans: the hot-path half of the seam a new signal plugs
//! into (its reload half is `crate::reload::signal`).
//!
//! A generation holds one [`SpanHook`] per signal that is on. The recorder tells each hook about every span of
//! that generation when it closes, sampled or not, on the thread that closes it; with no hook (every signal off)
//! the cost is one check of an empty list. While a generation has hooks, every span it records keeps its fields
//! (sampled or not), so a hook can read them. At `backend = "none"` (no sink records spans) a hook still sees
//! every span the config's filter admits, unsampled and with no ids ([`super::hook_span`]).

use std::sync::Arc;

use smallvec::SmallVec;

use crate::sinks::record::{Fields, SpanIds};

/// A span that just closed, as a hook sees it.
pub(crate) struct ClosedSpan<'a> {
    /// The callsite: its name, target and level.
    pub(crate) meta: &'static tracing_core::Metadata<'static>,
    pub(crate) duration_ns: u64,
    pub(crate) ids: SpanIds,
    /// Whether its trace is kept by the head sampler.
    pub(crate) sampled: bool,
    /// It ended in error, as the tail sampler defines it: an `error` field (`#[livetel::instrument(err)]` sets
    /// one), `otel.status_code = "ERROR"`, or an ERROR event inside it.
    pub(crate) error: bool,
    /// Its recorded fields (empty for a span no sink will get).
    pub(crate) fields: &'a Fields,
}

/// A signal's running part, as each generation holds it: built off the hot path by its signal's `prepare`,
/// shared by every generation whose slice of the config is the same, dropped (on livetel's control thread)
/// with the last generation that holds it.
pub(crate) trait SpanHook: Send + Sync + 'static {
    /// A span of this generation closed. Runs on the application's thread: never block, never allocate
    /// without bound.
    fn on_close(&self, span: &ClosedSpan<'_>);
}

/// The hooks of one generation, each with the name of its signal.
pub(crate) type Hooks = SmallVec<[(&'static str, Arc<dyn SpanHook>); 1]>;
