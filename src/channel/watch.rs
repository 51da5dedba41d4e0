//! `tokio::sync::watch`, counted (see [`crate::channel`]). A receiver counts a value as received when it marks
//! it seen (`changed`, `borrow_and_update`); values replaced before it looked count as dropped then. With one
//! receiver the balance holds: the depth is the values sent since it last looked.

#[cfg(not(feature = "profiling"))]
pub use tokio::sync::watch::{Receiver, Sender};

/// A watch channel named `name` holding `init` (`tokio::sync::watch::channel`).
#[cfg(not(feature = "profiling"))]
pub fn channel<T>(name: &'static str, init: T) -> (Sender<T>, Receiver<T>) {
    let _ = name;
    tokio::sync::watch::channel(init)
}

#[cfg(feature = "profiling")]
pub use counted::*;

#[cfg(feature = "profiling")]
mod counted {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    use tokio::sync::watch as tk;
    use tokio::sync::watch::error::{RecvError, SendError};

    use super::super::stats::Stats;
    use crate::figures::ChannelCounts;

    /// A watch channel named `name` holding `init` (`tokio::sync::watch::channel`).
    pub fn channel<T>(name: &'static str, init: T) -> (Sender<T>, Receiver<T>) {
        let (tx, rx) = tk::channel(init);
        let stats = Stats::new(name, "watch");
        let sends = Arc::new(AtomicU64::new(0));
        let receiver = Receiver {
            inner: rx,
            stats: stats.clone(),
            sends: Arc::clone(&sends),
            seen: 0,
        };
        (
            Sender {
                inner: tx,
                stats,
                sends,
            },
            receiver,
        )
    }

    /// The sending half.
    #[derive(Debug)]
    pub struct Sender<T> {
        inner: tk::Sender<T>,
        stats: Stats,
        /// Values sent successfully: a receiver's distance from it is what it has not seen.
        sends: Arc<AtomicU64>,
    }

    impl<T> Sender<T> {
        /// Replaces the value and notifies the receivers.
        ///
        /// # Errors
        /// No receiver: the value comes back (counted as dropped).
        pub fn send(&self, value: T) -> Result<(), SendError<T>> {
            self.stats.sending();
            let sent = self.inner.send(value);
            match sent {
                Ok(()) => {
                    self.sends.fetch_add(1, Relaxed);
                }
                Err(_) => self.stats.refused(),
            }
            sent
        }

        /// A new receiver, which has seen the current value.
        pub fn subscribe(&self) -> Receiver<T> {
            Receiver {
                inner: self.inner.subscribe(),
                stats: self.stats.clone(),
                sends: Arc::clone(&self.sends),
                seen: self.sends.load(Relaxed),
            }
        }

        /// The current value.
        pub fn borrow(&self) -> tk::Ref<'_, T> {
            self.inner.borrow()
        }

        /// Receivers now.
        pub fn receiver_count(&self) -> usize {
            self.inner.receiver_count()
        }

        /// The channel's counts now.
        pub fn counts(&self) -> ChannelCounts {
            self.stats.counts()
        }
    }

    /// A receiving half; cloneable (a clone has seen what its original saw).
    #[derive(Debug)]
    pub struct Receiver<T> {
        inner: tk::Receiver<T>,
        stats: Stats,
        sends: Arc<AtomicU64>,
        /// The sends this receiver has accounted for (seen or counted as replaced).
        seen: u64,
    }

    impl<T> Clone for Receiver<T> {
        fn clone(&self) -> Self {
            Receiver {
                inner: self.inner.clone(),
                stats: self.stats.clone(),
                sends: Arc::clone(&self.sends),
                seen: self.seen,
            }
        }
    }

    impl<T> Receiver<T> {
        /// Waits for a value this receiver has not seen, and marks it seen.
        ///
        /// # Errors
        /// The sender is gone.
        pub async fn changed(&mut self) -> Result<(), RecvError> {
            let r = self.inner.changed().await;
            if r.is_ok() {
                self.mark_seen();
            }
            r
        }

        /// The current value, marked seen.
        pub fn borrow_and_update(&mut self) -> tk::Ref<'_, T> {
            if self.inner.has_changed().unwrap_or(false) {
                self.mark_seen();
            }
            self.inner.borrow_and_update()
        }

        /// The current value, not marked seen.
        pub fn borrow(&self) -> tk::Ref<'_, T> {
            self.inner.borrow()
        }

        /// True when there is a value this receiver has not seen.
        ///
        /// # Errors
        /// The sender is gone.
        pub fn has_changed(&self) -> Result<bool, RecvError> {
            self.inner.has_changed()
        }

        /// The latest value counts as received, the ones it replaced as dropped.
        fn mark_seen(&mut self) {
            let now = self.sends.load(Relaxed);
            let new = now.saturating_sub(self.seen);
            self.seen = now;
            if new > 0 {
                self.stats.received();
                self.stats.discarded(new - 1);
            }
        }

        /// The channel's counts now.
        pub fn counts(&self) -> ChannelCounts {
            self.stats.counts()
        }
    }
}
