//! A simulated AI agent under a live telemetry config: the main job of the project.
//!
//! ```text
//! cargo run --release --example agent -- --duration 30 --threads 2
//! ```
//! Edit `config/telemetry.toml` while it runs; every status change is printed.

mod turn;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
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
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    turn::configure(args.work_scale, args.panic_rate);
    if args.panic_rate > 0.0 || args.panic_main_after.is_some() {
        // Injected panics are expected: keep stderr to one line each.
        std::panic::set_hook(Box::new(|info| eprintln!("agent: injected panic: {info}")));
    }
    let telemetry = match livetel::init(&args.config) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("agent: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(turn::Counts::default());
    let workers: Vec<_> = (0..args.threads.max(1))
        .map(|i| {
            let (stop, counts) = (Arc::clone(&stop), Arc::clone(&counts));
            let per_thread = args.rate / args.threads.max(1) as f64;
            std::thread::Builder::new()
                .name(format!("agent-{i}"))
                .spawn(move || turn::run_worker(i, per_thread, &stop, &counts))
                .expect("spawning a worker thread")
        })
        .collect();
    let reason = wait_for_stop(&telemetry, &args);
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.join();
    }
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
    let json = args.status_json;
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
        print_status(&status.borrow_and_update(), json);
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
                    print_status(&status.borrow_and_update(), json);
                }
            }
        }
    })
}

fn print_status(s: &livetel::TelemetryStatus, json: bool) {
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
    let error = s
        .last_error
        .as_ref()
        .map_or_else(String::new, |e| format!(" ERROR: {}", e.message));
    println!(
        "generation {} ({:?}): backend={} sample_rate={} include_args={} filter={:?} file={} spans started={} exported={}{}",
        s.generation,
        s.trigger,
        s.backend.as_str(),
        s.sample_rate,
        s.include_args,
        s.filter,
        file,
        s.counters.started,
        s.counters.exported,
        error
    );
}
