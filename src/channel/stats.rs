//! The counts a channel's ends share, and their registration with the livetel instance of the thread's
//! default subscriber.

use std::sync::Arc;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

use crate::figures::ChannelStats;

/// Counts of one channel, shared by its ends.
#[derive(Debug, Clone)]
pub(crate) struct Stats(Arc<ChannelStats>);

impl Stats {
    /// New counts for channel `name`, listed with the livetel instance of the current subscriber if there is one.
    pub(crate) fn new(name: &'static str, kind: &'static str) -> Stats {
        let stats = Arc::new(ChannelStats {
            name,
            kind,
            ..ChannelStats::default()
        });
        tracing::dispatcher::get_default(|d| {
            if let Some(live) = d.downcast_ref::<crate::traces::live::Live>() {
                live.current().counters.figures.channels.register(&stats);
            }
        });
        Stats(stats)
    }

    /// A send is attempted: counted as sent, and as queued until it fails.
    #[inline]
    pub(crate) fn sending(&self) {
        self.0.sent.fetch_add(1, Relaxed);
        self.0.depth.fetch_add(1, Relaxed);
    }

    /// The send just attempted was refused.
    #[inline]
    pub(crate) fn refused(&self) {
        self.0.depth.fetch_sub(1, Relaxed);
        self.0.dropped.fetch_add(1, Relaxed);
    }

    /// A value was taken from the queue.
    #[inline]
    pub(crate) fn received(&self) {
        self.0.received.fetch_add(1, Relaxed);
        self.0.depth.fetch_sub(1, Relaxed);
    }

    /// `n` queued values will never be received.
    #[inline]
    pub(crate) fn discarded(&self, n: u64) {
        self.0.dropped.fetch_add(n, Relaxed);
        self.0
            .depth
            .fetch_sub(i64::try_from(n).unwrap_or(i64::MAX), Relaxed);
    }

    /// A send waited for room since `since`.
    pub(crate) fn waited(&self, since: Instant) {
        let micros = u64::try_from(since.elapsed().as_micros()).unwrap_or(u64::MAX);
        self.0.backpressure_waits.fetch_add(1, Relaxed);
        self.0.backpressure_micros.fetch_add(micros, Relaxed);
    }

    /// The counts now.
    pub(crate) fn counts(&self) -> crate::figures::ChannelCounts {
        self.0.counts()
    }
}
