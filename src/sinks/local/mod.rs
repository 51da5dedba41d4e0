//! The `local` backend: Chrome trace JSON (the "JSON Array Format"), which Perfetto and `chrome://tracing` open.
//!
//! Why not `tracing-chrome`: its per-thread channel sender is shared by every `ChromeLayer` of the process, so a
//! layer built after a flip gets nothing from threads that already wrote; its writer thread `unwrap`s write
//! errors (a full disk kills it silently); and its file is valid JSON only once its guard drops. This writer
//! keeps one channel per file, reports I/O errors in status, and leaves the file valid JSON after every batch:
//! each batch is written in one `pwrite` that ends with `\n]`, and the next batch starts by overwriting that
//! bracket. A process killed at any moment leaves a file that loads, up to its last batch.
//!
//! Spans are written as complete (`"ph":"X"`) events when they close, so a file never holds an end without its
//! begin, however a flip cuts through a trace. Events arrive as log records ([`super::Item::Log`]) and are written
//! as instant events (`"ph":"i"`, thread scope, fields in `args`), inside a span or not.
//!
//! Each event is written once: this sink takes logs and no instants ([`Sink::takes`]), so the instant path skips
//! it, and its writer leaves
//! out the events a span record carries (those are for OTLP span events; the same events reach this sink as log
//! records when `[telemetry.logs]` takes them). So the file holds the events the logs filter takes, while this
//! sink belongs to the current generation: with `[telemetry.logs] enabled = false`, or a logs filter narrower
//! than the traces', the file has spans without (those) events — the config's choice, not a loss.

mod files;
mod writer;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::{BuildError, Item, LogRecord, Record, Sink, SinkContext, SinkInput, SinkKind, Takes};
use crate::config::Backend;
use crate::counters::Counters;
use crate::status::{SinkState, SinkStatus};
use files::Files;
use writer::{SendTimeout, Writer};

/// Records a file's queue holds before new ones are dropped (and counted): about 3 MiB of queue.
const QUEUE_CAPACITY: usize = 32 * 1024;

/// What the control thread learns about a sink: its last error and its log figures.
#[derive(Debug, Default)]
struct WriterState {
    /// The file being written (the next one after a rotation).
    pub(crate) path: Mutex<PathBuf>,
    pub(crate) last_error: Mutex<Option<String>>,
    pub(crate) logs_exported: AtomicU64,
    pub(crate) logs_dropped: AtomicU64,
}

/// What travels to the writer thread.
// Records travel by value through a preallocated bounded queue; boxing them would allocate per span.
#[allow(clippy::large_enum_variant)]
pub(super) enum Msg {
    Record(Record),
    /// An event, written as an instant.
    Log(LogRecord),
    /// Answered once everything queued before it is written.
    Flush(mpsc::Sender<()>),
}

/// A Chrome trace file and the thread that writes it.
pub(crate) struct LocalSink {
    tx: SyncSender<Msg>,
    closed: AtomicBool,
    state: Arc<WriterState>,
    done: Mutex<Option<Receiver<()>>>,
    shutdown_timeout: Duration,
}

/// What a sink is built from.
struct LocalSettings {
    dir: PathBuf,
    session_id: String,
    service_name: String,
    max_file_mb: u64,
    max_files: u32,
}

impl LocalSettings {
    fn of(input: &SinkInput<'_>) -> Self {
        LocalSettings {
            dir: input.config.local.trace_dir.clone(),
            session_id: input.session_id.to_owned(),
            service_name: input.config.service_name.clone(),
            max_file_mb: input.config.local.max_file_mb,
            max_files: input.config.local.max_files,
        }
    }
}

/// Builds [`LocalSink`]s: `backend = "local"`.
pub(crate) struct Kind;

impl SinkKind for Kind {
    fn backend(&self) -> Backend {
        Backend::Local
    }

    /// Its directory and the service name in the file's metadata (the session id never changes).
    fn reads(&self) -> &'static [&'static str] {
        &["local", "service_name"]
    }

    fn build(&self, input: &SinkInput<'_>, cx: &SinkContext) -> Result<Arc<dyn Sink>, BuildError> {
        let settings = LocalSettings::of(input);
        LocalSink::create(settings, Arc::clone(&cx.counters), Arc::clone(&cx.on_change))
            .map(|s| Arc::new(s) as Arc<dyn Sink>)
            .map_err(|e| BuildError {
                key: "local.trace_dir",
                message: format!(
                    "cannot create a trace file in {}: {e}",
                    input.config.local.trace_dir.display()
                ),
            })
    }
}

