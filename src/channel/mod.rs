//! Instrumented tokio channels (zeph's `InstrumentedChannel<T>`): `mpsc` (bounded and unbounded), `watch` and
//! `broadcast`, with the paths and method names of `tokio::sync`, made with a name.
//!
//! ```
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let (tx, mut rx) = livetel::channel::mpsc::channel::<u32>("work_queue", 64);
//! tx.send(7).await.unwrap();
//! assert_eq!(rx.recv().await, Some(7));
//! # });
//! ```
//!
//! With the cargo feature `profiling` each channel counts `channel.sent` (send attempts), `channel.received`,
//! `channel.dropped` (values that never reached a receiver: a send refused because the channel was full, closed
//! or had no receiver; values still queued when the receiver was dropped; values a lagging broadcast receiver
//! missed; watch values replaced before a receiver looked), `channel.queue_depth` (queued now) and, for bounded
//! `mpsc`, `channel.backpressure_latency_us` (the time sends waited for room, in total, and how many waited). For a
//! channel with one receiver, `sent = received + dropped + queue_depth` at every quiet moment.
//!
//! A channel made while a livetel subscriber is the thread's default (livetel's own, or a stack holding its
//! layer) is listed in that instance's status (`profiling.channels`) and on its `/metrics` while profiling is
//! on (`livetel_channel_{sent,received,dropped}_total`, `livetel_channel_queue_depth`,
//! `livetel_channel_backpressure_{waits,latency_microseconds}_total`, label `channel`); one made elsewhere
//! counts, unseen. The counting costs two relaxed atomic additions per send and per receive. Every end has
//! `counts()` ([`ChannelCounts`]) with the feature.
//!
//! **Without the feature `profiling`** these are tokio's own types and constructors (the name is ignored):
//! nothing is counted and nothing is compiled in.

pub mod broadcast;
pub mod mpsc;
#[cfg(feature = "profiling")]
mod stats;

#[cfg(feature = "profiling")]
pub use crate::figures::ChannelCounts;
pub mod watch;
