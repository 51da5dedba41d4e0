//! The state the hot path reads: the current generation and the ones still draining. Lock-free reads.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, OnceLock};

use arc_swap::{ArcSwap, Guard};
use tracing_core::dispatcher::WeakDispatch;

use crate::traces::field_pick::PickUnion;
use crate::traces::generation::Generation;

/// How the recorder is installed, which decides who answers the subscriber-wide questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// The only layer of livetel's own subscriber: its filter decisions are the subscriber's.
    Alone,
    /// Inside [`crate::LiveLayer`]'s per-layer filter, in a user's stack: it never filters for anyone.
    Shared,
}

/// The generations the hot path reads, and where the layer is installed.
pub(crate) struct Live {
    current: ArcSwap<Generation>,
    draining: ArcSwap<Vec<Arc<Generation>>>,
    has_draining: AtomicBool,
    /// Some live generation's filter has span directives (see [`Generation::span_filter`]).
    tracks_spans: AtomicBool,
    /// Some live generation admits more than it records as spans (see [`Generation::filters_differ`]).
    filters_differ: AtomicBool,
    /// The current generation has a console.
    console_on: AtomicBool,
    /// Some live generation meters its spans while entered (see [`Generation::meter`]).
    #[cfg(feature = "profiling")]
    meters_spans: AtomicBool,
    /// The current generation records no spans, and other signals' hooks see them (backend `none`).
    hooks_only: AtomicBool,
    /// And its hooks see every span it admits ([`Generation::hooks_see_all`]): a hook span then begins with no
    /// generation loaded.
    hooks_see_all: AtomicBool,
    /// The fields hook spans keep: what the hooks of every generation so far read.
    hook_fields: PickUnion,
    /// The dispatcher this state belongs to, held weakly (it owns us through the layer).
    dispatch: OnceLock<WeakDispatch>,
    /// How many dispatchers registered the layer: 1 when all is well.
    registrations: AtomicU32,
    /// Called when the registration changes, to publish status again.
    on_change: Arc<dyn Fn() + Send + Sync>,
    /// Some callsite got an answer outside livetel's own rebuild (see [`Live::answers_exactly`]).
    unsettled: AtomicBool,
    /// Called when `unsettled` is raised, to have the control loop rebuild soon.
    on_unsettled: Arc<dyn Fn() + Send + Sync>,
    /// Shut down: the generations never change again, so every answer is exact.
    stopped: AtomicBool,
}

thread_local! {
    /// The `Live` whose control thread is rebuilding the interest cache right now (its address), or 0. Another
    /// instance asked during that rebuild is asked from outside *its* rebuild.
    static REBUILDING: Cell<usize> = const { Cell::new(0) };
}

/// Clears [`REBUILDING`] when the rebuild ends, even by a panic.
struct Rebuilding;

impl Rebuilding {
    fn start(live: &Live) -> Self {
        REBUILDING.with(|r| r.set(live as *const Live as usize));
        Rebuilding
    }
}

impl Drop for Rebuilding {
    fn drop(&mut self) {
        REBUILDING.with(|r| r.set(0));
    }
}

impl Live {
    pub(crate) fn new(
        first: Arc<Generation>,
        on_change: Arc<dyn Fn() + Send + Sync>,
        on_unsettled: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        let tracks = first.filter_tracks_spans;
        let differ = first.filters_differ;
        let console = first.console.is_some();
        #[cfg(feature = "profiling")]
        let meters = first.meter.is_some();
        let hooks_only = first.hook_filter.is_some();
        let hooks_see_all = first.hooks_see_all;
        let hook_fields = PickUnion::default();
        hook_fields.add(&first.hook_fields);
        Live {
            #[cfg(feature = "profiling")]
            meters_spans: AtomicBool::new(meters),
            current: ArcSwap::new(first),
            draining: ArcSwap::default(),
            tracks_spans: AtomicBool::new(tracks),
            filters_differ: AtomicBool::new(differ),
            console_on: AtomicBool::new(console),
            hooks_only: AtomicBool::new(hooks_only),
            hooks_see_all: AtomicBool::new(hooks_see_all),
            hook_fields,
            has_draining: AtomicBool::new(false),
            dispatch: OnceLock::new(),
            registrations: AtomicU32::new(0),
            on_change,
            unsettled: AtomicBool::new(false),
            on_unsettled,
            stopped: AtomicBool::new(false),
        }
    }

