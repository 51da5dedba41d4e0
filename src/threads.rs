//! livetel's own threads trace nowhere.
//!
//! Export runs on livetel's threads (the OTLP worker and export runtime, the Chrome writer, the control thread
//! that builds exporters). Each sets the no-op dispatcher as its default for its whole life, so the spans and
//! events of the exporters' own stack (tonic, hyper, h2, reqwest, opentelemetry) can never feed an exporter,
//! whatever filter the user sets. The same crates used on the app's threads (axum's `TraceLayer`, reqwest
//! middleware) are recorded like any other: the guard is the thread, not the target name.

use tracing::dispatcher::DefaultGuard;

/// Makes the calling thread trace nowhere until the guard drops; keep it for the thread's whole life.
pub(crate) fn untraced() -> DefaultGuard {
    tracing::dispatcher::set_default(&tracing::Dispatch::none())
}
