//! `tokio::sync::broadcast`, counted (see [`crate::channel`]). Each value counts once as sent; each receiver
//! counts what it receives and what it missed by lagging, so the balance holds with one receiver.

#[cfg(not(feature = "profiling"))]
pub use tokio::sync::broadcast::{Receiver, Sender};

/// A broadcast channel named `name` keeping the last `capacity` values (`tokio::sync::broadcast::channel`).
///
/// # Panics
/// When `capacity` is 0 or too large, as tokio's.
#[cfg(not(feature = "profiling"))]
pub fn channel<T: Clone>(name: &'static str, capacity: usize) -> (Sender<T>, Receiver<T>) {
    let _ = name;
    tokio::sync::broadcast::channel(capacity)
}

#[cfg(feature = "profiling")]
pub use counted::*;

#[cfg(feature = "profiling")]
mod counted {
    use tokio::sync::broadcast as tk;
    use tokio::sync::broadcast::error::{RecvError, SendError, TryRecvError};

    use super::super::stats::Stats;
    use crate::figures::ChannelCounts;

    /// A broadcast channel named `name` keeping the last `capacity` values (`tokio::sync::broadcast::channel`).
    ///
    /// # Panics
    /// When `capacity` is 0 or too large, as tokio's.
    pub fn channel<T: Clone>(name: &'static str, capacity: usize) -> (Sender<T>, Receiver<T>) {
        let (tx, rx) = tk::channel(capacity);
        let stats = Stats::new(name, "broadcast");
        let receiver = Receiver {
            inner: rx,
            stats: stats.clone(),
        };
        (Sender { inner: tx, stats }, receiver)
    }

    /// The sending half; cloneable.
    #[derive(Debug)]
    pub struct Sender<T> {
        inner: tk::Sender<T>,
        stats: Stats,
    }

    impl<T> Clone for Sender<T> {
        fn clone(&self) -> Self {
            Sender {
                inner: self.inner.clone(),
                stats: self.stats.clone(),
            }
        }
    }

    impl<T: Clone> Sender<T> {
        /// Sends `value` to every receiver; returns how many there are.
        ///
        /// # Errors
        /// No receiver: the value comes back (counted as dropped).
        pub fn send(&self, value: T) -> Result<usize, SendError<T>> {
            self.stats.sending();
            let sent = self.inner.send(value);
            if sent.is_err() {
                self.stats.refused();
            }
            sent
        }

        /// A new receiver, which sees values sent from now on (its receptions count in this channel).
        pub fn subscribe(&self) -> Receiver<T> {
            Receiver {
                inner: self.inner.subscribe(),
                stats: self.stats.clone(),
            }
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

    /// A receiving half. Dropping it counts the values it had not received yet as dropped.
    #[derive(Debug)]
    pub struct Receiver<T> {
        inner: tk::Receiver<T>,
        stats: Stats,
    }

    impl<T: Clone> Receiver<T> {
        /// The next value; a lag (values overwritten before this receiver got them) is counted as dropped.
        ///
        /// # Errors
        /// Closed, or lagged by `n` values, as tokio's.
        pub async fn recv(&mut self) -> Result<T, RecvError> {
            let v = self.inner.recv().await;
            self.count(v.as_ref().map(|_| ()).map_err(|e| e.clone()));
            v
        }

        /// The next value if one is there.
        ///
        /// # Errors
        /// Empty, closed, or lagged, as tokio's.
        pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
            let v = self.inner.try_recv();
            match &v {
                Ok(_) => self.stats.received(),
                Err(TryRecvError::Lagged(n)) => self.stats.discarded(*n),
                Err(_) => {}
            }
            v
        }

        fn count(&self, outcome: Result<(), RecvError>) {
            match outcome {
                Ok(()) => self.stats.received(),
                Err(RecvError::Lagged(n)) => self.stats.discarded(n),
                Err(RecvError::Closed) => {}
            }
        }

        /// Values sent that this receiver has not received yet.
        pub fn len(&self) -> usize {
            self.inner.len()
        }

        /// True when this receiver has received everything sent.
        pub fn is_empty(&self) -> bool {
            self.inner.is_empty()
        }

        /// The channel's counts now.
        pub fn counts(&self) -> ChannelCounts {
            self.stats.counts()
        }
    }

    impl<T> Drop for Receiver<T> {
        fn drop(&mut self) {
            self.stats.discarded(self.inner.len() as u64);
        }
    }
}
