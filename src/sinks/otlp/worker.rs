//! The export loop: batch, export with retries and backoff, count every outcome. One loop for every signal
//! (spans, log records): what differs between them is a [`Signal`].
//!
//! The worker thread fills batches from the queue; each batch is exported (with its retries) by a task on the
//! export runtime, and up to [`MAX_IN_FLIGHT`] batches are in flight at once. One batch at a time, its stages
//! (conversion, transform to protobuf, HTTP/2 framing, the collector's decoding, the answer) ran one after
//! another while the other threads waited: on 2 cores the pipeline was latency-bound, not CPU-bound.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

use tokio::runtime::Handle;
use tokio::task::JoinHandle;

use super::signal::Signal;
use super::{Msg, OtlpSettings, OtlpState};
use crate::config::Backend;
use crate::counters::Counters;

/// Attempts per batch before it is given up (counted as dropped and as a failed batch).
const MAX_ATTEMPTS: u32 = 5;
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// How often an attempt in flight checks whether its sink has closed.
const CLOSE_CHECK: Duration = Duration::from_millis(50);
/// How long the worker sleeps when its queue is empty.
const POLL: Duration = Duration::from_millis(2);
/// How long a closing or retiring worker may spend exporting what is left and shutting its exporter down.
pub(super) const SHUTDOWN_LIMIT: Duration = Duration::from_secs(5);
/// A retired worker whose collector keeps accepting batches keeps exporting past [`SHUTDOWN_LIMIT`]: each
/// accepted batch moves its limit to this long after it. A slow collector on a starved machine still gets the
/// backlog; one that stops answering ends it [`SHUTDOWN_LIMIT`] after its last answer at the latest.
const PROGRESS_GRACE: Duration = Duration::from_secs(5);
/// Past this, a retired worker stops whatever its collector does: its thread and queue never outlive it.
const RETIRED_HARD_LIMIT: Duration = Duration::from_secs(60);
/// Batches exported at once.
const MAX_IN_FLIGHT: usize = 2;

pub(super) struct Worker<S: Signal> {
    rx: Receiver<Msg<S::Item>>,
    handle: Handle,
    export: Arc<Export<S>>,
    /// Exports in flight, oldest first, with their batch sizes.
    in_flight: VecDeque<(u64, JoinHandle<()>)>,
    batch_size: usize,
    delay: Duration,
}

/// What an export task needs: shared by the worker and its tasks.
struct Export<S> {
    signal: S,
    counters: Arc<Counters>,
    state: Arc<OtlpState>,
    on_error: Arc<dyn Fn() + Send + Sync>,
    timeout: Duration,
}

/// What a worker shares with the sink and the other workers of its sink.
pub(super) struct Links {
    pub(super) counters: Arc<Counters>,
    pub(super) state: Arc<OtlpState>,
    pub(super) on_error: Arc<dyn Fn() + Send + Sync>,
}

impl<S: Signal> Worker<S> {
    pub(super) fn new(
        signal: S,
        s: &OtlpSettings,
        rx: Receiver<Msg<S::Item>>,
        handle: Handle,
        links: Links,
    ) -> Self {
        Worker {
            rx,
            handle,
            export: Arc::new(Export {
                signal,
                counters: links.counters,
                state: links.state,
                on_error: links.on_error,
                timeout: s.timeout,
            }),
            in_flight: VecDeque::new(),
            batch_size: s.max_export_batch_size,
            delay: s.scheduled_delay,
        }
    }

    pub(super) fn run(mut self) {
        let mut waiting: Vec<mpsc::Sender<()>> = Vec::new();
        let mut batch: Vec<S::Item> = Vec::with_capacity(self.batch_size);
        loop {
            let disconnected = self.fill(&mut batch, &mut waiting);
            if !batch.is_empty() {
                self.start_export(std::mem::take(&mut batch));
                batch.reserve(self.batch_size);
            }
            if !waiting.is_empty() || disconnected {
                self.wait_until_in_flight(0);
            }
            for w in waiting.drain(..) {
                let _ = w.send(());
            }
            if disconnected {
                break;
            }
        }
        let _ = self.export.signal.shutdown(SHUTDOWN_LIMIT);
    }

