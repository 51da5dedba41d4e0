//! The sampler under 8 busy threads that allocate, lock and make syscalls: no deadlock, no crash, a profile
//! every interval, each read by Go's pprof. 10 s in CI, 60 s with `LIVETEL_SOAK=1`
//! (`LIVETEL_PROFILE_SOAK_SECS` sets another length).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use livetel::profiling::pyroscope::{Sampler, Settings, SpanLabels};

use super::ingest::Ingest;
use super::push::{pprof_on, samples_in};
use super::workload::Workload;
use super::{one_sampler, seed};

#[test]
fn eight_busy_threads_profiles_every_interval() {
    let _one = one_sampler();
    let secs: u64 = std::env::var("LIVETEL_PROFILE_SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| seed::length(10, 60));
    let ingest = Ingest::start();
    let mut s = Settings::new(ingest.endpoint(), "soak");
    s.interval = Duration::from_secs(1);
    s.span_labels = SpanLabels::NameAndId;
    let sampler = Sampler::start(s).expect("start");
    let work = Workload::start(8);
    let started = Instant::now();
    let mut last_rounds = 0;
    while started.elapsed() < Duration::from_secs(secs) {
        std::thread::sleep(Duration::from_secs(2));
        let rounds = work.rounds.load(Ordering::Relaxed);
        assert!(
            rounds > last_rounds,
            "the workload made no progress in 2 s: deadlock?"
        );
        last_rounds = rounds;
    }
    work.stop();
    let stats = sampler.stop().expect("stop");
    let pushes = ingest.pushes();
    println!("{secs} s: {stats:?}");
    assert_eq!(
        stats.samples_taken,
        stats.samples_pushed + stats.samples_dropped_in_profiles
    );
    assert_eq!(stats.profiles_pushed, pushes.len() as u64);
    assert_eq!(stats.profiles_dropped, 0, "{:?}", stats.last_error);
    // A profile every interval: one per second of the run (the last one at stop), never fewer than half.
    assert!(
        stats.intervals >= secs / 2 && stats.profiles_pushed >= secs / 2,
        "{stats:?}"
    );
    assert_eq!(stats.samples_pushed, pushes.iter().map(samples_in).sum::<u64>());
    if let Some(first) = pushes.first() {
        println!("{}", pprof_on(first, &["-top", "-nodecount=12"]));
        let tags = pprof_on(first, &["-tags"]);
        println!(
            "{}",
            tags.lines()
                .skip_while(|l| !l.contains("span_name"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    for p in &pushes {
        assert!(pprof_on(p, &["-top"]).contains("Showing nodes"));
    }
}