    /// The current generation, borrowed (no reference count change in the common case).
    #[inline]
    pub(crate) fn current(&self) -> Guard<Arc<Generation>> {
        self.current.load()
    }

    /// The current generation, owned: what a new root span pins.
    #[inline]
    pub(crate) fn current_full(&self) -> Arc<Generation> {
        self.current.load_full()
    }

    pub(crate) fn draining(&self) -> Guard<Arc<Vec<Arc<Generation>>>> {
        self.draining.load()
    }

    #[inline]
    pub(crate) fn has_draining(&self) -> bool {
        self.has_draining.load(Ordering::Acquire)
    }

    /// True when some live generation's filter must see spans enter and exit.
    #[inline]
    pub(crate) fn tracks_spans(&self) -> bool {
        self.tracks_spans.load(Ordering::Relaxed)
    }

    /// True when some live generation admits events or spans for its console or logs that it does not record.
    #[inline]
    pub(crate) fn filters_differ(&self) -> bool {
        self.filters_differ.load(Ordering::Relaxed)
    }

    /// True when some live generation meters its spans while entered: one relaxed load on each enter and exit.
    #[cfg(feature = "profiling")]
    #[inline]
    pub(crate) fn meters_spans(&self) -> bool {
        self.meters_spans.load(Ordering::Relaxed)
    }

    /// True when the current generation records no spans and other signals' hooks see them (one relaxed load;
    /// the generation itself is read after it, and says again).
    #[inline]
    pub(crate) fn hooks_only(&self) -> bool {
        self.hooks_only.load(Ordering::Relaxed)
    }

    /// True when the current generation's hooks see every span it admits (one relaxed load; meaningful while
    /// [`Live::hooks_only`]).
    #[inline]
    pub(crate) fn hooks_see_all(&self) -> bool {
        self.hooks_see_all.load(Ordering::Relaxed)
    }

    /// The fields hook spans keep.
    #[inline]
    pub(crate) fn hook_fields(&self) -> &PickUnion {
        &self.hook_fields
    }

    /// True when the current generation prints events (one relaxed load; the console itself is read from
    /// the generation).
    #[inline]
    pub(crate) fn console_on(&self) -> bool {
        self.console_on.load(Ordering::Relaxed)
    }

    /// Makes `next` current. Infallible. (The reload path publishes the replaced generation as draining first, so
    /// a child of one of its open spans always finds it.)
    pub(crate) fn swap(&self, next: Arc<Generation>) {
        // Raised before the swap, lowered only when the set of live generations is published again.
        if next.filter_tracks_spans {
            self.tracks_spans.store(true, Ordering::Relaxed);
        }
        if next.filters_differ {
            self.filters_differ.store(true, Ordering::Relaxed);
        }
        #[cfg(feature = "profiling")]
        if next.meter.is_some() {
            self.meters_spans.store(true, Ordering::Relaxed);
        }
        self.console_on.store(next.console.is_some(), Ordering::Relaxed);
        self.hook_fields.add(&next.hook_fields);
        self.hooks_see_all.store(next.hooks_see_all, Ordering::Relaxed);
        self.hooks_only
            .store(next.hook_filter.is_some(), Ordering::Relaxed);
        drop(self.current.swap(next));
    }

    /// Makes the first applied generation current, replacing the placeholder that recorded nothing and so holds
    /// no span: nothing to drain.
    pub(crate) fn install_first(&self, first: Arc<Generation>) {
        self.swap(first);
        self.rebuild_interest();
    }

