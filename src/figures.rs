//! What profiling measures and other parts read: CPU time and allocations summed per `agent.name` /
//! `session.id` ([`Attribution`]), the process's last sample ([`ProcessSample`]), and the instrumented
//! channels' counts ([`ChannelStats`]). Held in
//! [`crate::counters::Counters`], so no reload resets them; profiling writes them, status and `/metrics` read.
//! A leaf: it imports nothing else of the crate.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, Weak};

use compact_str::CompactString;
use serde::Serialize;

/// The span fields figures are summed by.
pub(crate) const ATTRIBUTED_FIELDS: [&str; 2] = ["agent.name", "session.id"];

/// Distinct (field, value) pairs kept; the figures of further ones are summed in one overflow row.
pub(crate) const MAX_ATTRIBUTED: usize = 1024;

/// What spans carrying one `agent.name` or `session.id` value cost, summed since start-up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Attributed {
    /// `agent.name` or `session.id`; `"*"` for the overflow row.
    pub field: &'static str,
    /// The field's value; `""` for the overflow row.
    pub value: String,
    /// Spans summed.
    pub spans: u64,
    /// Thread CPU time while they were entered (`cpu_time`), in microseconds.
    pub cpu_micros: u64,
    /// Allocations made while they were entered (`alloc`).
    pub alloc_count: u64,
    /// Bytes allocated while they were entered.
    pub alloc_bytes: u64,
    /// Bytes freed while they were entered.
    pub dealloc_bytes: u64,
}

/// One span's figures, to be summed.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Cost {
    pub(crate) cpu_micros: u64,
    pub(crate) alloc_count: u64,
    pub(crate) alloc_bytes: u64,
    pub(crate) dealloc_bytes: u64,
}

/// The bounded table of [`Attributed`] rows.
#[derive(Default)]
pub(crate) struct Attribution {
    rows: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    by_key: HashMap<(&'static str, CompactString), Attributed>,
    overflow: Option<Attributed>,
}

impl Attribution {
    /// Adds `cost` to the row of `field = value` (or to the overflow row when the table is full).
    pub(crate) fn add(&self, field: &'static str, value: &str, cost: Cost) {
        let Ok(mut t) = self.rows.lock() else { return };
        let full = t.by_key.len() >= MAX_ATTRIBUTED;
        let key = (field, CompactString::from(value));
        let row = match t.by_key.contains_key(&key) || !full {
            true => t.by_key.entry(key).or_insert_with(|| Attributed {
                field,
                value: value.to_owned(),
                ..Attributed::default()
            }),
            false => t.overflow.get_or_insert_with(|| Attributed {
                field: "*",
                ..Attributed::default()
            }),
        };
        row.spans += 1;
        row.cpu_micros += cost.cpu_micros;
        row.alloc_count += cost.alloc_count;
        row.alloc_bytes += cost.alloc_bytes;
        row.dealloc_bytes += cost.dealloc_bytes;
    }

    /// Every row (the overflow row last), or the `n` costliest (CPU time first, then bytes allocated).
    pub(crate) fn rows(&self, n: Option<usize>) -> Vec<Attributed> {
        let Ok(t) = self.rows.lock() else {
            return Vec::new();
        };
        let mut rows: Vec<Attributed> = t.by_key.values().cloned().collect();
        rows.sort_by(|a, b| {
            (b.cpu_micros, b.alloc_bytes, &a.field, &a.value).cmp(&(
                a.cpu_micros,
                a.alloc_bytes,
                &b.field,
                &b.value,
            ))
        });
        if let Some(n) = n {
            rows.truncate(n);
        }
        rows.extend(t.overflow.clone());
        rows
    }
}

/// The process's figures at one moment, by OpenTelemetry's semantic-convention names.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ProcessSample {
    /// `process.memory.rss`, in bytes.
    pub memory_rss: u64,
    /// `process.cpu.utilization`: CPU time used since the previous sample over wall time and cores (0..=1).
    pub cpu_utilization: f64,
    /// `process.thread.count`.
    pub thread_count: u64,
    /// `process.open_file_descriptor.count`.
    pub open_file_descriptors: u64,
}

/// The process's last sample (with the `service.name` it was taken under), and how many were taken.
#[derive(Default)]
pub(crate) struct Process {
    last: Mutex<Option<ProcessSample>>,
    service: Mutex<String>,
    taken: std::sync::atomic::AtomicU64,
}

