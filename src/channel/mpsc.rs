//! `tokio::sync::mpsc`, bounded and unbounded, counted (see [`crate::channel`]).

#[cfg(not(feature = "profiling"))]
pub use tokio::sync::mpsc::{Receiver, Sender, UnboundedReceiver, UnboundedSender};

/// A bounded channel named `name` holding up to `buffer` values (`tokio::sync::mpsc::channel`).
///
/// # Panics
/// When `buffer` is 0, as tokio's.
#[cfg(not(feature = "profiling"))]
pub fn channel<T>(name: &'static str, buffer: usize) -> (Sender<T>, Receiver<T>) {
    let _ = name;
    tokio::sync::mpsc::channel(buffer)
}

/// An unbounded channel named `name` (`tokio::sync::mpsc::unbounded_channel`).
#[cfg(not(feature = "profiling"))]
pub fn unbounded_channel<T>(name: &'static str) -> (UnboundedSender<T>, UnboundedReceiver<T>) {
    let _ = name;
    tokio::sync::mpsc::unbounded_channel()
}

#[cfg(feature = "profiling")]
pub use counted::*;

#[cfg(feature = "profiling")]
mod counted {
    use std::time::Instant;

    use tokio::sync::mpsc as tk;
    use tokio::sync::mpsc::error::{SendError, TryRecvError, TrySendError};

    use super::super::stats::Stats;
    use crate::figures::ChannelCounts;

    /// A bounded channel named `name` holding up to `buffer` values (`tokio::sync::mpsc::channel`).
    ///
    /// # Panics
    /// When `buffer` is 0, as tokio's.
    pub fn channel<T>(name: &'static str, buffer: usize) -> (Sender<T>, Receiver<T>) {
        let (tx, rx) = tk::channel(buffer);
        let stats = Stats::new(name, "mpsc");
        let receiver = Receiver {
            inner: rx,
            stats: stats.clone(),
        };
        (Sender { inner: tx, stats }, receiver)
    }

    /// An unbounded channel named `name` (`tokio::sync::mpsc::unbounded_channel`).
    pub fn unbounded_channel<T>(name: &'static str) -> (UnboundedSender<T>, UnboundedReceiver<T>) {
        let (tx, rx) = tk::unbounded_channel();
        let stats = Stats::new(name, "mpsc_unbounded");
        let receiver = UnboundedReceiver {
            inner: rx,
            stats: stats.clone(),
        };
        (UnboundedSender { inner: tx, stats }, receiver)
    }

    /// The sending half of a bounded channel; cloneable.
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

