//! Live reload: how a config change becomes the running telemetry. Start-up is the first reload, through the
//! same code.
//!
//! # Lifecycle
//! 1. **Enter** — an input ([`inputs`]: the file watcher, debounced; the secret's file; SIGHUP; a
//!    [`ReloadTrigger`]; a [`Handle`] with a config held in memory) sends a [`command::Command`] to the control
//!    loop ([`control`]), which runs on livetel's own thread, never on one that traces. [`crate::Builder`] runs
//!    the first one, [`control::Control::start`], on the caller's thread before the loop starts.
//! 2. **Validate** — the file (or the handle's config) is read, parsed and checked ([`crate::config`]);
//!    `OTEL_*` overrides apply; the OTLP secret is resolved from the vault ([`secrets`]). The running and the new
//!    config are compared once into a [`crate::config::ConfigDiff`]: the dotted keys that changed (and
//!    `otlp.headers` when the secret did). An empty diff is the outcome `Unchanged`.
//! 3. **Prepare** (fallible, [`plan`]) — each signal whose slice of the config the diff touches builds its new
//!    part into one [`activation::Activation`]; the others get `None`. Traces first: filter, sampler, and one sink
//!    per backend, a running sink reused unless the diff touches a key its kind reads
//!    ([`crate::sinks::SinkKind::reads`]); then the console, the logs (on when a sink takes log records), and
//!    every other signal ([`signal`]). A failure here changes nothing and is reported with file (or
//!    `<handle>`), line and column where there is one.
//! 4. **Activate** (infallible, [`activation::Activation::commit`], then `Control::activate`) — one function per
//!    signal puts its new part in place or carries the running one over untouched, which makes the next
//!    generation; the running generation is published as draining, then one `ArcSwap` store makes the new one
//!    current ([`retire::Retirer::hand_over`]: in that order, a child of an open span always finds its parent's
//!    generation); the hot path sees the new generation on its next span.
//! 5. **Retire** ([`retire`]) — the old generation drains: its open spans and their children finish in it. When
//!    no span holds it (or its drain timeout passes) it is dropped on the control thread, and each of its sinks
//!    that no newer generation shares is flushed and closed there (a signal's part is dropped there too, with
//!    the last generation that holds it).
//!
//! Every step ends by publishing [`crate::status::TelemetryStatus`] ([`report`]).
//!
//! **Adding a signal** (metrics is the first, `crate::metrics`; profiling is next): a module of its own that
//! implements [`signal::Signal`] (the keys it reads, how to build its running part, and optionally what it adds
//! to status) and [`crate::traces::hooks::SpanHook`] (what it does when a span closes), and its entry in
//! [`signal::builtin`]. If it needs a sink to carry its records, it names a
//! capability of its own ([`crate::sinks::Takes::bit`]) and the sinks that take it say so. Nothing here,
//! in the traces or in the other signals changes: `toy_signal_tests.rs` is such a signal, whole, in one file.
//! **Adding a backend**: a module under `crate::sinks` with a `SinkKind` and a `Sink`, and its line in
//! [`crate::sinks::REGISTRY`]; nothing here changes.
//!
//! **Settling callsites.** tracing-core asks for a callsite's interest at its first use (or in another
//! subscriber's rebuild) and stores the answer afterwards, so a reload's rebuild in between would be
//! overwritten. Outside livetel's own rebuild the answer is therefore `sometimes` (right whatever happens), and
//! the control loop rebuilds 20 ms later to cache the exact interest again (`Live::answers_exactly`,
//! `Command::Settle`).
//!
//! Which code may block: [`control`], [`plan`], [`retire`] (file I/O, joining writer threads), all on the
//! control thread (the first reload on the caller's thread, marked as livetel's own while it runs). The hot path (`crate::traces`) reads the live generations with no lock and imports nothing
//! from here.

pub(crate) mod activation;
pub(crate) mod admin_slot;
pub(crate) mod command;
pub(crate) mod control;
pub(crate) mod inputs;
pub(crate) mod overrides;
pub(crate) mod plan;
pub(crate) mod report;
pub(crate) mod retire;
pub(crate) mod secrets;
pub(crate) mod signal;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod toy_signal_tests;

pub use command::{OverrideOutcome, ReloadOutcome};
pub use inputs::{Handle, ReloadTrigger};
