//! A simulated AI agent under a live telemetry config: the main job of the project.
//!
//! ```text
//! cargo run --release --example agent -- --duration 30 --threads 2
//! ```
//! Edit `config/telemetry.toml` while it runs; each change prints one status line.

mod turn;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;

/// Runs agent turns under livetel until the duration ends or SIGINT/SIGTERM arrives.
#[derive(Parser, Debug)]
#[command(about)]
struct Args {
    /// The config file whose `[telemetry]` table is watched.
    #[arg(long, default_value = "config/telemetry.toml")]
    config: PathBuf,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long)]
    duration: Option<f64>,
    /// Turns per second over all threads; 0 runs as fast as possible.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    /// Worker threads running turns.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Print each status as one JSON object per line.
    #[arg(long)]
    status_json: bool,
    /// Multiplies each step's simulated work (1.0: about 0.5 ms of CPU per turn; 0 makes turns span-bound).
    #[arg(long, default_value_t = 1.0)]
    work_scale: f64,
    /// Fraction of turns whose tool call panics inside an instrumented span, on a spawned thread; the agent
    /// carries on (a fault-injection switch for reliability tests).
    #[arg(long, default_value_t = 0.0)]
    panic_rate: f64,
    /// Panic on the main thread, inside an instrumented span, after this many seconds (fault injection).
    #[arg(long)]
    panic_main_after: Option<f64>,
    /// Fraction of turns whose last `tool.execute` fails (its span ends in error, status ERROR): traces that
    /// `[telemetry.sampling] always_sample_errors` keeps.
    #[arg(long, default_value_t = 0.0)]
    error_rate: f64,
    /// Fraction of turns that take at least `--slow-ms` longer: traces that `always_sample_slow_seconds` keeps.
    #[arg(long, default_value_t = 0.0)]
    slow_rate: f64,
    /// How much longer a slow turn takes, in milliseconds.
    #[arg(long, default_value_t = 250)]
    slow_ms: u64,
    /// Serve `/metrics` on this address (`127.0.0.1:9464`; port 0 picks one, shown as `metrics=` in the status
    /// line), with metrics on: set through `livetel::Handle` after start, so the next edit of the file (which
    /// wins) replaces it.
    #[arg(long)]
    metrics_listen: Option<String>,
    /// Serve livetel's admin endpoint here (`127.0.0.1:9465`) unless the file's `[telemetry.admin]` sets one:
    /// `curl 127.0.0.1:9465/status`, temporary overrides through `POST /overrides`.
    #[arg(long)]
    admin: Option<String>,
}

