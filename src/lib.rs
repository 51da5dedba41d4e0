//! Telemetry that is reconfigured while the program runs.
//!
//! Call [`init`] once with the path of a TOML file; its `[telemetry]` table is watched from then on. An edit (or
//! SIGHUP, or a [`ReloadTrigger`]) is validated, built off the hot path and swapped in whole; a bad edit never
//! takes effect, and [`Telemetry::status`] says exactly what is wrong. Spans finish in the backend they began
//! in, so a flip leaves no torn trace.
//!
//! # Examples
//! ```no_run
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let telemetry = livetel::init("config/telemetry.toml")?; // dropping it finalizes every backend
//! let mut status = telemetry.status();
//! tracing::info_span!("work").in_scope(|| tracing::info!("traced"));
//! println!("generation {}", status.borrow_and_update().generation);
//! # Ok(()) }
//! ```
//!
//! An app that already has a subscriber of its own (a `fmt` layer, filters) adds livetel to it as one layer with
//! [`Builder::build_layer`]; see [`LiveLayer`].
//!
//! # Public API
//! | item | what it is |
//! |---|---|
//! | [`init`], [`Builder`] | start livetel for a config file: alone ([`Builder::init`], [`Builder::build`]) or as a layer of your own stack ([`Builder::build_layer`]) |
//! | [`Telemetry`] | the guard: status, reload trigger and handle, counters, shutdown |
//! | [`LiveLayer`] | livetel as one layer of your subscriber |
//! | [`ReloadTrigger`], [`Handle`], [`ReloadOutcome`] | reload the file now; apply a config held in memory; what came of it |
//! | [`InitError`], [`ConfigError`], [`ConfigErrorKind`], [`Position`] | what failed, with file, line and column |
//! | [`instrument`] | `#[livetel::instrument]`: a span per call, arguments only while `include_args` is on |
//! | [`config`] | the `[telemetry]` table's types, `OTEL_*` overrides, and checking a file without starting |
//! | [`status`] | what is running, published after every change |
//! | [`propagation`] | trace context across services (W3C Trace Context and Baggage, B3), also through services that record nothing |
//! | `http` (feature `http`) | one line for HTTP services: server spans by the HTTP semantic conventions (tower-http `TraceLayer`), client spans for reqwest (`send`), injector |
//!
//! # Layout
//! Dependencies point one way, from the top of this list down; the hot path (`traces`, `sinks`) imports
//! nothing of the reload path.
//!
//! - `telemetry` — [`Builder`] and [`Telemetry`]: start-up hands the config to the reload path.
//! - `reload` — the reload lifecycle (enter → validate → prepare → activate → retire), on livetel's own thread:
//!   `inputs/` (file watcher and debounce, secret files, SIGHUP, [`ReloadTrigger`], [`Handle`]) send a command;
//!   `control` runs it and compares the running and new config once ([`config::ConfigDiff`]); `plan` prepares a
//!   new part for each signal whose slice changed; `activation` commits them, one function per signal;
//!   `signal` is the seam a new signal (metrics today, profiling next) plugs into; `retire` drains what was replaced;
//!   `report` renders status.
//! - `traces` — the layer, its per-layer filter, the live generations (one part per signal), span state,
//!   sampling, propagation, and the hooks other signals see spans through.
//! - `metrics` — span metrics (`[telemetry.metrics]`): a store no reload resets, the hook that counts each
//!   closed span, and `/metrics` (fastmetrics on hyper, a thread of its own). `reload::signal` plugs it in; it
//!   imports `traces::hooks`, `config` and `counters`, never `reload`.
//! - `http` (feature `http`) — server spans by OpenTelemetry's HTTP conventions (tower-http's `TraceLayer`), client
//!   spans for reqwest, over [`propagation`].
//! - `sinks` — one module per backend behind the `Sink` trait, listed in one registry: `local` (Chrome trace
//!   JSON), `otlp`; each declares what it takes (spans, span events, instants, log records) in one value.
//! - [`status`], [`config`] — the published state and the config's types, validation and overrides.
//! - `vault` (OTLP header secrets) and `error` — leaves that import nothing else of the crate.

pub mod channel;
pub mod config;
#[cfg(feature = "http")]
pub mod http;
pub mod status;

mod clock;
mod console;
mod counters;
mod error;
#[cfg(feature = "profiling")]
mod figures;
mod metrics;
#[cfg(feature = "profiling")]
pub mod profiling;
mod reload;
mod serve;
mod sinks;
mod telemetry;
mod threads;
mod traces;
mod vault;

pub use error::{ConfigError, ConfigErrorKind, InitError, Position};
pub use reload::{Handle, OverrideOutcome, ReloadOutcome, ReloadTrigger};
pub use telemetry::{Builder, Telemetry};
pub use traces::{LiveLayer, propagation};

/// Instruments a function with a span that records its arguments only while `include_args` is on.
///
/// Arguments named in `skip(...)` are never recorded. Like `#[tracing::instrument]`, it takes `name`, `level`,
/// `target`, `fields(...)` and `skip_all`. `err` records an `Err` return (its `Display` as the span's `error`
/// field and in an ERROR event, and `otel.status_code = "ERROR"`) whatever `include_args` says, as
/// `#[tracing::instrument(err)]` does: keep secrets out of error messages. `ret` records the return value
/// (`Debug`) as an event, only while `include_args` is on. The attribute compiles to nothing unless the crate that
/// uses it has its `profiling` feature enabled; declare `profiling = []` in that crate's `[features]`.
///
/// ```
/// #[livetel::instrument(name = "llm.chat", skip(api_key))]
/// fn chat(model: &str, prompt: &str, api_key: &str) -> usize {
///     prompt.len()
/// }
/// assert_eq!(chat("m", "hello", "secret"), 5);
/// ```
pub use livetel_macros::instrument;

/// Starts livetel for the config file at `path` and installs it as the global subscriber.
///
/// # Errors
/// See [`Builder::init`].
pub fn init(path: impl AsRef<std::path::Path>) -> Result<Telemetry, InitError> {
    Builder::new(path).init()
}

#[doc(hidden)]
pub mod __private {
    pub use tracing;

    /// True while the config of the livetel instance in the current dispatcher records function arguments;
    /// false where no livetel layer is in it.
    #[inline]
    pub fn include_args() -> bool {
        tracing::dispatcher::get_default(|d| {
            d.downcast_ref::<crate::traces::live::Live>()
                .is_some_and(crate::traces::live::Live::include_args)
        })
    }

    /// Restarts the calling thread's trace and span id sequence from `seed`, so that its head sampling decisions
    /// are the same on every run. For tests and benchmarks; not part of the API.
    pub fn seed_thread_ids(seed: u64) {
        crate::traces::sampler::seed_thread(seed);
    }
}