    /// True while the current generation records function arguments (`include_args`).
    #[inline]
    pub(crate) fn include_args(&self) -> bool {
        self.current().include_args
    }

    /// Remembers the dispatcher the layer was registered with (`Layer::on_register_dispatch`). The first one
    /// is kept; a second registration is reported in status, never a panic.
    pub(crate) fn register_dispatch(&self, dispatch: &tracing::Dispatch) {
        let _ = self.dispatch.set(dispatch.downgrade());
        self.registrations.fetch_add(1, Ordering::Relaxed);
        (self.on_change)();
    }

    /// What is wrong with where the layer is installed, in a sentence for status; `None` when all is well.
    /// Alone, livetel registers its own subscriber right after start-up, so only a second registration counts.
    pub(crate) fn registration_problem(&self, placement: Placement) -> Option<String> {
        match self.registrations.load(Ordering::Relaxed) {
            1 => None,
            0 if placement == Placement::Alone => None,
            0 => Some(
                "livetel's layer is not in any subscriber yet: nothing is recorded until it is added \
                 (`tracing_subscriber::registry().with(layer)`)"
                    .to_owned(),
            ),
            n => Some(format!(
                "livetel's layer was registered with {n} subscribers: it belongs in one; reloads rebuild through \
                 the first, and stop rebuilding if that one is dropped"
            )),
        }
    }

    /// Recomputes every callsite's interest after the set of live generations changed.
    ///
    /// Runs inside the dispatcher the layer belongs to (livetel's own, or the user's): when it is the only one
    /// registered, tracing-core asks the *calling thread's* default dispatcher, and the control thread traces
    /// nowhere. Before the layer is registered there is nothing to rebuild: registering rebuilds everything.
    pub(crate) fn rebuild_interest(&self) {
        if let Some(d) = self.dispatch.get().and_then(WeakDispatch::upgrade) {
            let _rebuilding = Rebuilding::start(self);
            tracing::dispatcher::with_default(&d, tracing_core::callsite::rebuild_interest_cache);
        }
    }

    /// True when a callsite's interest asked for now is stored before the generations change again: inside
    /// livetel's own rebuild, which runs on the control thread between changes.
    ///
    /// Anywhere else — a callsite's first use, or another subscriber's rebuild — tracing-core stores the answer
    /// *after* asking, and a reload's rebuild that runs in between is overwritten by it. The answer must then
    /// be right whatever the generations become: `sometimes`, which asks `enabled` at each use. The control
    /// loop rebuilds soon after, which caches the exact answer again.
    pub(crate) fn answers_exactly(&self) -> bool {
        if REBUILDING.with(Cell::get) == self as *const Live as usize || self.stopped.load(Ordering::Acquire)
        {
            return true;
        }
        if !self.unsettled.swap(true, Ordering::AcqRel) {
            (self.on_unsettled)();
        }
        false
    }

    /// After shutdown nothing changes any more, and no control loop is left to settle answers: answer exactly.
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
    }

    /// True (once) when some callsite was answered `sometimes` since the last call: rebuild to settle it.
    pub(crate) fn take_unsettled(&self) -> bool {
        self.unsettled.swap(false, Ordering::AcqRel)
    }

    /// Publishes the generations that may still take children of their open spans.
    pub(crate) fn set_draining(&self, generations: Vec<Arc<Generation>>) {
        let tracks = self.current().filter_tracks_spans || generations.iter().any(|g| g.filter_tracks_spans);
        self.tracks_spans.store(tracks, Ordering::Relaxed);
        let differ = self.current().filters_differ || generations.iter().any(|g| g.filters_differ);
        self.filters_differ.store(differ, Ordering::Relaxed);
        #[cfg(feature = "profiling")]
        {
            let meters = self.current().meter.is_some() || generations.iter().any(|g| g.meter.is_some());
            self.meters_spans.store(meters, Ordering::Relaxed);
        }
        self.has_draining
            .store(!generations.is_empty(), Ordering::Release);
        self.draining.store(Arc::new(generations));
    }
}