impl LocalSink {
    /// Creates `dir` if needed and a new file `{session_id}_{timestamp}.json` in it, and starts its writer.
    fn create(
        settings: LocalSettings,
        counters: Arc<Counters>,
        on_error: Arc<dyn Fn() + Send + Sync>,
    ) -> std::io::Result<Self> {
        let opened = Files::open(
            &settings.dir,
            &settings.session_id,
            settings.max_file_mb,
            settings.max_files,
        )?;
        let (tx, rx) = mpsc::sync_channel(QUEUE_CAPACITY);
        let (done_tx, done_rx) = mpsc::channel();
        let state = Arc::new(WriterState {
            path: Mutex::new(opened.0.current().to_owned()),
            ..WriterState::default()
        });
        let mut writer = Writer::new(
            opened,
            &settings.service_name,
            rx,
            counters,
            Arc::clone(&state),
            on_error,
        );
        writer.start()?;
        std::thread::Builder::new()
            .name("livetel-local".into())
            .spawn(move || {
                crate::threads::mark_untraced();
                writer.run();
                let _ = done_tx.send(());
            })?;
        Ok(LocalSink {
            tx,
            closed: AtomicBool::new(false),
            state,
            done: Mutex::new(Some(done_rx)),
            shutdown_timeout: Duration::from_secs(5),
        })
    }

    fn last_error(&self) -> Option<String> {
        self.state.last_error.lock().ok()?.clone()
    }
}

impl Sink for LocalSink {
    fn backend(&self) -> Backend {
        Backend::Local
    }

    /// Spans, and events as log records (written as instants): never instants of their own, so no event is
    /// written twice.
    fn takes(&self) -> Takes {
        Takes::SPANS.and(Takes::LOGS)
    }

    /// Queues the item without blocking; a span or log record that cannot be queued is counted as dropped.
    #[inline]
    fn send(&self, item: Item, counters: &Counters) {
        let closed = self.is_closed();
        match item {
            Item::Span(record) => {
                if !super::try_queue(&self.tx, closed, Msg::Record(record)) {
                    counters.spans_dropped(Backend::Local, 1);
                }
            }
            // Not in `takes` (events come as log records), but the writer can write one: nothing is lost.
            Item::Instant(record) => drop(super::try_queue(&self.tx, closed, Msg::Record(record))),
            Item::Log(record) => {
                if !super::try_queue(&self.tx, closed, Msg::Log(record)) {
                    self.state.logs_dropped.fetch_add(1, Ordering::Relaxed);
                    counters.logs_dropped(Backend::Local, 1);
                }
            }
        }
    }

    /// Waits, until `deadline` at the latest, for everything queued so far to be written.
    fn flush(&self, deadline: Instant) {
        let (tx, rx) = mpsc::channel();
        let timeout = deadline.saturating_duration_since(Instant::now());
        let sent = self.tx.send_timeout_compat(Msg::Flush(tx), timeout);
        if sent {
            let _ = rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
        }
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }

    #[inline]
    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Relaxed)
    }

    fn status(&self, generation: u64, state: SinkState) -> SinkStatus {
        SinkStatus {
            backend: Backend::Local.as_str(),
            generation,
            state: super::shown_state(self.is_closed(), state),
            trace_file: self.state.path.lock().ok().map(|p| p.clone()),
            error: self.last_error(),
            logs_exported: self.state.logs_exported.load(Ordering::Relaxed),
            logs_dropped: self.state.logs_dropped.load(Ordering::Relaxed),
            otlp: None,
        }
    }
}

impl Drop for LocalSink {
    /// Dropping the sender lets the writer drain what is queued and stop; wait for it, within a time limit.
    fn drop(&mut self) {
        let done = self.done.lock().ok().and_then(|mut d| d.take());
        // `self.tx` is dropped after this body; drop a clone-free handle first by swapping in a dead channel.
        let (dead, _) = mpsc::sync_channel(0);
        drop(std::mem::replace(&mut self.tx, dead));
        // A closed sink was flushed when it closed (drain timeout, shutdown); it may be dropped by the last span
        // on an app thread, which must not wait here.
        if let Some(done) = done.filter(|_| !self.is_closed()) {
            let _ = done.recv_timeout(self.shutdown_timeout);
        }
    }
}
