//! What the sampler counts: every sample taken is in a pushed profile or counted dropped, with the reason.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::sample::Shared;

pub use crate::figures::PyroscopeStats as Stats;

/// The counters the threads update.
#[derive(Default)]
pub(crate) struct Counters {
    samples_pushed: AtomicU64,
    samples_dropped: AtomicU64,
    profiles_pushed: AtomicU64,
    profiles_dropped: AtomicU64,
    intervals: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Counters {
    pub(crate) fn pushed(&self, samples: u64) {
        self.samples_pushed.fetch_add(samples, Relaxed);
        self.profiles_pushed.fetch_add(1, Relaxed);
    }

    pub(crate) fn dropped(&self, samples: u64, why: String) {
        self.samples_dropped.fetch_add(samples, Relaxed);
        self.profiles_dropped.fetch_add(1, Relaxed);
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
    }

    pub(crate) fn interval_closed(&self) {
        self.intervals.fetch_add(1, Relaxed);
    }

    pub(crate) fn stats(&self, shared: &Shared) -> Stats {
        Stats {
            samples_taken: shared.taken.load(Relaxed),
            samples_dropped: shared.ring.dropped() + shared.busy.load(Relaxed),
            samples_unlabelled: shared.torn.load(Relaxed),
            samples_pushed: self.samples_pushed.load(Relaxed),
            samples_dropped_in_profiles: self.samples_dropped.load(Relaxed),
            profiles_pushed: self.profiles_pushed.load(Relaxed),
            profiles_dropped: self.profiles_dropped.load(Relaxed),
            intervals: self.intervals.load(Relaxed),
            last_error: self.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }
}