    impl<T> Sender<T> {
        /// Sends `value`, waiting for room (the wait is counted as backpressure).
        ///
        /// # Errors
        /// The receiver is gone: the value comes back (counted as dropped).
        pub async fn send(&self, value: T) -> Result<(), SendError<T>> {
            self.stats.sending();
            let value = match self.inner.try_send(value) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(v)) => {
                    self.stats.refused();
                    return Err(SendError(v));
                }
                Err(TrySendError::Full(v)) => v,
            };
            let since = Instant::now();
            let sent = self.inner.send(value).await;
            self.stats.waited(since);
            if sent.is_err() {
                self.stats.refused();
            }
            sent
        }

        /// Sends `value` if there is room now.
        ///
        /// # Errors
        /// Full or closed: the value comes back (counted as dropped).
        pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
            self.stats.sending();
            let sent = self.inner.try_send(value);
            if sent.is_err() {
                self.stats.refused();
            }
            sent
        }

        /// Sends `value` from outside a runtime, blocking for room.
        ///
        /// # Errors
        /// The receiver is gone (counted as dropped).
        ///
        /// # Panics
        /// Inside an asynchronous runtime, as tokio's.
        pub fn blocking_send(&self, value: T) -> Result<(), SendError<T>> {
            self.stats.sending();
            let sent = self.inner.blocking_send(value);
            if sent.is_err() {
                self.stats.refused();
            }
            sent
        }

        /// True once the receiver is gone or closed.
        pub fn is_closed(&self) -> bool {
            self.inner.is_closed()
        }

        /// Room left now.
        pub fn capacity(&self) -> usize {
            self.inner.capacity()
        }

        /// The channel's bound.
        pub fn max_capacity(&self) -> usize {
            self.inner.max_capacity()
        }

        /// The channel's counts now.
        pub fn counts(&self) -> ChannelCounts {
            self.stats.counts()
        }
    }

    /// A receiving half: tokio's (bounded or unbounded) with its receptions counted. Dropping it counts the
    /// values still queued as dropped. The two halves have the same methods, so one definition makes both.
    macro_rules! counted_receiver {
        ($name:ident, $doc:literal) => {
            #[doc = $doc]
            #[derive(Debug)]
            pub struct $name<T> {
                inner: tk::$name<T>,
                stats: Stats,
            }

            impl<T> $name<T> {
                /// The next value; `None` once every sender is gone and the queue is empty.
                pub async fn recv(&mut self) -> Option<T> {
                    let v = self.inner.recv().await;
                    if v.is_some() {
                        self.stats.received();
                    }
                    v
                }

                /// The next value if one is queued.
                ///
                /// # Errors
                /// Empty, or disconnected.
                pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
                    let v = self.inner.try_recv();
                    if v.is_ok() {
                        self.stats.received();
                    }
                    v
                }

                /// The next value, blocking, from outside a runtime.
                ///
                /// # Panics
                /// Inside an asynchronous runtime, as tokio's.
                pub fn blocking_recv(&mut self) -> Option<T> {
                    let v = self.inner.blocking_recv();
                    if v.is_some() {
                        self.stats.received();
                    }
                    v
                }

                /// Refuses further sends; queued values can still be received.
                pub fn close(&mut self) {
                    self.inner.close();
                }

                /// Values queued now.
                pub fn len(&self) -> usize {
                    self.inner.len()
                }

                /// True when nothing is queued.
                pub fn is_empty(&self) -> bool {
                    self.inner.is_empty()
                }

                /// The channel's counts now.
                pub fn counts(&self) -> ChannelCounts {
                    self.stats.counts()
                }
            }

            impl<T> Drop for $name<T> {
                fn drop(&mut self) {
                    self.inner.close();
                    let mut left = 0;
                    while self.inner.try_recv().is_ok() {
                        left += 1;
                    }
                    self.stats.discarded(left);
                }
            }
        };
    }

    counted_receiver!(
        Receiver,
        "The receiving half of a bounded channel. Dropping it counts the values still queued as dropped."
    );
    counted_receiver!(
        UnboundedReceiver,
        "The receiving half of an unbounded channel. Dropping it counts the values still queued as dropped."
    );
    /// The sending half of an unbounded channel; cloneable.
    #[derive(Debug)]
    pub struct UnboundedSender<T> {
        inner: tk::UnboundedSender<T>,
        stats: Stats,
    }

    impl<T> Clone for UnboundedSender<T> {
        fn clone(&self) -> Self {
            UnboundedSender {
                inner: self.inner.clone(),
                stats: self.stats.clone(),
            }
        }
    }

    impl<T> UnboundedSender<T> {
        /// Sends `value`; never waits.
        ///
        /// # Errors
        /// The receiver is gone: the value comes back (counted as dropped).
        pub fn send(&self, value: T) -> Result<(), SendError<T>> {
            self.stats.sending();
            let sent = self.inner.send(value);
            if sent.is_err() {
                self.stats.refused();
            }
            sent
        }

        /// True once the receiver is gone or closed.
        pub fn is_closed(&self) -> bool {
            self.inner.is_closed()
        }

        /// The channel's counts now.
        pub fn counts(&self) -> ChannelCounts {
            self.stats.counts()
        }
    }
}
