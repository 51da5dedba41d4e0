//! What a signal beyond traces, console and logs sees of spans: the hot-path half of the seam a new signal plugs
//! into (its reload half is `crate::reload::signal`).
//!
//! A generation holds one [`SpanHook`] per signal that is on. The recorder tells each hook about every span of
//! that generation when it closes, sampled or not, on the thread that closes it; with no hook (every signal off)
//! the cost is one check of an empty list. While a generation has a hook that reads fields
//! ([`SpanHook::fields_read`]), every span it records keeps its fields (sampled or not), so the hook can read
//! them; a hook that needs only the name and duration (budgets) costs no field collection. At `backend = "none"`
//! (no sink records spans) a hook still sees every span the config's filter admits, unsampled and with no ids
//! ([`super::hook_span`]), and such a span keeps only the fields some hook names ([`super::field_pick`]).
//!
//! **Keeping a trace.** A hook's answer to a span's close is a [`Verdict`]: [`Verdict::KeepTrace`] asks the tail
//! sampler to keep the span's trace (the time budgets ask it for a span over its soft limit). It costs nothing
//! beyond the return value: when the head dropped the trace and tail sampling holds it, the trace is marked kept
//! for latency (one relaxed store), and the local root's close keeps it whole; when the head kept it, or the tail
//! is off, there is nothing to do.

use std::sync::Arc;

use smallvec::SmallVec;

use crate::sinks::record::{FieldValue, SpanIds};

/// How many per-thread readings a span keeps across its entered periods ([`SpanMeters`]).
#[cfg(feature = "profiling")]
pub(crate) const METERS: usize = 5;

/// Words a hook keeps per span between its outermost enter and exit ([`SpanHook::label_enter`]): what the
/// thread's profiling label was before, to give it back.
#[cfg(feature = "profiling")]
pub(crate) const LABEL_WORDS: usize = 5;

/// Per-thread monotonic readings (a thread's CPU time, its allocation counters) summed over a span's entered
/// periods: at each outermost enter the hook's [`SpanHook::read_meters`] is read, at the matching exit again, and
/// the difference is added to [`SpanMeters::sums`]. What each slot means is the hook's business. A span entered
/// on two threads at once shares one set of readings (a caveat the profiling docs state).
#[cfg(feature = "profiling")]
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SpanMeters {
    at_enter: [u64; METERS],
    /// The sums of (exit − enter) over the span's entered periods, slot by slot.
    pub(crate) sums: [u64; METERS],
    depth: u32,
    /// The hook's word of the thread's label before the outermost enter ([`SpanHook::label_enter`]).
    label_saved: [u64; LABEL_WORDS],
}

#[cfg(feature = "profiling")]
impl SpanMeters {
    /// The span was entered (`true`: [`Self::enter`]) or exited ([`Self::exit`]).
    #[inline]
    pub(crate) fn step(&mut self, hook: &dyn SpanHook, name: &'static str, ids: &SpanIds, enter: bool) {
        if enter {
            self.enter(hook, name, ids);
        } else {
            self.exit(hook);
        }
    }

    /// The span was entered: label the thread, then read the meters, at the outermost enter. Call it last on
    /// enter.
    #[inline]
    pub(crate) fn enter(&mut self, hook: &dyn SpanHook, name: &'static str, ids: &SpanIds) {
        if self.depth == 0 {
            hook.label_enter(name, ids, &mut self.label_saved);
            hook.read_meters(&mut self.at_enter);
        }
        self.depth += 1;
    }

    /// The span was exited: at the outermost exit, add what the meters moved since the enter. Call it first on
    /// exit.
    #[inline]
    pub(crate) fn exit(&mut self, hook: &dyn SpanHook) {
        match self.depth {
            0 => {}
            1 => {
                let mut now = [0; METERS];
                hook.read_meters(&mut now);
                for ((sum, now), then) in self.sums.iter_mut().zip(now).zip(self.at_enter) {
                    *sum = sum.wrapping_add(now.wrapping_sub(then));
                }
                hook.label_exit(&self.label_saved);
                self.depth = 0;
            }
            _ => self.depth -= 1,
        }
    }
}

