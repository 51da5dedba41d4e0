//! The Pyroscope sampler against real peers: a Pyroscope-style `/ingest` receiver on loopback records the
//! pushes, and Go's `pprof` (Debian `golang-github-google-pprof-dev`) reads every pushed profile.
//!
//! One sampler per process: the tests of this binary take [`ONE_SAMPLER`] in turn.
#![cfg(feature = "profiling-pyroscope")]

#[allow(dead_code)]
#[path = "../common/seed.rs"]
mod seed;

mod gopprof;
mod ingest;
mod push;
mod soak;
mod start_stop;
mod workload;

use std::sync::Mutex;

/// Held by each test while its sampler lives.
pub static ONE_SAMPLER: Mutex<()> = Mutex::new(());

/// Takes [`ONE_SAMPLER`] (a failed test before it does not poison the others).
pub fn one_sampler() -> std::sync::MutexGuard<'static, ()> {
    ONE_SAMPLER.lock().unwrap_or_else(|e| e.into_inner())
}