    /// Hands a batch to an export task, first waiting for room among the batches in flight.
    fn start_export(&mut self, batch: Vec<S::Item>) {
        self.wait_until_in_flight(MAX_IN_FLIGHT - 1);
        let n = batch.len() as u64;
        let export = Arc::clone(&self.export);
        // The first conversion runs here, beside the export runtime's thread, which has the protobuf transform
        // and the HTTP/2 work of every batch in flight.
        let first = export.signal.convert(&batch);
        let task = self.handle.spawn(async move { export.run(batch, first).await });
        self.in_flight.push_back((n, task));
    }

    /// Waits for the oldest exports until at most `max` are in flight. A task that never finished (the export
    /// runtime stopped at process shutdown) has its batch counted as dropped.
    fn wait_until_in_flight(&mut self, max: usize) {
        while self.in_flight.len() > max {
            let Some((n, task)) = self.in_flight.pop_front() else {
                return;
            };
            // The export runtime can be stopping at process shutdown; blocking on it then panics.
            let joined =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.handle.block_on(task)));
            if !matches!(joined, Ok(Ok(()))) {
                self.export
                    .give_up(n, "the export runtime has stopped".to_owned());
            }
        }
    }

    /// Collects up to a batch: polls the queue (never blocking in `recv`, so that a send never has to wake
    /// this thread), and returns when the batch is full, `delay` has passed since its first span, or a flush is
    /// asked for. Returns true when the sink is gone and the queue is empty.
    fn fill(&mut self, batch: &mut Vec<S::Item>, waiting: &mut Vec<mpsc::Sender<()>>) -> bool {
        let mut deadline: Option<Instant> = None;
        loop {
            match self.rx.try_recv() {
                Ok(Msg::Item(r)) => {
                    batch.push(r);
                    deadline.get_or_insert_with(|| Instant::now() + self.delay);
                    if batch.len() >= self.batch_size {
                        return false;
                    }
                }
                Ok(Msg::Flush(reply)) => {
                    waiting.push(reply);
                    return false;
                }
                Err(TryRecvError::Empty) => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return false;
                    }
                    std::thread::sleep(POLL);
                }
                Err(TryRecvError::Disconnected) => return true,
            }
        }
    }
}

