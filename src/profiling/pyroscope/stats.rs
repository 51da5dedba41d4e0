//! What the sampler counts: every sample taken is in a pushed profile or counted dropped, with the reason.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use super::sample::Shared;

/// The sampler's counters. Once it has stopped, `samples_taken = samples_pushed + samples_dropped_in_profiles`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Stats {
    /// Samples written to the ring by the handler.
    pub samples_taken: u64,
    /// Samples lost before the ring: no free cell, or every unwinder cache busy.
    pub samples_dropped: u64,
    /// Samples whose label slot was being written: recorded without labels.
    pub samples_unlabelled: u64,
    /// Samples in profiles the endpoint accepted.
    pub samples_pushed: u64,
    /// Samples in profiles dropped (queue full, endpoint error or timeout).
    pub samples_dropped_in_profiles: u64,
    /// Profiles the endpoint accepted.
    pub profiles_pushed: u64,
    /// Profiles dropped.
    pub profiles_dropped: u64,
    /// Intervals closed (with or without samples).
    pub intervals: u64,
    /// Why the last profile was dropped.
    pub last_error: Option<String>,
}

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
