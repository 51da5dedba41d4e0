//! Busy threads that allocate, lock and make syscalls inside spans, until told to stop.

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::thread::JoinHandle;

use livetel::profiling::pyroscope::LabelLayer;
use tracing_subscriber::prelude::*;

/// The process's subscriber: the registry and the label layer (once per test binary).
pub fn install_subscriber() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        tracing_subscriber::registry().with(LabelLayer).init();
    });
}

pub struct Workload {
    stop: Arc<AtomicBool>,
    pub rounds: Arc<AtomicU64>,
    threads: Vec<JoinHandle<()>>,
}

#[inline(never)]
fn burn(n: u64) -> u64 {
    (0..n).fold(0u64, |a, i| a.wrapping_mul(31).wrapping_add(i ^ (a >> 7)))
}

fn round(shared: &Mutex<Vec<u64>>, sink: &mut std::fs::File, i: u64) {
    let _outer = tracing::info_span!("work.round").entered();
    {
        let _s = tracing::info_span!("work.alloc").entered();
        let v: Vec<String> = (0..64).map(|k| format!("{k}-{i}")).collect();
        std::hint::black_box(v);
    }
    {
        let _s = tracing::info_span!("work.lock").entered();
        let mut g = shared.lock().unwrap_or_else(|e| e.into_inner());
        g.push(burn(2_000));
        if g.len() > 1024 {
            g.clear();
        }
    }
    {
        let _s = tracing::info_span!("work.syscall").entered();
        let _ = sink.write_all(b"x");
        std::hint::black_box(std::process::id());
    }
    let _s = tracing::info_span!("work.cpu").entered();
    std::hint::black_box(burn(20_000));
}

impl Workload {
    /// `n` threads, each in a loop of rounds.
    pub fn start(n: usize) -> Workload {
        install_subscriber();
        let stop = Arc::new(AtomicBool::new(false));
        let rounds = Arc::new(AtomicU64::new(0));
        let shared = Arc::new(Mutex::new(Vec::new()));
        let threads = (0..n)
            .map(|_| {
                let (stop, rounds, shared) = (stop.clone(), rounds.clone(), shared.clone());
                std::thread::spawn(move || {
                    let mut sink = std::fs::OpenOptions::new()
                        .write(true)
                        .open("/dev/null")
                        .expect("/dev/null");
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        round(&shared, &mut sink, i);
                        i += 1;
                        rounds.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        Workload {
            stop,
            rounds,
            threads,
        }
    }

    /// Stops and joins every thread; panics if one panicked.
    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for t in self.threads {
            t.join().expect("workload thread panicked");
        }
    }
}
