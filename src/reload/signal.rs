//! The reload half of the seam a new signal plugs into (its hot-path half is [`crate::traces::hooks`]).
//!
//! A signal beyond traces, console and logs (metrics is one, in `crate::metrics`; profiling arrives this way next) is one module that
//! implements [`Signal`]: the keys of the config it reads, and how to build its running part — a
//! [`SpanHook`] that the generation holds — off the hot path. The reload path asks it only when the reload's
//! diff touches what it reads; otherwise the running part is carried over as it is, and a signal that failed to
//! build leaves everything running as it was (the reload is rejected at the signal's key).

use std::sync::Arc;

use crate::config::TelemetryConfig;
use crate::counters::Counters;
use crate::metrics::MetricsSignal;
#[cfg(feature = "profiling")]
use crate::profiling::ProfilingSignal;
use crate::sinks::SinkSet;
use crate::status::TelemetryStatus;
use crate::traces::hooks::SpanHook;

/// One signal's reload: its slice of the config, and its running part built from it.
pub(crate) trait Signal: Send + Sync {
    /// Its name: its entry in the activation and in each generation's hooks (`metrics`, `profiling`).
    fn name(&self) -> &'static str;

    /// The dotted keys (relative to `[telemetry]`) it reads; a key stands for everything below it. A reload
    /// whose diff touches none of them leaves the signal's running part untouched.
    fn reads(&self) -> &'static [&'static str];

    /// Builds its running part for `input.config`; `Ok(None)` when the signal is off. May block and may fail;
    /// touches nothing that runs.
    ///
    /// # Errors
    /// What could not be built, and the key concerned.
    fn prepare(&self, input: &SignalInput<'_>) -> Result<Option<Arc<dyn SpanHook>>, SignalError>;

    /// Adds what it has to say to `status`; `running` is its hook in the current generation, if it is on.
    fn report(&self, running: Option<&Arc<dyn SpanHook>>, status: &mut TelemetryStatus) {
        let _ = (running, status);
    }
}

/// What a signal is built from.
#[allow(
    dead_code,
    reason = "metrics reads the config; `sinks` and `running` are for the signals to come (profiling) and the tests' toy signal"
)]
pub(crate) struct SignalInput<'a> {
    pub(crate) config: &'a TelemetryConfig,
    /// The sinks of the generation being built: a signal may ask what they take.
    pub(crate) sinks: &'a SinkSet,
    /// Its running part, if it is on: to reuse what can be kept (a listener, a registry).
    pub(crate) running: Option<&'a Arc<dyn SpanHook>>,
    /// Asks the control loop to publish status again (profiling's process sampler calls it after each sample).
    pub(crate) on_change: &'a Arc<dyn Fn() + Send + Sync>,
}

/// A signal that could not be built.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct SignalError {
    /// The key concerned, relative to `[telemetry]`.
    pub(crate) key: String,
    pub(crate) message: String,
}

/// The signals livetel builds besides traces, console and logs, each a module of its own: metrics (which
/// serves `counters` beside span metrics) and, with the feature `profiling`, profiling (which keeps its figures
/// in `counters`).
pub(crate) fn builtin(counters: &Arc<Counters>) -> Vec<Arc<dyn Signal>> {
    vec![
        Arc::new(MetricsSignal::new(Some(Arc::clone(counters)))),
        #[cfg(feature = "profiling")]
        Arc::new(ProfilingSignal::new(Arc::clone(counters))),
    ]
}

/// The metrics signal ([`crate::metrics`]) in the reload path: the module itself never imports `reload`.
impl Signal for MetricsSignal {
    fn name(&self) -> &'static str {
        MetricsSignal::NAME
    }

    fn reads(&self) -> &'static [&'static str] {
        MetricsSignal::READS
    }

    fn prepare(&self, input: &SignalInput<'_>) -> Result<Option<Arc<dyn SpanHook>>, SignalError> {
        MetricsSignal::prepare(self, input.config).map_err(|e| SignalError {
            key: e.key.to_owned(),
            message: e.message,
        })
    }

    fn report(&self, running: Option<&Arc<dyn SpanHook>>, status: &mut TelemetryStatus) {
        MetricsSignal::report(self, running, status);
    }
}

/// The profiling signal ([`crate::profiling`]) in the reload path: the module itself never imports `reload`.
#[cfg(feature = "profiling")]
impl Signal for ProfilingSignal {
    fn name(&self) -> &'static str {
        ProfilingSignal::NAME
    }

    fn reads(&self) -> &'static [&'static str] {
        ProfilingSignal::READS
    }

    fn prepare(&self, input: &SignalInput<'_>) -> Result<Option<Arc<dyn SpanHook>>, SignalError> {
        ProfilingSignal::prepare(self, input.config, input.sinks, input.on_change).map_err(|e| SignalError {
            key: e.key.to_owned(),
            message: e.message,
        })
    }

    fn report(&self, running: Option<&Arc<dyn SpanHook>>, status: &mut TelemetryStatus) {
        ProfilingSignal::report(self, running, status);
    }
}
