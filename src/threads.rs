//! livetel's own threads are never recorded.
//!
//! Export runs on livetel's threads (the OTLP worker and export runtime, the Chrome writer, the control thread
//! that builds exporters; and the caller's thread while start-up builds the first ones, marked for that time). Each marks itself untraced for its whole life, and livetel records nothing made on a
//! marked thread, so the spans and events of the exporters' own stack (tonic, hyper, h2, reqwest,
//! opentelemetry) can never feed an exporter, whatever filter the user sets. The same crates used on the app's
//! threads (axum's `TraceLayer`, reqwest middleware) are recorded like any other: the guard is the thread, not
//! the target name.
//!
//! Why a mark and not `Dispatch::none()` as these threads' default: a callsite first reached on a thread
//! registers through that thread's default while one dispatcher is registered, and `NoSubscriber` answers
//! `never` — which tracing-core then caches for every thread and every layer, the user's `fmt` layer included.
//! A scoped default on any thread also moves every thread's `get_default` off tracing-core's fast path.

use std::cell::Cell;

thread_local! {
    static UNTRACED: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as livetel's own for the rest of its life: livetel records nothing made on it.
pub(crate) fn mark_untraced() {
    UNTRACED.with(|u| u.set(true));
}

/// Marks the calling thread as livetel's own until the guard drops: start-up builds the first config's exporters
/// and writers on the caller's thread.
pub(crate) fn untraced_while() -> UntracedWhile {
    UntracedWhile(UNTRACED.with(|u| u.replace(true)))
}

/// Restores the thread's mark when dropped (see [`untraced_while`]).
pub(crate) struct UntracedWhile(bool);

impl Drop for UntracedWhile {
    fn drop(&mut self) {
        UNTRACED.with(|u| u.set(self.0));
    }
}

/// True on livetel's own threads.
#[inline]
pub(crate) fn is_untraced() -> bool {
    UNTRACED.with(Cell::get)
}