impl Process {
    pub(crate) fn publish(&self, sample: ProcessSample, service: &str) {
        if let Ok(mut last) = self.last.lock() {
            *last = Some(sample);
        }
        if let Ok(mut s) = self.service.lock()
            && *s != service
        {
            service.clone_into(&mut s);
        }
        self.taken.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    pub(crate) fn last(&self) -> Option<ProcessSample> {
        self.last.lock().ok().and_then(|l| *l)
    }

    /// The `service.name` of the last sample.
    pub(crate) fn service(&self) -> String {
        self.service.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub(crate) fn taken(&self) -> u64 {
        self.taken.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// One instrumented channel's counts (`livetel::channel`). Balance, for a channel with one receiver:
/// `sent = received + dropped + depth`.
#[derive(Debug, Default)]
pub(crate) struct ChannelStats {
    pub(crate) name: &'static str,
    /// `mpsc`, `mpsc_unbounded`, `watch` or `broadcast`.
    pub(crate) kind: &'static str,
    /// Send attempts.
    pub(crate) sent: AtomicU64,
    /// Values a receiver took.
    pub(crate) received: AtomicU64,
    /// Values that never reached a receiver: a send refused (full, closed, no receiver), values left queued
    /// when the receiver was dropped, values a lagging broadcast receiver missed, watch values overwritten
    /// before a receiver saw them.
    pub(crate) dropped: AtomicU64,
    /// Values queued now.
    pub(crate) depth: AtomicI64,
    /// Sends that waited for room, and how long they waited in total, in microseconds.
    pub(crate) backpressure_waits: AtomicU64,
    pub(crate) backpressure_micros: AtomicU64,
}

/// The counts of one channel, read now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ChannelCounts {
    /// The name it was made with.
    pub name: &'static str,
    /// `mpsc`, `mpsc_unbounded`, `watch` or `broadcast`.
    pub kind: &'static str,
    /// `channel.sent`: send attempts.
    pub sent: u64,
    /// `channel.received`.
    pub received: u64,
    /// `channel.dropped`: values that never reached a receiver.
    pub dropped: u64,
    /// `channel.queue_depth`: values queued now.
    pub queue_depth: u64,
    /// Sends that waited for room (bounded `mpsc`).
    pub backpressure_waits: u64,
    /// `channel.backpressure_latency_us`: the time they waited, in total.
    pub backpressure_latency_us: u64,
}

impl ChannelStats {
    pub(crate) fn counts(&self) -> ChannelCounts {
        // Outcomes before attempts, so a reading never shows more outcomes than sends.
        let received = self.received.load(Relaxed);
        let dropped = self.dropped.load(Relaxed);
        let depth = u64::try_from(self.depth.load(Relaxed)).unwrap_or(0);
        ChannelCounts {
            name: self.name,
            kind: self.kind,
            sent: self.sent.load(Relaxed),
            received,
            dropped,
            queue_depth: depth,
            backpressure_waits: self.backpressure_waits.load(Relaxed),
            backpressure_latency_us: self.backpressure_micros.load(Relaxed),
        }
    }
}

/// The instrumented channels made under this instance's subscriber, while they live.
#[derive(Default)]
pub(crate) struct Channels(Mutex<Vec<Weak<ChannelStats>>>);

impl Channels {
    pub(crate) fn register(&self, stats: &Arc<ChannelStats>) {
        if let Ok(mut all) = self.0.lock() {
            all.retain(|s| s.strong_count() > 0);
            all.push(Arc::downgrade(stats));
        }
    }

    /// Every live channel's counts.
    pub(crate) fn counts(&self) -> Vec<ChannelCounts> {
        let Ok(all) = self.0.lock() else {
            return Vec::new();
        };
        all.iter().filter_map(Weak::upgrade).map(|s| s.counts()).collect()
    }
}

/// Profiling's figures, held by the counters.
#[derive(Default)]
pub(crate) struct Figures {
    pub(crate) attribution: Attribution,
    pub(crate) process: Process,
    pub(crate) channels: Channels,
    /// Live profiling hooks: `/metrics` serves the figures while there is one.
    pub(crate) publishers: std::sync::atomic::AtomicUsize,
}

impl Figures {
    /// True while profiling is on in some live generation.
    pub(crate) fn published(&self) -> bool {
        self.publishers.load(std::sync::atomic::Ordering::Relaxed) > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_sum_and_the_table_is_bounded() {
        let a = Attribution::default();
        let cost = |cpu| Cost {
            cpu_micros: cpu,
            alloc_count: 1,
            alloc_bytes: 10,
            dealloc_bytes: 4,
        };
        a.add("agent.name", "planner", cost(5));
        a.add("agent.name", "planner", cost(7));
        a.add("session.id", "s1", cost(100));
        let rows = a.rows(Some(10));
        assert_eq!(rows[0].value, "s1");
        assert_eq!(
            (rows[1].spans, rows[1].cpu_micros, rows[1].alloc_bytes),
            (2, 12, 20)
        );
        for i in 0..MAX_ATTRIBUTED + 5 {
            a.add("session.id", &format!("x{i}"), cost(1));
        }
        let all = a.rows(None);
        assert_eq!(all.len(), MAX_ATTRIBUTED + 1);
        let overflow = all.last().unwrap();
        assert_eq!((overflow.field, overflow.spans), ("*", 7));
        assert_eq!(a.rows(Some(10)).len(), 11);
    }
}

#[cfg(feature = "profiling-pyroscope")]
/// The Pyroscope CPU sampler's counters (`livetel::profiling::pyroscope::Stats`; here, below status, so that
/// status can show them without importing the profiling tier). Once it has stopped,
/// `samples_taken = samples_pushed + samples_dropped_in_profiles`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct PyroscopeStats {
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
