//! The profiling signal's reload half: what it reads of the config, how it builds its hook, and its status.
//! (`crate::reload::signal` plugs it in: this module never imports `reload`.)
//!
//! Every key of `[telemetry.profiling]` is live: a change builds a new [`ProfilingHook`] (the next generation
//! holds it), and the replaced one is dropped with the last generation that holds it — which stops its process
//! sampler thread and, if no other hook counts, the allocator's counting. What it measured is kept in the
//! counters ([`crate::figures`]), so no reload resets it.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use super::hook::ProfilingHook;
use super::system::{Outputs, SystemSampler};
use crate::config::TelemetryConfig;
use crate::counters::Counters;
use crate::sinks::SinkSet;
use crate::status::{ProfilingStatus, TelemetryStatus};
use crate::traces::hooks::SpanHook;

/// Rows of the attribution table status shows.
const STATUS_TOP: usize = 10;

/// The profiling signal.
pub(crate) struct ProfilingSignal {
    counters: Arc<Counters>,
    /// Every hook built, while one lives: status finds the running one among them.
    hooks: Mutex<Vec<Weak<ProfilingHook>>>,
    /// The CPU sampler, while some hook holds it.
    #[cfg(feature = "profiling-pyroscope")]
    pyroscope: super::pyroscope::wiring::Slot,
}

/// The profiling signal could not be built.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub(crate) struct ProfilingError {
    /// The key concerned, relative to `[telemetry]`.
    pub(crate) key: &'static str,
    pub(crate) message: String,
}

impl ProfilingSignal {
    /// Its name, in the activation and in each generation's hooks.
    pub(crate) const NAME: &'static str = "profiling";

    /// The keys it reads: its table, the master switch, and what decides the sinks its process samples are
    /// written to (a new sink set rebuilds the hook, so samples follow the backend).
    pub(crate) const READS: &'static [&'static str] = &[
        "profiling",
        "enabled",
        "backend",
        "local",
        "otlp",
        "logs",
        "vault",
        "service_name",
    ];

    /// The signal, keeping its figures in `counters`.
    pub(crate) fn new(counters: Arc<Counters>) -> ProfilingSignal {
        ProfilingSignal {
            counters,
            hooks: Mutex::new(Vec::new()),
            #[cfg(feature = "profiling-pyroscope")]
            pyroscope: Default::default(),
        }
    }

    /// Its hook for `cfg` (`None` when profiling is off), writing process samples to `sinks` and calling
    /// `on_change` after each (status shows the last).
    ///
    /// # Errors
    /// `profiling.system_metrics_interval_secs` when the sampler thread cannot be started.
    pub(crate) fn prepare(
        &self,
        cfg: &TelemetryConfig,
        sinks: &SinkSet,
        on_change: &Arc<dyn Fn() + Send + Sync>,
    ) -> Result<Option<Arc<dyn SpanHook>>, ProfilingError> {
        let p = &cfg.profiling;
        if !(cfg.enabled && p.any_on()) {
            return Ok(None);
        }
        let system = match p.system_metrics_interval_secs {
            Some(secs) => {
                let out = Outputs {
                    sinks: sinks.clone(),
                    counters: Arc::clone(&self.counters),
                    on_sample: Arc::clone(on_change),
                    service: cfg.service_name.clone(),
                };
                let sampler =
                    SystemSampler::start(Duration::from_secs(secs), out).map_err(|e| ProfilingError {
                        key: "profiling.system_metrics_interval_secs",
                        message: format!("the process sampler's thread could not start: {e}"),
                    })?;
                Some(sampler)
            }
            None => None,
        };
        #[cfg(feature = "profiling-pyroscope")]
        let pyroscope = self.pyroscope.prepare(cfg).map_err(|f| ProfilingError {
            key: f.key,
            message: f.message,
        })?;
        #[cfg_attr(not(feature = "profiling-pyroscope"), allow(unused_mut))]
        let mut hook = ProfilingHook::new(
            p.cpu_time,
            #[cfg(feature = "profiling-alloc")]
            p.alloc.then(super::alloc::Counting::start),
            Arc::clone(&self.counters),
            system,
        );
        #[cfg(feature = "profiling-pyroscope")]
        {
            hook.pyroscope = pyroscope.map(|hold| super::pyroscope::wiring::Pyroscope {
                hold,
                labels: p.span_labels,
            });
        }
        let hook = Arc::new(hook);
        if let Ok(mut hooks) = self.hooks.lock() {
            hooks.retain(|h| h.strong_count() > 0);
            hooks.push(Arc::downgrade(&hook));
        }
        Ok(Some(hook))
    }

    /// Fills `status.profiling` when `running`, the current generation's profiling hook, is one of this
    /// signal's; warns when `alloc` is on but no counting allocator serves the process.
    pub(crate) fn report(&self, running: Option<&Arc<dyn SpanHook>>, status: &mut TelemetryStatus) {
        let Some(running) = running else { return };
        let hook = self.hooks.lock().ok().and_then(|hooks| {
            hooks
                .iter()
                .filter_map(Weak::upgrade)
                .find(|h| std::ptr::addr_eq(Arc::as_ptr(h), Arc::as_ptr(running)))
        });
        let Some(hook) = hook else { return };
        let installed = allocator_installed();
        if hook.counts_alloc() && !installed {
            status.warnings.push(
                "profiling: `alloc = true` but the process's global allocator is not \
                 `livetel::profiling::CountingAllocator`: spans carry no allocation figures"
                    .to_owned(),
            );
        }
        let figures = &self.counters.figures;
        status.profiling = Some(ProfilingStatus {
            alloc: hook.counts_alloc(),
            allocator_installed: installed,
            cpu_time: hook.cpu_time,
            system_metrics_interval_secs: hook.system.as_ref().map(|s| s.interval.as_secs()),
            system_samples: figures.process.taken(),
            process: figures.process.last(),
            top: figures.attribution.rows(Some(STATUS_TOP)),
            channels: figures.channels.counts(),
            #[cfg(feature = "profiling-pyroscope")]
            pyroscope: hook.pyroscope.as_ref().map(|p| p.hold.stats()),
        });
    }
}

fn allocator_installed() -> bool {
    #[cfg(feature = "profiling-alloc")]
    return super::alloc::allocator_installed();
    #[cfg(not(feature = "profiling-alloc"))]
    false
}
