//! CPU profiles with span labels, pushed to Pyroscope (feature `profiling-pyroscope`, Linux x86_64/aarch64).
//!
//! A SIGPROF sampler of livetel's own: every `1/hz` of process CPU time the kernel interrupts a running
//! thread; the handler unwinds that thread's stack, reads the thread's span label slot and writes both into a
//! preallocated ring. A thread of its own drains the ring, counts samples per (stack, label), and every
//! interval (10 s by default) symbolizes them, encodes a pprof profile and hands it to a push thread, which
//! POSTs it to `{endpoint}/ingest?name=APP{}&from=&until=&format=pprof&sampleRate=HZ`.
//!
//! Samples carry `span_name` (the span entered on the thread when the sample was taken) and, with
//! [`SpanLabels::NameAndId`], `span_id` and `trace_id` (16 and 32 hex digits) — the label names Pyroscope's
//! span profiles use. A span links to its profile by the attribute `pyroscope.profile.id` =
//! [`labels::profile_id`] of its span id (otel-profiling-java, pyroscope-go's otelpyroscope).
//!
//! # Why a sampler of our own
//!
//! - pyroscope-rs 2.x tags through `add_thread_tag`/`tag_wrapper`, which call `dump_report()` on every tag
//!   change: far more than a span costs. Its backend is pprof-rs.
//! - pprof-rs's `ProfilerGuard` owns the SIGPROF handler and hands `Profiler::sample` only the frames, the
//!   thread name and id: there is no hook to read a per-thread slot *at sample time*, and its frames
//!   post-processor runs at report time, when the span is long gone. Its profile.proto types (prost,
//!   pre-generated) are used here for the encoding.
//! - So: otel-profiling-java's model. A per-thread label slot written on span enter/exit ([`labels`]), read
//!   by our handler; framehop (the unwinder samply uses, kept) unwinds from `.eh_frame` without frame pointers.
//!
//! # Signal safety
//!
//! The handler ([`signal`]) does only this, none of which allocates, locks or calls a non-reentrant function:
//! atomics on an `AtomicPtr`-published state that outlives every handler (stop clears the pointer and waits for
//! an in-flight count to reach zero before freeing); a read of a `const` thread-local of atomics (no lazy
//! initialization, no destructor; a sequence number detects a write it interrupted); framehop's `iter_frames`
//! with `MustNotAllocateDuringUnwind` on module tables built before the handler was installed and a cache taken
//! from a pool by compare-and-swap; stack reads checked page by page with `write(2)` to a pipe (EFAULT instead of
//! a fault on an unreadable page); one ring cell claimed by compare-and-swap. (framehop's own docs: "The actual
//! unwinding does not require any heap allocation and should work even inside a signal handler, as long as you
//! use `MustNotAllocateDuringUnwind`"; its gimli unwind context is then stored inline, allocated with the cache.) The `backtrace` crate's unwinder
//! (libgcc's `_Unwind_Backtrace`) was not used: it takes the `dl_iterate_phdr` lock and may allocate, the
//! deadlocks pprof-rs and TiKV hit. Symbolization, encoding and HTTP run on livetel's own threads.
//!
//! # Limits
//!
//! One sampler per process. SIGPROF must be free: if another handler is installed, [`Sampler::start`] refuses
//! ([`ProfilingError::SignalInUse`]) rather than take it. Modules loaded after start unwind by frame pointer.
//! The slot follows OS threads: a task that moves between threads carries its label only while entered.
//! The handler is installed with `SA_RESTART`; a raw system call that does not restart (`nanosleep`, `poll`)
//! may see `EINTR` while sampling runs, as under any SIGPROF profiler. Symbolization reads the binary's debug
//! info on the sampler thread the first time (memory: the `backtrace` crate's cache, kept for the process).
//! [`LabelLayer`] labels with tracing's span id; livetel's own span hook labels with the OpenTelemetry span and
//! trace ids.
//!
//! # Examples
//!
//! ```no_run
//! use livetel::profiling::pyroscope::{Sampler, Settings};
//! let sampler = Sampler::start(Settings::new("http://127.0.0.1:4040", "my-app"))?;
//! // ... spans entered through `LabelLayer` (or `labels::enter`) label the samples ...
//! let stats = sampler.stop()?;
//! println!("{} samples pushed", stats.samples_pushed);
//! # Ok::<(), livetel::profiling::pyroscope::ProfilingError>(())
//! ```

#[cfg(not(target_os = "linux"))]
compile_error!("feature `profiling-pyroscope` supports Linux only");

pub mod labels;
mod layer;
mod profile;
mod push;
mod ring;
mod sample;
pub mod signal;
mod stats;
mod symbols;
mod unwind;
pub(crate) mod wiring;
mod worker;

use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use arc_swap::ArcSwap;
use secrecy::SecretString;

pub use crate::config::SpanLabels;
pub use layer::LabelLayer;
pub(crate) use stats::Counters;
pub use stats::Stats;

/// What the sampler does; every field can change while it runs ([`Sampler::update`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// Pyroscope's base URL, e.g. `http://127.0.0.1:4040`.
    pub endpoint: String,
    /// The application name (`name=` of `/ingest`).
    pub app_name: String,
    /// Samples per CPU-second (default 100); 0 pauses sampling.
    pub sample_hz: u32,
    /// Labels on each sample.
    pub span_labels: SpanLabels,
    /// One profile is pushed per interval (default 10 s).
    pub interval: Duration,
    /// Headers sent with every push (`Authorization: Bearer ...`, `X-Scope-OrgID`), from the vault.
    pub headers: Vec<(String, SecretString)>,
    /// Time limit of one push (default 5 s).
    pub push_timeout: Duration,
}