/// Allocations per span (`[telemetry.profiling] alloc = true`): the one line an application adds.
#[cfg(feature = "profiling-alloc")]
#[global_allocator]
static ALLOC: livetel::profiling::CountingAllocator = livetel::profiling::CountingAllocator::system();

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    turn::configure(args.work_scale, args.panic_rate);
    turn::configure_faults(args.error_rate, args.slow_rate, args.slow_ms);
    if args.panic_rate > 0.0 || args.panic_main_after.is_some() {
        // Injected panics are expected: keep stderr to one line each.
        std::panic::set_hook(Box::new(|info| eprintln!("agent: injected panic: {info}")));
    }
    let mut builder = livetel::Builder::new(&args.config);
    if let Some(listen) = &args.admin {
        builder = builder.admin_listen(listen);
    }
    let telemetry = match builder.init() {
        Ok(t) => t,
        Err(e) => {
            eprintln!("agent: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    if let Some(listen) = args.metrics_listen.clone() {
        let outcome = telemetry.handle().modify_blocking(move |cfg| {
            cfg.metrics.enabled = true;
            cfg.metrics.listen = Some(listen);
        });
        if let livetel::ReloadOutcome::Rejected { error } = outcome {
            eprintln!("agent: --metrics-listen: {error}");
            return std::process::ExitCode::FAILURE;
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(turn::Counts::default());
    let (tx, rx) = livetel::channel::mpsc::channel("agent.work_queue", 64);
    let queue = Arc::new(turn::Queue::new(rx));
    let dispatcher = {
        let (stop, rate) = (Arc::clone(&stop), args.rate);
        std::thread::Builder::new()
            .name("agent-dispatch".to_owned())
            .spawn(move || turn::run_dispatcher(rate, &stop, tx))
            .expect("spawning the dispatcher thread")
    };
    let workers: Vec<_> = (0..args.threads.max(1))
        .map(|i| {
            let (stop, counts, queue) = (Arc::clone(&stop), Arc::clone(&counts), Arc::clone(&queue));
            std::thread::Builder::new()
                .name(format!("agent-{i}"))
                .spawn(move || turn::run_worker(i, &queue, &stop, &counts))
                .expect("spawning a worker thread")
        })
        .collect();
    let reason = wait_for_stop(&telemetry, &args);
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
    // The last receiver goes: a dispatcher waiting for room gets its send refused and returns.
    drop(queue);
    let _ = dispatcher.join();
    drop(telemetry);
    eprintln!("agent: stopped ({reason})");
    println!("{}", counts.summary_json());
    std::process::ExitCode::SUCCESS
}

/// Prints status changes until the duration passes or a stop signal arrives; returns why it stopped.
fn wait_for_stop(telemetry: &livetel::Telemetry, args: &Args) -> &'static str {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("agent: no runtime for signals: {e}");
            return "error";
        }
    };
    let mut status = telemetry.status();
    let mut printer = Printer::new(args.status_json);
    let deadline = args
        .duration
        .map(|d| Instant::now() + Duration::from_secs_f64(d.max(0.0)));
    let panic_at = args
        .panic_main_after
        .map(|d| Instant::now() + Duration::from_secs_f64(d.max(0.0)));
    rt.block_on(async move {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("agent: cannot handle SIGTERM: {e}");
                return "error";
            }
        };
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(sleep);
        let main_panic = async {
            match panic_at {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::pin!(main_panic);
        printer.show(&status.borrow_and_update());
        loop {
            tokio::select! {
                () = &mut sleep => return "duration",
                () = &mut main_panic => return turn::panic_on_main_thread(),
                _ = tokio::signal::ctrl_c() => return "SIGINT",
                _ = term.recv() => return "SIGTERM",
                changed = status.changed() => {
                    if changed.is_err() {
                        return "telemetry stopped";
                    }
                    printer.show(&status.borrow_and_update());
                }
            }
        }
    })
}

/// What makes a status worth a line: a change. Everything else livetel publishes (a generation that finished
/// draining, an unchanged reload, fresh counters) repeats the last line and is not printed.
#[derive(PartialEq)]
struct Headline {
    /// A reload applied.
    generation: u64,
    /// A reload was rejected (counted, so saving the same bad file twice says so twice).
    rejected: u64,
    /// Whether a rejection is standing (an unchanged reload clears it).
    error: bool,
    restart_required: Vec<String>,
    warnings: Vec<String>,
    /// The first active sink's error (disk full, collector down) appeared or went away.
    sink_error: bool,
}

impl Headline {
    fn of(s: &livetel::status::TelemetryStatus) -> Self {
        Headline {
            generation: s.generation,
            rejected: s.reloads.rejected,
            error: s.last_error.is_some(),
            restart_required: s.restart_required.clone(),
            warnings: s.warnings.clone(),
            sink_error: s.sinks.first().is_some_and(|sink| sink.error.is_some()),
        }
    }
}

/// Prints one line per change. A replaced generation that retires is printed only when it says something new:
/// its sink had an error, or it dropped spans or batches (as last seen in status, while it drained).
struct Printer {
    json: bool,
    last: Option<Headline>,
    /// Sinks draining in the last status, as seen then.
    draining: Vec<livetel::status::SinkStatus>,
}

