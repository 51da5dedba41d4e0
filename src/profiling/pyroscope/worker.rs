//! The sampler thread: drains the ring often (so it never fills), closes an interval every
//! `Settings::interval` (or early when the rate changes), symbolizes and encodes it, and offers it to the push
//! thread. Never in a signal handler: it may allocate, lock and resolve symbols freely.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;

use super::profile::{self, Interval, Meta};
use super::push::{self, Encoded};
use super::sample::Shared;
use super::symbols::Symbols;
use super::{Counters, Settings};

/// How often the ring is drained.
const DRAIN_EVERY: Duration = Duration::from_millis(100);

struct Open {
    interval: Interval,
    start: SystemTime,
    started: Instant,
    hz: u32,
}

impl Open {
    fn new(hz: u32) -> Open {
        Open {
            interval: Interval::default(),
            start: SystemTime::now(),
            started: Instant::now(),
            hz,
        }
    }
}

/// What the thread works with.
pub(crate) struct Worker {
    pub(crate) shared: Arc<Shared>,
    pub(crate) settings: Arc<ArcSwap<Settings>>,
    pub(crate) counters: Arc<Counters>,
    pub(crate) queue: SyncSender<Encoded>,
}

impl Worker {
    /// Runs until `stop` says so (or its sender is gone); the last interval is pushed too.
    pub(crate) fn run(self, stop: Receiver<()>) {
        crate::threads::mark_untraced();
        let mut symbols = Symbols::default();
        let mut open = Open::new(self.settings.load().sample_hz);
        loop {
            let stopping = !matches!(stop.recv_timeout(DRAIN_EVERY), Err(RecvTimeoutError::Timeout));
            self.drain(&mut open);
            let s = self.settings.load();
            if stopping || s.sample_hz != open.hz || open.started.elapsed() >= s.interval {
                let closed = std::mem::replace(&mut open, Open::new(s.sample_hz));
                self.close(closed, &s, &mut symbols);
            }
            if stopping {
                return;
            }
        }
    }

    fn drain(&self, open: &mut Open) {
        self.shared.ring.drain(|rec| open.interval.add(rec));
    }

    fn close(&self, open: Open, s: &Settings, symbols: &mut Symbols) {
        self.counters.interval_closed();
        if open.interval.samples == 0 || open.hz == 0 {
            return;
        }
        let meta = Meta {
            hz: open.hz,
            labels: s.span_labels,
            start: open.start,
            duration: open.started.elapsed(),
        };
        let samples = open.interval.samples;
        match profile::encode(&open.interval, &meta, symbols) {
            Ok(body) => {
                let encoded = Encoded {
                    body,
                    samples,
                    from: open.start,
                    until: SystemTime::now(),
                    hz: open.hz,
                };
                push::offer(&self.queue, encoded, &self.counters);
            }
            Err(e) => self.counters.dropped(samples, format!("encode: {e}")),
        }
    }
}
