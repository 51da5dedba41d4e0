//! Start and stop 100 times: SIGPROF's previous disposition back each time, threads back to the baseline, RSS
//! within a generous bound; and a SIGPROF handler of someone else's is never taken.

use std::time::Duration;

use livetel::profiling::pyroscope::{ProfilingError, Sampler, Settings, signal};

use super::ingest::Ingest;
use super::one_sampler;
use super::workload::Workload;

fn status_field(name: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status.lines().find(|l| l.starts_with(name)).expect("field");
    line.split_whitespace()
        .nth(1)
        .and_then(|v| v.parse().ok())
        .expect("number")
}

fn once(endpoint: &str) {
    let mut s = Settings::new(endpoint, "start-stop");
    s.interval = Duration::from_millis(100);
    s.sample_hz = 1000;
    let sampler = Sampler::start(s).expect("start");
    assert_ne!(signal::current_disposition(), libc::SIG_DFL);
    std::hint::black_box((0..200_000u64).fold(0u64, |a, i| a.wrapping_mul(31) ^ i));
    let stats = sampler.stop().expect("stop");
    assert_eq!(
        stats.samples_taken,
        stats.samples_pushed + stats.samples_dropped_in_profiles
    );
    assert_eq!(
        signal::current_disposition(),
        libc::SIG_DFL,
        "SIGPROF disposition restored"
    );
}

#[test]
fn start_stop_100_times_restores_sigprof_and_leaks_nothing() {
    let _one = one_sampler();
    let ingest = Ingest::start();
    let work = Workload::start(1);
    once(&ingest.endpoint()); // warm-up: symbol tables, the HTTP client's statics
    let (threads, rss_kb) = (status_field("Threads:"), status_field("VmRSS:"));
    for _ in 0..100 {
        once(&ingest.endpoint());
    }
    let (threads_after, rss_after) = (status_field("Threads:"), status_field("VmRSS:"));
    work.stop();
    println!("threads {threads} -> {threads_after}, RSS {rss_kb} kB -> {rss_after} kB");
    assert_eq!(threads_after, threads, "threads back to the baseline");
    assert!(
        rss_after < rss_kb + 64 * 1024,
        "RSS {rss_kb} kB -> {rss_after} kB"
    );
}

extern "C" fn foreign(_: libc::c_int) {}

#[test]
fn a_foreign_sigprof_handler_is_never_taken() {
    let _one = one_sampler();
    // SAFETY: installs a handler that does nothing, then puts the default back.
    unsafe { libc::signal(libc::SIGPROF, foreign as *const () as libc::sighandler_t) };
    let taken = Sampler::start(Settings::new("http://127.0.0.1:9", "x"));
    assert!(matches!(taken, Err(ProfilingError::SignalInUse)));
    assert_eq!(signal::current_disposition(), foreign as *const () as usize);
    // SAFETY: as above.
    unsafe { libc::signal(libc::SIGPROF, libc::SIG_DFL) };
}