impl Settings {
    /// Defaults: 100 Hz, span names, 10 s intervals, no headers, 5 s push timeout.
    pub fn new(endpoint: impl Into<String>, app_name: impl Into<String>) -> Settings {
        Settings {
            endpoint: endpoint.into(),
            app_name: app_name.into(),
            sample_hz: 100,
            span_labels: SpanLabels::Name,
            interval: Duration::from_secs(10),
            headers: Vec::new(),
            push_timeout: Duration::from_secs(5),
        }
    }

    fn check(&self) -> Result<(), ProfilingError> {
        if !(self.endpoint.starts_with("http://") || self.endpoint.starts_with("https://")) {
            return Err(ProfilingError::Settings(format!(
                "endpoint `{}` is not an http(s) URL",
                self.endpoint
            )));
        }
        if self.sample_hz > 1000 {
            return Err(ProfilingError::Settings(format!(
                "sample_hz {} is above 1000",
                self.sample_hz
            )));
        }
        if self.interval < Duration::from_millis(100) {
            return Err(ProfilingError::Settings("interval is below 100 ms".into()));
        }
        Ok(())
    }
}

/// What can fail when the sampler starts, changes or stops.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfilingError {
    /// A setting is out of range.
    #[error("profiling settings: {0}")]
    Settings(String),
    /// A sampler already runs in this process.
    #[error("a CPU sampler already runs in this process")]
    AlreadyRunning,
    /// SIGPROF has a handler that is not livetel's (another profiler); livetel does not take it.
    #[error("SIGPROF already has a handler (another profiler?); livetel does not replace it")]
    SignalInUse,
    /// sigaction failed.
    #[error("SIGPROF sigaction: {0}")]
    Signal(std::io::Error),
    /// The CPU-time timer could not be created or set.
    #[error("CPU-time timer: {0}")]
    Timer(std::io::Error),
    /// A thread, the ring or the unwinder's tables could not be made.
    #[error("profiler start-up: {0}")]
    Io(#[from] std::io::Error),
}

/// A running sampler. Stop it with [`Sampler::stop`]; dropping it stops it too.
pub struct Sampler {
    running: Option<Running>,
    settings: Arc<ArcSwap<Settings>>,
    counters: Arc<Counters>,
    shared: Arc<sample::Shared>,
}

struct Running {
    installed: signal::Installed,
    stop: mpsc::Sender<()>,
    worker: JoinHandle<()>,
    pusher: JoinHandle<()>,
}

impl Sampler {
    /// Maps the modules, installs the SIGPROF handler and the timer, starts the two threads.
    ///
    /// # Errors
    ///
    /// Bad settings, a sampler already running, SIGPROF taken by someone else, or a failed system call.
    pub fn start(settings: Settings) -> Result<Sampler, ProfilingError> {
        settings.check()?;
        let hz = settings.sample_hz;
        let shared = Arc::new(sample::Shared::new()?);
        let settings = Arc::new(ArcSwap::from_pointee(settings));
        let counters = Arc::new(Counters::default());
        let installed = signal::Installed::install(Arc::clone(&shared))?;
        let (queue_tx, queue_rx) = mpsc::sync_channel(push::QUEUE);
        let (stop, stop_rx) = mpsc::channel();
        let worker = worker::Worker {
            shared: Arc::clone(&shared),
            settings: Arc::clone(&settings),
            counters: Arc::clone(&counters),
            queue: queue_tx,
        };
        let threads = spawn(worker, stop_rx, queue_rx, &settings, &counters);
        let (worker, pusher) = match threads {
            Ok(t) => t,
            Err(e) => {
                installed.uninstall()?;
                return Err(e.into());
            }
        };
        let running = Running {
            installed,
            stop,
            worker,
            pusher,
        };
        running.installed.set_rate(hz)?;
        Ok(Sampler {
            running: Some(running),
            settings,
            counters,
            shared,
        })
    }

    /// Applies new settings live: the rate at once (the open interval is pushed first), the rest from the
    /// next interval or push.
    ///
    /// # Errors
    ///
    /// Bad settings (nothing changes), or the timer could not be set.
    pub fn update(&self, settings: Settings) -> Result<(), ProfilingError> {
        settings.check()?;
        let hz = settings.sample_hz;
        let old = self.settings.swap(Arc::new(settings));
        match &self.running {
            Some(r) if old.sample_hz != hz => r.installed.set_rate(hz),
            _ => Ok(()),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.counters.stats(&self.shared)
    }

    /// Stops sampling, restores SIGPROF's previous disposition, pushes the last interval, joins the threads.
    ///
    /// # Errors
    ///
    /// A failed sigaction while restoring.
    pub fn stop(mut self) -> Result<Stats, ProfilingError> {
        self.shut()?;
        Ok(self.stats())
    }

    fn shut(&mut self) -> Result<(), ProfilingError> {
        let Some(r) = self.running.take() else {
            return Ok(());
        };
        let restored = r.installed.uninstall();
        let _ = r.stop.send(());
        drop(r.worker.join());
        drop(r.pusher.join());
        restored
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        drop(self.shut());
    }
}

type Threads = (JoinHandle<()>, JoinHandle<()>);

fn spawn(
    worker: worker::Worker,
    stop: mpsc::Receiver<()>,
    queue: mpsc::Receiver<push::Encoded>,
    settings: &Arc<ArcSwap<Settings>>,
    counters: &Arc<Counters>,
) -> std::io::Result<Threads> {
    let (s, c) = (Arc::clone(settings), Arc::clone(counters));
    let pusher = std::thread::Builder::new()
        .name("livetel-pyroscope-push".into())
        .spawn(move || push::run(queue, s, c))?;
    let worker = std::thread::Builder::new()
        .name("livetel-pyroscope".into())
        .spawn(move || worker.run(stop))?;
    Ok((worker, pusher))
}
