//! The reload stacks' side of the swaps figure: `tracing_subscriber::reload` swapping in a new tracing-chrome
//! layer (a new file) or a new tracing-opentelemetry layer (a new provider) through `Handle::modify`, each a
//! [`Swapped`] stack that [`crate::swaps::run`] measures as it measures livetel's flips.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry::Value;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use tracing::Dispatch;
use tracing::dispatcher::with_default;
use tracing_chrome::{ChromeLayer, FlushGuard};
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::reload;

use crate::stacks::{Base, OtelLayer, chrome_layer, otel_layer, reloadable, sdk_provider};
use crate::swaps::{Arrived, Swapped, read_chrome_dir};

/// What the recording exporters received, as (output, tree `i`, span name).
type Log = Arc<Mutex<Vec<(u64, u64, String)>>>;

/// When the reload stacks retire a replaced output.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Retire {
    /// Every output lives to the end of the run (then guards are dropped, providers shut down).
    AtEnd,
    /// At its swap, as a service that rotates files or providers must (drop the FlushGuard to finish the file,
    /// shut the provider down to flush it).
    AtSwap,
}

/// Swaps the layer behind `handle` for `new` with `Handle::modify`, and returns the one it replaced, to be
/// dropped after the write lock is released (`Handle::reload` drops it inside the lock, where a drop that
/// emits a tracing event deadlocks).
///
/// The swap runs with `dispatch` as this thread's default, as it is in a service whose reload stack is the
/// global subscriber. `modify` rebuilds the callsite interest cache, and while only one dispatcher is registered
/// tracing-core rebuilds it against the *calling thread's* default: swapping from a thread whose default is
/// another (or no) subscriber disables every callsite for every thread (all spans after the first swap were
/// lost that way in a first run of this bench).
fn replace<L>(handle: &reload::Handle<L, Base>, dispatch: &Dispatch, new: L) -> Result<L, String> {
    let mut old = None;
    with_default(dispatch, || {
        handle.modify(|l| old = Some(std::mem::replace(l, new)))
    })
    .map_err(|e| e.to_string())?;
    old.ok_or_else(|| "modify did not run".to_owned())
}

/// Registry + EnvFilter + `reload::Layer<ChromeLayer>`; swap `k` builds a ChromeLayer writing `swap-{k}.json`.
pub struct ChromeSwaps {
    dir: tempfile::TempDir,
    dispatch: Dispatch,
    handle: reload::Handle<ChromeLayer<Base>, Base>,
    guards: Vec<FlushGuard>,
    retire: Retire,
}

impl ChromeSwaps {
    pub fn start(retire: Retire) -> ChromeSwaps {
        let dir = tempfile::tempdir().expect("temp dir");
        let (layer, guard) = chrome_layer(&dir.path().join("swap-0.json"));
        let (dispatch, handle) = reloadable(layer);
        ChromeSwaps {
            dir,
            dispatch,
            handle,
            guards: vec![guard],
            retire,
        }
    }
}

impl Swapped for ChromeSwaps {
    fn dispatch(&self) -> Dispatch {
        self.dispatch.clone()
    }

    fn swap(&mut self, k: u64) -> Result<(), String> {
        let (layer, guard) = chrome_layer(&self.dir.path().join(format!("swap-{k}.json")));
        drop(replace(&self.handle, &self.dispatch, layer)?);
        if self.retire == Retire::AtSwap {
            drop(self.guards.pop());
        }
        self.guards.push(guard);
        Ok(())
    }

    fn finish(self) -> (Arrived, u64) {
        drop(self.guards);
        read_chrome_dir(self.dir.path(), |_, file| {
            file.file_stem()?.to_str()?.strip_prefix("swap-")?.parse().ok()
        })
    }
}

/// Registry + EnvFilter + `reload::Layer<OpenTelemetryLayer>`; swap `k` builds a provider (the batch processor
/// over an in-process exporter that records what it receives as output `k`) and a layer over its tracer. The
/// queue holds 65,536 spans, so the processor drops nothing at this rate: what is missing, the swaps lost.
pub struct OtelSwaps {
    dispatch: Dispatch,
    handle: reload::Handle<OtelLayer, Base>,
    providers: Vec<SdkTracerProvider>,
    log: Log,
    retire: Retire,
}

impl OtelSwaps {
    pub fn start(retire: Retire) -> OtelSwaps {
        let log = Arc::default();
        let provider = recording_provider(0, &log);
        let (dispatch, handle) = reloadable(otel_layer(&provider));
        OtelSwaps {
            dispatch,
            handle,
            providers: vec![provider],
            log,
            retire,
        }
    }

    /// Whether `OpenTelemetrySpanExt::context` finds a span's OpenTelemetry context through this stack (it
    /// finds the layer by downcasting, which `reload` does not pass on).
    pub fn context_found(&self) -> bool {
        context_found(&self.dispatch)
    }
}

/// Whether `OpenTelemetrySpanExt::context` gives a valid span context for a new span under `d`.
pub fn context_found(d: &Dispatch) -> bool {
    with_default(d, || {
        let span = tracing::info_span!("p1.root");
        span.context().span().span_context().is_valid()
    })
}

impl Swapped for OtelSwaps {
    fn dispatch(&self) -> Dispatch {
        self.dispatch.clone()
    }

    fn swap(&mut self, k: u64) -> Result<(), String> {
        let provider = recording_provider(k, &self.log);
        drop(replace(&self.handle, &self.dispatch, otel_layer(&provider))?);
        if self.retire == Retire::AtSwap
            && let Some(old) = self.providers.pop()
        {
            let _ = old.shutdown_with_timeout(Duration::from_secs(1));
        }
        self.providers.push(provider);
        Ok(())
    }

    fn finish(self) -> (Arrived, u64) {
        drop(self.dispatch);
        for p in &self.providers {
            let _ = p.shutdown_with_timeout(Duration::from_secs(5));
        }
        let log = std::mem::take(&mut *self.log.lock().expect("recording log"));
        let mut arrived = Arrived::new();
        for (output, i, name) in log {
            arrived.entry(i).or_default().push((output, name));
        }
        (arrived, 0)
    }
}

/// A provider with the batch processor (queue 65,536, batch 512, 20 ms) over a [`Recording`] exporter.
fn recording_provider(output: u64, log: &Log) -> SdkTracerProvider {
    let exporter = Recording {
        output,
        log: Arc::clone(log),
    };
    sdk_provider(exporter, 65_536, 512)
}

/// An exporter that records (output, tree `i`, span name) for each span it receives.
#[derive(Debug)]
struct Recording {
    output: u64,
    log: Log,
}

impl SpanExporter for Recording {
    fn export(&self, batch: Vec<SpanData>) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        if let Ok(mut log) = self.log.lock() {
            log.extend(
                batch
                    .iter()
                    .filter_map(|s| Some((self.output, tree_of(s)?, s.name.to_string()))),
            );
        }
        std::future::ready(Ok(()))
    }
}

/// The span's field `i` (tracing-opentelemetry 0.34 records a `u64` field as a string attribute).
fn tree_of(s: &SpanData) -> Option<u64> {
    s.attributes
        .iter()
        .find(|kv| kv.key.as_str() == "i")
        .and_then(|kv| match &kv.value {
            Value::I64(v) => u64::try_from(*v).ok(),
            Value::String(v) => v.as_str().parse().ok(),
            _ => None,
        })
}
