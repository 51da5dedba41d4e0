//! The sampler as the profiling signal runs it: one per process, held by the hooks of every generation whose
//! `[telemetry.profiling]` names a `pyroscope_endpoint`. The first such hook starts it, each later reload
//! re-sets it live (endpoint, rate, labels, headers: [`Sampler::update`]), and it stops — SIGPROF given back —
//! when the last hook that holds it is dropped with its generation (on livetel's control thread, where hooks
//! are also prepared, so a stop and a start never overlap).
//!
//! The headers come from the vault secret `pyroscope_headers_vault_key`, read at every reload that touches the
//! profiling table or the vault (a rotated secret goes live at the next reload).

use std::sync::{Arc, Mutex, Weak};

use super::{Sampler, Settings, SpanLabels, Stats};
use crate::config::TelemetryConfig;

/// What failed, and the key (relative to `[telemetry]`) it concerns.
pub(crate) struct Failed {
    pub(crate) key: &'static str,
    pub(crate) message: String,
}

/// The running sampler; stopped when the last holder drops it.
pub(crate) struct Hold {
    sampler: Sampler,
}

impl Hold {
    /// Its counters.
    pub(crate) fn stats(&self) -> Stats {
        self.sampler.stats()
    }
}

/// Where the profiling signal finds the running sampler.
#[derive(Default)]
pub(crate) struct Slot(Mutex<Weak<Hold>>);

impl Slot {
    /// The sampler `cfg` asks for, started or re-set; `None` when it names no endpoint.
    pub(crate) fn prepare(&self, cfg: &TelemetryConfig) -> Result<Option<Arc<Hold>>, Failed> {
        let Some(settings) = settings(cfg)? else {
            return Ok(None);
        };
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let failed = |e: super::ProfilingError| Failed {
            key: "profiling.pyroscope_endpoint",
            message: e.to_string(),
        };
        if let Some(hold) = slot.upgrade() {
            hold.sampler.update(settings).map_err(failed)?;
            return Ok(Some(hold));
        }
        let hold = Arc::new(Hold {
            sampler: Sampler::start(settings).map_err(failed)?,
        });
        *slot = Arc::downgrade(&hold);
        Ok(Some(hold))
    }
}

fn settings(cfg: &TelemetryConfig) -> Result<Option<Settings>, Failed> {
    let p = &cfg.profiling;
    let Some(endpoint) = &p.pyroscope_endpoint else {
        return Ok(None);
    };
    let mut s = Settings::new(endpoint.clone(), cfg.service_name.clone());
    s.sample_hz = p.pyroscope_sample_hz;
    s.span_labels = p.span_labels;
    if let Some(key) = &p.pyroscope_headers_vault_key {
        let request = crate::vault::Request {
            vault: &cfg.vault,
            key,
            required: true,
        };
        let resolved = crate::vault::resolve(&request).map_err(|message| Failed {
            key: "profiling.pyroscope_headers_vault_key",
            message,
        })?;
        if let Some(headers) = resolved.headers {
            s.headers = headers
                .expose()
                .map(|(k, v)| (k.to_owned(), v.to_owned().into()))
                .collect();
        }
    }
    Ok(Some(s))
}

/// What a profiling hook holds of the sampler: the sampler itself and its generation's label mode.
pub(crate) struct Pyroscope {
    pub(crate) hold: Arc<Hold>,
    pub(crate) labels: SpanLabels,
}

impl Pyroscope {
    /// True when this generation's spans label the samples taken while they are entered.
    pub(crate) fn labels_spans(&self) -> bool {
        self.labels != SpanLabels::None
    }
}