/// A span that just closed, as a hook sees it.
pub(crate) struct ClosedSpan<'a> {
    /// The callsite: its name, target and level.
    pub(crate) meta: &'static tracing_core::Metadata<'static>,
    pub(crate) duration_ns: u64,
    pub(crate) ids: SpanIds,
    /// Whether its trace is kept by the head sampler.
    pub(crate) sampled: bool,
    /// It ended in error, as the tail sampler defines it: an `error` field (`#[livetel::instrument(err)]` sets
    /// one), `otel.status_code = "ERROR"`, or an ERROR event inside it. The fields are scanned for it only when
    /// some hook of the generation reads fields ([`SpanHook::fields_read`]); otherwise only an ERROR event
    /// sets it.
    pub(crate) error: bool,
    /// Its recorded fields: every field when some hook reads [`FieldsRead::All`]; at least those that some hook
    /// names otherwise (a span only hooks see keeps no others); empty when no hook reads fields.
    pub(crate) fields: &'a [(&'static str, FieldValue)],
    /// Its meters' sums, when its generation meters spans.
    #[cfg(feature = "profiling")]
    pub(crate) meters: Option<&'a [u64; METERS]>,
}

/// A signal's running part, as each generation holds it: built off the hot path by its signal's `prepare`,
/// shared by every generation whose slice of the config is the same, dropped (on livetel's control thread)
/// with the last generation that holds it.
pub(crate) trait SpanHook: Send + Sync + 'static {
    /// A span of this generation closed. Runs on the application's thread: never block, never allocate
    /// without bound. Runs while livetel holds the span's extensions: a hook that emits a tracing event must
    /// make it an explicit root (`parent: None`), so that no layer looks up the closing span.
    fn on_close(&self, span: &ClosedSpan<'_>) -> Verdict;

    /// Which of [`ClosedSpan::fields`] it reads, and whether it reads [`ClosedSpan::error`]: while some hook of a
    /// generation reads any, every span of it keeps its fields, sampled or not, and they are scanned for an error
    /// at its close (a cost per span); otherwise `fields` is empty for unsampled spans, and `error` says only
    /// whether an ERROR event happened inside the span. A span only hooks see (`backend = "none"`) keeps just
    /// the fields named here: naming them spares every other callsite the field collection. Asked once, when a
    /// generation is assembled.
    fn fields_read(&self) -> FieldsRead {
        FieldsRead::All
    }

    /// True when it meters spans while they are entered ([`SpanMeters`]). Asked once, when a generation is
    /// assembled; one hook of a generation at most meters (the first that says so).
    #[cfg(feature = "profiling")]
    fn meters(&self) -> bool {
        false
    }

    /// This thread's readings, now (for a hook that [`meters`](Self::meters)). Runs on every enter and exit of a
    /// span of its generation: no lock, no allocation.
    #[cfg(feature = "profiling")]
    fn read_meters(&self, out: &mut [u64; METERS]) {
        let _ = out;
    }

    /// The span `name` with `ids` is entered on this thread (outermost enter, for a hook that
    /// [`meters`](Self::meters)): label the thread's CPU samples with it, keeping in `saved` what to give back
    /// at [`label_exit`](Self::label_exit). No lock, no allocation.
    #[cfg(feature = "profiling")]
    fn label_enter(&self, name: &'static str, ids: &SpanIds, saved: &mut [u64; LABEL_WORDS]) {
        let _ = (name, ids, saved);
    }

    /// The span is exited (outermost exit): give the thread back the label `saved` at its enter.
    #[cfg(feature = "profiling")]
    fn label_exit(&self, saved: &[u64; LABEL_WORDS]) {
        let _ = saved;
    }

    /// What a closing span's meters' `sums` (and its ids: `pyroscope.profile.id`) say, for its record (Chrome
    /// args, OTLP attributes).
    #[cfg(feature = "profiling")]
    fn meter_costs(&self, sums: &[u64; METERS], ids: &SpanIds) -> crate::sinks::record::Costs {
        let _ = (sums, ids);
        crate::sinks::record::Costs::default()
    }
}

/// Which span fields a hook reads ([`SpanHook::fields_read`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FieldsRead {
    /// No field, nor [`ClosedSpan::error`] as fields mark it (an ERROR event inside the span still sets it).
    Nothing,
    /// The fields of these names, and [`ClosedSpan::error`] (so also the fields that mark an error).
    Named(Vec<String>),
    /// Every field.
    All,
}

/// What a hook asks of the span's trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) enum Verdict {
    /// Nothing.
    Pass,
    /// Keep the span's trace at the tail (counted as kept for latency), when the head dropped it and tail
    /// sampling holds it.
    KeepTrace,
}

/// The hooks of one generation, each with the name of its signal.
pub(crate) type Hooks = SmallVec<[(&'static str, Arc<dyn SpanHook>); 1]>;
