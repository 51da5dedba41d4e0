//! The export worker: a thread of its own (a current-thread Tokio runtime on it, never the application's), one
//! request at a time, every `export_interval_ms`.
//!
//! An export that the collector refuses is retried [`MAX_ATTEMPTS`] times with backoff, then given up: its
//! points count as dropped and the export as failed (`livetel.metrics.points_dropped`,
//! `livetel.metrics.exports_failed`, status `metrics.otlp`). An export cut short (by a stop, or the final export's
//! time limit) is counted the same way. Only one request is ever built or in flight, so memory stays bounded
//! whatever the collector does, and the application's threads never wait for it: they only count into the
//! store.
//!
//! **One exporter at a time.** A reload that changes what an exporter is built from (endpoint, protocol,
//! headers, interval, temporality, resource) makes a new one; the one it replaces lives on while its generation
//! drains. Exporters are numbered as they are made, and one that sees a newer one alive stops exporting, so the
//! collector gets one stream; the delta baseline is shared and held through each export, so no increment is sent
//! twice or lost. An exporter made by a reload that was then rejected is dropped before its first tick.
//!
//! **Stop.** Dropping the [`Exporter`] (with the last generation holding its hook, on the control thread, or at
//! shutdown) stops its thread: an export in flight is cut, then, if it ever ran in the current generation (the
//! signal marks it when status is published after its activation: one made by a reload that was then rejected
//! never is) and no newer exporter took over, one final export is tried within [`FINAL_LIMIT`]; the thread is
//! joined.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::oneshot;

use super::points::{self, Inputs};
use super::transport::Transport;
use super::{Settings, Shared};
use crate::metrics::store::Store;

/// Attempts per export before it is given up.
const MAX_ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// The time the final export (at stop) may take, answer included.
pub(super) const FINAL_LIMIT: Duration = Duration::from_secs(2);

/// A running export worker; stopped (and joined) when dropped.
pub(crate) struct Exporter {
    pub(crate) settings: Settings,
    seq: u64,
    shared: Arc<Shared>,
    /// Set once its hook ran in the current generation.
    running: Arc<AtomicBool>,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// What the worker thread owns.
struct Worker {
    settings: Settings,
    seq: u64,
    shared: Arc<Shared>,
    store: Arc<Store>,
    transport: Transport,
    running: Arc<AtomicBool>,
}

impl Exporter {
    /// Starts exporting `store` (and livetel's own counters) as `settings` say.
    ///
    /// # Errors
    /// A transport that cannot be made (a bad URL or header), a runtime or thread that cannot start.
    pub(crate) fn start(
        settings: Settings,
        store: Arc<Store>,
        shared: Arc<Shared>,
    ) -> Result<Exporter, String> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the metrics export runtime: {e}"))?;
        let transport = {
            let _enter = rt.enter();
            Transport::new(&settings)?
        };
        let seq = shared.next_seq.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut alive) = shared.alive.lock() {
            alive.insert(seq);
        }
        let (stop, stopped) = oneshot::channel();
        let running = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            running: Arc::clone(&running),
            settings: settings.clone(),
            seq,
            shared: Arc::clone(&shared),
            store,
            transport,
        };
        let thread = std::thread::Builder::new()
            .name("livetel-metrics-otlp".into())
            .spawn(move || {
                crate::threads::mark_untraced();
                rt.block_on(worker.run(stopped));
            });
        let thread = match thread {
            Ok(t) => t,
            Err(e) => {
                shared.forget(seq);
                return Err(format!("cannot start the metrics export thread: {e}"));
            }
        };
        Ok(Exporter {
            settings,
            seq,
            shared,
            running,
            stop: Mutex::new(Some(stop)),
            thread: Mutex::new(Some(thread)),
        })
    }
}

impl Exporter {
    /// Marks it as the exporter of the current generation: it makes a final export when it stops.
    pub(crate) fn mark_running(&self) {
        self.running.store(true, Ordering::Relaxed);
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.lock().ok().and_then(|mut s| s.take()) {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = thread.join();
        }
        self.shared.forget(self.seq);
    }
}

impl Worker {
    async fn run(self, mut stopped: oneshot::Receiver<()>) {
        loop {
            tokio::select! {
                () = tokio::time::sleep(self.settings.interval) => {}
                _ = &mut stopped => break,
            }
            if self.shared.superseded(self.seq) {
                continue;
            }
            tokio::select! {
                () = self.export(MAX_ATTEMPTS) => {}
                _ = &mut stopped => break,
            }
        }
        if self.running.load(Ordering::Relaxed) && !self.shared.superseded(self.seq) {
            let _ = tokio::time::timeout(FINAL_LIMIT, self.export(1)).await;
        }
    }

    /// One export: built now, sent with up to `attempts` attempts; the baseline moves only when it is accepted.
    async fn export(&self, attempts: u32) {
        let mut accepted = self.shared.baseline.lock().await;
        let inputs = Inputs {
            store: &self.store,
            counters: &self.shared.counters,
            resource: &self.settings.resource,
            span_labels: &self.settings.span_labels,
            temporality: self.settings.temporality,
            start_ns: self.shared.start_ns,
            now_ns: points::unix_now_ns(),
        };
        let built = points::build(&inputs, &accepted);
        let mut pending = Pending {
            shared: &self.shared,
            points: built.points,
            done: false,
        };
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=attempts {
            match self.transport.send(&built.request).await {
                Ok(()) => {
                    *accepted = built.next;
                    pending.accepted();
                    return;
                }
                Err(e) => {
                    self.shared.note_error(Some(format!(
                        "metrics export failed (attempt {attempt}/{attempts}): {e}"
                    )));
                    if attempt < attempts {
                        tokio::time::sleep(backoff).await;
                        backoff *= 2;
                    }
                }
            }
        }
    }
}

/// An export's points until the collector accepts them: dropped when given up or cut short.
struct Pending<'a> {
    shared: &'a Shared,
    points: u64,
    done: bool,
}

impl Pending<'_> {
    fn accepted(&mut self) {
        let c = &self.shared.counters.metrics_export;
        c.points_exported.add(self.points);
        c.exports_ok.add(1);
        self.shared.note_error(None);
        self.done = true;
    }
}

impl Drop for Pending<'_> {
    fn drop(&mut self) {
        if !self.done {
            let c = &self.shared.counters.metrics_export;
            c.points_dropped.add(self.points);
            c.exports_failed.add(1);
        }
    }
}