impl<S: Signal> Export<S> {
    /// Exports one batch (`first` is its conversion for the first attempt), retrying with backoff; gives up
    /// after [`MAX_ATTEMPTS`] or at the sink's deadline (past it, no attempt is made at all: a closing sink with
    /// a dead collector finishes in bounded time).
    async fn run(&self, batch: Vec<S::Item>, first: S::Batch) {
        let n = batch.len() as u64;
        let mut first = Some(first);
        let mut backoff = FIRST_BACKOFF;
        for attempt in 1..=MAX_ATTEMPTS {
            // Read on every attempt: the sink may close (shutdown, drain timeout) while a batch is retrying.
            let deadline = self.give_up_at();
            if deadline.is_some_and(|d| Instant::now() >= d) {
                let noun = S::NOUN;
                self.note_error(format!("{n} {noun} not exported: the shutdown time limit passed"));
                break;
            }
            // The exporter consumes its input: a retry converts again, which is cheaper than cloning every
            // batch in case one fails.
            let data = first.take().unwrap_or_else(|| self.signal.convert(&batch));
            match self.attempt(data).await {
                Ok(()) => {
                    if let Ok(mut last) = self.state.last_export.lock() {
                        *last = Some(Instant::now());
                    }
                    let f = S::figures(&self.counters, &self.state);
                    // The sink's own figure first: a test that saw the total settle reads it complete.
                    f.exported.fetch_add(n, Ordering::Relaxed);
                    f.total_exported.add(n);
                    f.backend_exported.add(n);
                    return;
                }
                Err(e) => {
                    self.counters.backend(Backend::Otlp).export_errors.add(1);
                    self.note_error(format!(
                        "export of {n} {} failed (attempt {attempt}/{MAX_ATTEMPTS}): {e}",
                        S::NOUN
                    ));
                    let out_of_time = deadline.is_some_and(|d| Instant::now() + backoff >= d);
                    if attempt == MAX_ATTEMPTS || out_of_time {
                        break;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
        self.count_dropped(n);
    }

    /// Counts a batch that will not be exported, and says why.
    fn give_up(&self, n: u64, why: String) {
        self.note_error(format!("{n} {} not exported: {why}", S::NOUN));
        self.count_dropped(n);
    }

    fn count_dropped(&self, n: u64) {
        let f = S::figures(&self.counters, &self.state);
        f.dropped.fetch_add(n, Ordering::Relaxed);
        f.total_dropped.add(n);
        f.backend_dropped.add(n);
        self.state.failed_batches.fetch_add(1, Ordering::Relaxed);
        (self.on_error)();
    }

    /// After this no new attempt starts: the earlier of the closing deadline (shutdown, drain timeout) and the
    /// retirement limit.
    fn give_up_at(&self) -> Option<Instant> {
        self.earliest(retirement_limit)
    }

    /// After this an attempt in flight is abandoned: the closing deadline, and for a retired sink its hard limit
    /// (or, once shutdown began, its shutdown limit). The progress-based retirement limit does not cut an
    /// attempt: an answer that comes within the export timeout is progress.
    fn abort_at(&self) -> Option<Instant> {
        self.earliest(|at, last_export, shutdown_at| match shutdown_at {
            Some(_) => retirement_limit(at, last_export, shutdown_at),
            None => at + RETIRED_HARD_LIMIT,
        })
    }

    /// The earlier of the closing deadline and `retiring(retired_at, last_export, shutdown_at)` for a retired sink.
    fn earliest(
        &self,
        retiring: impl Fn(Instant, Option<Instant>, Option<Instant>) -> Instant,
    ) -> Option<Instant> {
        let closing = self.state.deadline.lock().ok().and_then(|d| *d);
        let retired = self.state.retired_at.lock().ok().and_then(|r| *r);
        let retiring = retired.map(|at| {
            let last_export = self.state.last_export.lock().ok().and_then(|l| *l);
            retiring(at, last_export, self.state.shutting_down.get().copied())
        });
        match (retiring, closing) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    async fn attempt(&self, batch: S::Batch) -> Result<(), String> {
        let mut limit = self.timeout + Duration::from_secs(1);
        if let Some(d) = self.abort_at() {
            limit = limit.min(d.saturating_duration_since(Instant::now()));
        }
        // An attempt in flight also stops when the sink closes (shutdown, drain timeout) or a retired sink's hard
        // or shutdown limit passes: it checks while it waits, so a collector that never answers cannot hold
        // shutdown or a retired worker past its limit.
        let closing = async {
            loop {
                tokio::time::sleep(CLOSE_CHECK).await;
                if self.abort_at().is_some_and(|d| Instant::now() >= d) {
                    return;
                }
            }
        };
        tokio::select! {
            r = tokio::time::timeout(limit, self.signal.export(batch)) => match r {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(e.to_string()),
                Err(_) => Err(format!("no answer within {limit:?}")),
            },
            () = closing => Err("the sink closed while the collector had not answered".to_owned()),
        }
    }

    fn note_error(&self, message: String) {
        if let Ok(mut last) = self.state.last_error.lock() {
            *last = Some(message);
        }
    }
}

/// When a worker retired at `retired_at` stops: [`SHUTDOWN_LIMIT`] after retirement, moved to
/// [`PROGRESS_GRACE`] after each batch the collector accepts, never past [`RETIRED_HARD_LIMIT`]; once shutdown
/// began (`shutdown_at`), [`SHUTDOWN_LIMIT`] after it at the latest, as for the sinks still current.
pub(super) fn retirement_limit(
    retired_at: Instant,
    last_export: Option<Instant>,
    shutdown_at: Option<Instant>,
) -> Instant {
    let plain = retired_at + SHUTDOWN_LIMIT;
    let extended = match last_export {
        Some(last) => plain
            .max(last + PROGRESS_GRACE)
            .min(retired_at + RETIRED_HARD_LIMIT),
        None => plain,
    };
    shutdown_at.map_or(extended, |s| extended.min(s + SHUTDOWN_LIMIT))
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::atomic::AtomicU32;

    use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};

    use super::super::signal::{Figures, Logs};
    use super::*;

    /// A signal whose collector refuses the first `failures` attempts, then takes everything.
    struct Flaky {
        failures: AtomicU32,
        taken: Arc<Mutex<Vec<u64>>>,
    }

    impl Signal for Flaky {
        type Item = u64;
        type Batch = Vec<u64>;
        const NOUN: &'static str = "log records";

        fn convert(&self, items: &[u64]) -> Vec<u64> {
            items.to_vec()
        }

        fn export(&self, batch: Vec<u64>) -> impl Future<Output = OTelSdkResult> + Send {
            let refuse = self
                .failures
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
                .is_ok();
            async move {
                if refuse {
                    return Err(OTelSdkError::InternalFailure("refused".into()));
                }
                self.taken
                    .lock()
                    .map_err(|e| OTelSdkError::InternalFailure(e.to_string()))?
                    .extend(batch);
                Ok(())
            }
        }

        fn shutdown(&self, _timeout: Duration) -> OTelSdkResult {
            Ok(())
        }

        fn figures<'a>(counters: &'a Counters, state: &'a OtlpState) -> Figures<'a> {
            <Logs as Signal>::figures(counters, state)
        }
    }

    /// Runs a worker over `items` with a collector that refuses `failures` attempts, until its queue is gone.
    fn export(items: u64, failures: u32) -> (Arc<Counters>, Arc<OtlpState>, Vec<u64>) {
        let config = crate::config::TelemetryConfig::default();
        let settings = super::super::OtlpSettings::of(&crate::sinks::SinkInput {
            config: &config,
            headers: None,
            session_id: "test",
        });
        let rt = super::super::runtime::ExportRuntime::new().expect("runtime");
        let (counters, state) = (Arc::new(Counters::default()), Arc::new(OtlpState::default()));
        let taken = Arc::new(Mutex::new(Vec::new()));
        let flaky = Flaky {
            failures: AtomicU32::new(failures),
            taken: Arc::clone(&taken),
        };
        let (tx, rx) = mpsc::sync_channel(settings.max_queue_size);
        let links = Links {
            counters: Arc::clone(&counters),
            state: Arc::clone(&state),
            on_error: Arc::new(|| {}),
        };
        let worker = Worker::new(flaky, &settings, rx, rt.handle().clone(), links);
        for i in 0..items {
            assert!(tx.try_send(Msg::Item(i)).is_ok());
        }
        drop(tx);
        worker.run();
        let taken = taken.lock().map(|t| t.clone()).unwrap_or_default();
        (counters, state, taken)
    }

    #[test]
    fn a_signal_retried_after_a_refusal_is_counted_exported_in_its_own_figures() {
        let (counters, state, taken) = export(5, 1);
        assert_eq!(taken, [0, 1, 2, 3, 4]);
        assert_eq!(
            (counters.logs_exported.get(), counters.logs_dropped.get()),
            (5, 0)
        );
        assert_eq!(state.logs_exported.load(Ordering::Relaxed), 5);
        assert_eq!(
            (counters.exported.get(), state.exported.load(Ordering::Relaxed)),
            (0, 0),
            "not spans"
        );
        let error = state.last_error.lock().map(|e| e.clone()).unwrap_or_default();
        assert!(error.is_some_and(|e| e.contains("5 log records failed (attempt 1/5)")));
    }

    #[test]
    fn a_signal_refused_at_every_attempt_is_counted_dropped() {
        let (counters, state, taken) = export(3, MAX_ATTEMPTS);
        assert!(taken.is_empty());
        assert_eq!(
            (counters.logs_exported.get(), counters.logs_dropped.get()),
            (0, 3)
        );
        assert_eq!(state.logs_dropped.load(Ordering::Relaxed), 3);
        assert_eq!(state.failed_batches.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_retired_worker_keeps_going_while_its_collector_answers_within_bounds() {
        let t = Instant::now();
        assert_eq!(retirement_limit(t, None, None), t + SHUTDOWN_LIMIT);
        let answered = t + Duration::from_secs(20);
        assert_eq!(
            retirement_limit(t, Some(answered), None),
            answered + PROGRESS_GRACE
        );
        let late = t + Duration::from_secs(600);
        assert_eq!(retirement_limit(t, Some(late), None), t + RETIRED_HARD_LIMIT);
        // Shutdown gives a worker that is still delivering the current sinks' 5 s, not less.
        let shutdown = t + Duration::from_secs(18);
        let limit = retirement_limit(t, Some(answered), Some(shutdown));
        assert_eq!(limit, shutdown + SHUTDOWN_LIMIT);
        assert_eq!(retirement_limit(t, None, Some(shutdown)), t + SHUTDOWN_LIMIT);
    }
}
