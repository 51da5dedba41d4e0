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
//! # Lifecycle
//! 1. **Start**: [`init`] (or [`Builder`]) reads the file, applies `OTEL_*` overrides, validates, builds the
//!    backends and installs generation 1; an invalid file is an [`InitError`] and nothing starts.
//! 2. **Record**: each span is recorded by the generation current when it began, to its end; the per-span path
//!    takes no lock.
//! 3. **Reload**: a file save, SIGHUP, [`ReloadTrigger::reload`], a [`Handle`] change, a temporary override or
//!    `POST /reload` on the admin endpoint sends one command to livetel's control thread: *validate* (a bad
//!    config changes nothing and is reported in [`status::TelemetryStatus::last_error`]), *prepare* the parts
//!    whose slice of the config changed, off the hot path, *activate* them in one swap, and *retire* the
//!    replaced generation once its open spans have ended (or `drain_timeout_ms` passed). Each reload ends in a
//!    [`ReloadOutcome`] and a new [`status::TelemetryStatus`] on the [`Telemetry::status`] channel.
//! 4. **Shut down**: dropping the [`Telemetry`] guard (or [`Telemetry::shutdown`]) drains, flushes and finalizes
//!    every backend, with a time limit; nothing left is lost silently (it is counted as dropped).
//!
//! # Features
//! | feature | default | what it adds |
//! |---|---|---|
//! | `profiling` | yes | `#[livetel::instrument]` active in this crate's own examples and tests |
//! | `http` | no | `livetel::http`: tower-http server spans and reqwest client spans |
//! | `grpc` | no | `livetel::grpc`: tonic server and client layers |
//! | `schema` | no | `config::json_schema()`: the JSON Schema of `[telemetry]` |
//! | `cli` | no | the `livetel` command (`check`, `schema`, `status`, `reload`, `override`) |
//!
//! Unix only: SIGHUP reloads and `pwrite`-based trace files; the crate does not build elsewhere.
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
//! | [`vault`] | where secrets come from; [`vault::SecretSource`] for a store of your own |
//! | [`propagation`] | trace context across services (W3C Trace Context and Baggage, B3), also through services that record nothing |
//! | `http` (feature `http`) | one line for HTTP services: server spans by the HTTP semantic conventions (tower-http `TraceLayer`), client spans for reqwest (`send`), injector |
//! | `grpc` (feature `grpc`) | tonic: a server layer and a client layer with spans by the RPC/gRPC conventions, an injecting interceptor |
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
//!   spans for reqwest, over [`propagation`]. `grpc` (feature `grpc`) — the same for tonic: server and client
//!   layers whose response body reads the `grpc-status` trailers. Both read and write headers through
//!   `headers` and make their server span through `traces::codec::carrier`.
//! - `sinks` — one module per backend behind the `Sink` trait, listed in one registry: `local` (Chrome trace
//!   JSON), `otlp`; each declares what it takes (spans, span events, instants, log records) in one value.
//! - [`status`], [`config`] — the published state and the config's types, validation and overrides.
//! - [`vault`] (OTLP header and admin token secrets: environment, file, directory, or a [`vault::SecretSource`] of
//!   your own) and `error` — leaves that import nothing else of the crate.

#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

#[cfg(not(unix))]
compile_error!(
    "livetel supports Unix only: reloads on SIGHUP, trace files written with `pwrite`, secrets read from \
     mounted files. Build it on Linux, macOS or another Unix."
);

pub mod channel;
pub mod config;
#[cfg(feature = "grpc")]
pub mod grpc;
#[cfg(feature = "http")]
pub mod http;
pub mod status;
pub mod vault;

mod clock;
mod console;
mod counters;
mod error;
#[cfg(feature = "profiling")]
mod figures;
#[cfg(any(feature = "http", feature = "grpc"))]
mod headers;
mod metrics;
#[cfg(feature = "profiling")]
pub mod profiling;
mod reload;
mod serve;
mod sinks;
mod telemetry;
mod threads;
mod traces;

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
