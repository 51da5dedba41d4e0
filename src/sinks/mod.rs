//! Where a generation's records go: one module per backend behind one [`Sink`] trait.
//!
//! A backend is a [`SinkKind`] (the [`Backend`] value that names it, the config keys its sinks are built from,
//! and how to build one) and the [`Sink`] it builds (what it [`Sink::takes`], send, flush, close, its own status
//! row). The reload path asks [`kinds_for`] which kinds a config wants and nothing else about them; a generation
//! holds a [`SinkSet`], which hands each item to the sinks that take it, so several backends at once is fan-out.
//!
//! | config value | module | sink | takes |
//! |---|---|---|---|
//! | `local` (Chrome trace JSON files, for Perfetto) | [`local`] | `LocalSink` | spans, logs (written as instants) |
//! | `otlp` (gRPC or HTTP/protobuf) | [`otlp`] | `OtlpSink` | spans with their events, logs |
//! | `none` | — | an empty set | — |
//!
//! **Adding a backend**: a module here with its `Kind` and `Sink`, one line in [`REGISTRY`], and its name in
//! [`Backend`] (the config's typed value). Nothing in the reload path or the hot path changes.
//!
//! A sink is shared by every generation until a reload's diff touches a key its kind [`SinkKind::reads`], so a
//! change of sample rate or filter keeps the same file and the same connection.

pub(crate) mod fields;
pub(crate) mod local;
#[cfg(test)]
pub(crate) mod memory;
pub(crate) mod otlp;
pub(crate) mod record;
mod set;
mod takes;

use std::sync::Arc;
use std::time::Instant;

use crate::config::{Backend, TelemetryConfig};
use crate::counters::Counters;
use crate::status::{SinkState, SinkStatus};
use crate::vault::SecretHeaders;
pub(crate) use record::{LogRecord, Record};
pub(crate) use set::SinkSet;
pub(crate) use takes::{Item, Takes};

/// A backend's running output. Every method but [`Sink::send`] runs on livetel's control thread.
pub(crate) trait Sink: Send + Sync + 'static {
    /// The backend it belongs to (its name in config and status).
    fn backend(&self) -> Backend;

    /// What it takes, in one value: the set hands it those items and no others. Asked once, when a set is made.
    fn takes(&self) -> Takes;

    /// Hands an item over; never blocks. A span or log record that cannot be taken is counted in `counters`
    /// (and the sink's own figures) as dropped. Only items of a kind it [`Sink::takes`] reach it.
    fn send(&self, item: Item, counters: &Counters);

    /// Waits until `deadline` at the latest for what was sent so far to be written.
    fn flush(&self, deadline: Instant);

    /// Stops accepting records; what was accepted is still written.
    fn close(&self);

    /// True once [`Sink::close`] was called.
    fn is_closed(&self) -> bool;

    /// Its row in status, as part of `generation` in `state` (closed overrides `state`).
    fn status(&self, generation: u64, state: SinkState) -> SinkStatus;
}

/// One backend: the config value that selects it and how to build its sink.
pub(crate) trait SinkKind: Sync {
    /// The config value that selects it (`backend = "..."`): its name is [`Backend::as_str`].
    fn backend(&self) -> Backend;

    /// The dotted keys (relative to `[telemetry]`) its sinks are built from; a key stands for everything below
    /// it. A running sink is reused by the next generation unless the reload's diff touches one of them.
    fn reads(&self) -> &'static [&'static str];

    /// True when its sinks send the OTLP auth headers from the vault (so the secret is resolved for them).
    fn uses_secret_headers(&self) -> bool {
        false
    }

    /// Builds a new sink for `input`.
    ///
    /// # Errors
    /// What could not be built, and the config key concerned.
    fn build(&self, input: &SinkInput<'_>, cx: &SinkContext) -> Result<Arc<dyn Sink>, BuildError>;
}

/// What a sink is built from: the config, and the secrets resolved for it.
pub(crate) struct SinkInput<'a> {
    pub(crate) config: &'a TelemetryConfig,
    /// The OTLP auth headers from the vault.
    pub(crate) headers: Option<&'a SecretHeaders>,
    /// Starts every trace file name.
    pub(crate) session_id: &'a str,
}

/// A sink that could not be built.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct BuildError {
    /// The key concerned, relative to `[telemetry]` (`local.trace_dir`).
    pub(crate) key: &'static str,
    pub(crate) message: String,
}

/// What sinks share across reloads, owned by one `Telemetry` instance.
pub(crate) struct SinkContext {
    pub(crate) counters: Arc<Counters>,
    /// Called from a writer thread when its sink's state changes (an I/O error), to republish status.
    pub(crate) on_change: Arc<dyn Fn() + Send + Sync>,
    /// The backends that can be built: [`REGISTRY`] (tests plug kinds of their own in here).
    pub(crate) registry: &'static [&'static dyn SinkKind],
    /// The OTLP export runtime and retired exporters still finishing.
    pub(crate) otlp: otlp::Shared,
}

impl SinkContext {
    pub(crate) fn new(
        counters: Arc<Counters>,
        on_change: Arc<dyn Fn() + Send + Sync>,
        registry: &'static [&'static dyn SinkKind],
    ) -> Self {
        SinkContext {
            counters,
            on_change,
            registry,
            otlp: otlp::Shared::default(),
        }
    }

    /// The kinds of sink `cfg` records to, in the order its `backend` lists them; none when it records nothing.
    pub(crate) fn kinds_for(&self, cfg: &TelemetryConfig) -> Vec<&'static dyn SinkKind> {
        kinds_in(self.registry, cfg)
    }

    /// Waits until `deadline` for retired sinks that finish on their own threads.
    pub(crate) fn wait_retired(&self, deadline: Instant) {
        self.otlp.wait_pending(deadline);
    }
}

/// Queues `msg` on a sink's bounded channel without blocking: false when the sink is closed, its queue is full or
/// its writer is gone (the caller counts the drop).
#[inline]
pub(crate) fn try_queue<M>(tx: &std::sync::mpsc::SyncSender<M>, closed: bool, msg: M) -> bool {
    !closed && tx.try_send(msg).is_ok()
}

/// A sink's state as status shows it: closed whatever its generation's state.
pub(crate) fn shown_state(closed: bool, state: SinkState) -> SinkState {
    if closed { SinkState::Closed } else { state }
}

/// Every backend livetel can build: the one place a [`Backend`] meets its module.
pub(crate) const REGISTRY: &[&dyn SinkKind] = &[&local::Kind, &otlp::Kind];

/// The kinds of sink `cfg` records to, among livetel's own ([`REGISTRY`]).
pub(crate) fn kinds_for(cfg: &TelemetryConfig) -> Vec<&'static dyn SinkKind> {
    kinds_in(REGISTRY, cfg)
}

fn kinds_in(registry: &[&'static dyn SinkKind], cfg: &TelemetryConfig) -> Vec<&'static dyn SinkKind> {
    cfg.effective_backends()
        .iter()
        .filter_map(|b| registry.iter().copied().find(|k| k.backend() == b))
        .collect()
}