impl Printer {
    fn new(json: bool) -> Self {
        Printer {
            json,
            last: None,
            draining: Vec::new(),
        }
    }

    fn show(&mut self, s: &livetel::status::TelemetryStatus) {
        for gone in self
            .draining
            .iter()
            .filter(|d| !s.sinks.iter().any(|sink| sink.generation == d.generation))
        {
            let dropped = gone.otlp.as_ref().map_or(0, |o| o.spans_dropped);
            let failed = gone.otlp.as_ref().map_or(0, |o| o.failed_batches);
            if gone.error.is_some() || dropped > 0 || failed > 0 {
                print_retired(gone, self.json);
            }
        }
        self.draining = s
            .sinks
            .iter()
            .filter(|sink| sink.generation != s.generation)
            .cloned()
            .collect();
        let headline = Headline::of(s);
        if self.last.as_ref() != Some(&headline) {
            print_status(s, self.json);
            self.last = Some(headline);
        }
    }
}

fn print_retired(sink: &livetel::status::SinkStatus, json: bool) {
    if json {
        match serde_json::to_string(&serde_json::json!({ "retired": sink })) {
            Ok(line) => println!("{line}"),
            Err(e) => eprintln!("agent: status not serializable: {e}"),
        }
        return;
    }
    let (dropped, failed) = sink
        .otlp
        .as_ref()
        .map_or((0, 0), |o| (o.spans_dropped, o.failed_batches));
    println!(
        "generation {} retired: backend={} spans dropped={} failed batches={}{}",
        sink.generation,
        sink.backend,
        dropped,
        failed,
        sink.error
            .as_ref()
            .map_or_else(String::new, |e| format!(" ERROR: {e}"))
    );
}

fn print_status(s: &livetel::status::TelemetryStatus, json: bool) {
    if json {
        match serde_json::to_string(s) {
            Ok(line) => println!("{line}"),
            Err(e) => eprintln!("agent: status not serializable: {e}"),
        }
        return;
    }
    let file = s
        .trace_file
        .as_ref()
        .map_or_else(|| "-".to_owned(), |p| p.display().to_string());
    let mut notes = String::new();
    if let Some(e) = &s.last_error {
        notes.push_str(&format!(" ERROR: {}", e.message));
    }
    if let Some(e) = s.sinks.first().and_then(|sink| sink.error.as_ref()) {
        notes.push_str(&format!(" SINK ERROR: {e}"));
    }
    if !s.restart_required.is_empty() {
        notes.push_str(&format!(" RESTART REQUIRED: {}", s.restart_required.join(", ")));
    }
    for w in &s.warnings {
        notes.push_str(&format!(" WARNING: {w}"));
    }
    if let Some(m) = &s.metrics {
        let listen = m.listen.map_or_else(|| "-".to_owned(), |a| a.to_string());
        notes.insert_str(0, &format!(" series={} metrics={listen}", m.series));
    }
    // Temporary overrides: each starts and ends with a status line of its own (trigger Override, OverrideExpired).
    for o in &s.overrides {
        notes.push_str(&format!(
            " OVERRIDE {}: {} until {}",
            o.id,
            o.keys.join(","),
            o.expires_at
        ));
    }
    if let Some(admin) = &s.admin {
        notes.push_str(&format!(" admin=http://{}", admin.address));
    }
    // The keys the last reload changed (none when it was rejected or changed nothing).
    let changed = s
        .last_reload
        .as_ref()
        .filter(|r| !r.changed.is_empty())
        .map_or_else(|| "-".to_owned(), |r| r.changed.join(","));
    println!(
        "generation {} ({:?}): backend={} sample_rate={} include_args={} filter={:?} file={} spans started={} exported={} changed={}{}",
        s.generation,
        s.trigger,
        s.backend,
        s.sample_rate,
        s.include_args,
        s.filter,
        file,
        s.counters.started,
        s.counters.exported,
        changed,
        notes
    );
}
