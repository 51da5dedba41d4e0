//! Tail decisions: traces the head dropped, held in the process until their local root ends, then kept when a
//! span ended in error or the root was slow (`always_sample_errors`, `always_sample_slow_seconds`).
//!
//! A local root the head drops gets a [`TailTrace`] when its generation has a [`TailPolicy`]; its children share
//! it (an `Arc` in each span's state). Each span of the trace that closes before the root is held there, in the
//! order spans close; the root's close decides. Kept: the held spans go to the sinks of their generation, in
//! order, and spans closing later go straight there. Dropped: they are counted as sampled out, and so are spans
//! closing later. A trace is whole or absent in every sink, never torn.
//!
//! Bounds, all counted (`dropped_by_bound`, per span and per trace): a trace with more than `max_spans_per_trace`
//! spans, held longer than `max_age_ms`, or whose next span would take the bytes held for all traces over
//! `max_buffered_bytes`, is dropped whole when a span of it closes past the bound; a trace beginning while
//! `max_traces_in_flight` are held is never held. The per-trace lock is taken only by the app
//! threads that close the trace's spans, for a push or a decision: never by an exporter (sinks take records
//! through their non-blocking queues, after the lock is released).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::clock;
use crate::counters::Counters;
use crate::sinks::fields::marks_error;
use crate::sinks::record::{FieldValue, Fields, Record};
use crate::traces::generation::Generation;
use crate::traces::sampler::TailPolicy;

/// Where a held trace is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Its local root is open: spans are held.
    Held,
    /// Kept: spans go to their sinks.
    Kept,
    /// Not kept: spans are counted as sampled out.
    Dropped,
    /// Dropped whole by a bound: spans are counted as dropped by a bound.
    Bounded,
}

/// The spans held for one trace.
struct Held {
    phase: Phase,
    spans: Vec<(Arc<Generation>, Record)>,
    /// Estimated bytes of `spans`.
    bytes: u64,
}

/// One trace the head dropped, held until its local root decides. Shared by the spans of the trace.
pub(crate) struct TailTrace {
    policy: TailPolicy,
    /// When the local root began.
    start_ns: u64,
    /// Some span ended in error, or an ERROR event happened inside the trace.
    error: AtomicBool,
    /// A signal's hook asked to keep the trace (a span over its time budget): kept as for latency.
    keep: AtomicBool,
    /// Refused at its start by `max_traces_in_flight`, and counted as dropped by a bound then (until its root
    /// joins a trace the head keeps: see [`TailTrace::abandon`]).
    refused: AtomicBool,
    counters: Arc<Counters>,
    held: Mutex<Held>,
}

/// Why a held trace was kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Error,
    Latency,
}

impl TailTrace {
    /// Holds a new trace beginning at `start_ns`, or refuses it (dropped whole by a bound, and counted) when
    /// `max_traces_in_flight` are held already.
    pub(crate) fn begin(policy: TailPolicy, counters: &Arc<Counters>, start_ns: u64) -> Arc<TailTrace> {
        let buffered = &counters.traces.buffered;
        let phase = if buffered.add_get(1) > policy.max_traces {
            buffered.sub(1);
            counters.traces.dropped_by_bound.add(1);
            Phase::Bounded
        } else {
            Phase::Held
        };
        Arc::new(TailTrace {
            policy,
            start_ns,
            error: AtomicBool::new(false),
            keep: AtomicBool::new(false),
            refused: AtomicBool::new(phase == Phase::Bounded),
            counters: Arc::clone(counters),
            held: Mutex::new(Held {
                phase,
                spans: Vec::new(),
                bytes: 0,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Held> {
        self.held
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Notes an error in the trace (an ERROR event inside it).
    pub(crate) fn mark_error(&self) {
        self.error.store(true, Ordering::Relaxed);
    }

    /// Asks that the trace be kept (a hook's [`Verdict::KeepTrace`](crate::traces::hooks::Verdict)): counted as
    /// kept for latency, unless an error keeps it.
    pub(crate) fn mark_keep(&self) {
        self.keep.store(true, Ordering::Relaxed);
    }

    /// A span of the trace closed in `generation`; `local_root` when it is the span that decides.
    pub(crate) fn close(&self, generation: &Arc<Generation>, record: Record, local_root: bool) {
        if self.policy.errors && record.fields.iter().any(marks_error) {
            self.mark_error();
        }
        let mut held = self.lock();
        match held.phase {
            Phase::Kept => {
                drop(held);
                generation.sinks.send_span(record, &generation.counters);
            }
            Phase::Dropped => self.counters.sampled_out.add(generation.sinks.span_copies()),
            Phase::Bounded => self.counters.dropped_by_bound.add(generation.sinks.span_copies()),
            Phase::Held => {
                let bytes = record_bytes(&record);
                let traces = &self.counters.traces;
                // The root's own close decides: age bounds the spans that close before it, not the decision (a
                // trace slower than `max_age_ms` can still be kept for latency or an error).
                let over = held.spans.len() >= self.policy.max_spans
                    || traces.buffered_bytes.get() + bytes > self.policy.max_bytes
                    || (!local_root
                        && clock::now_ns().saturating_sub(self.start_ns) > self.policy.max_age_ns);
                held.spans.push((Arc::clone(generation), record));
                held.bytes += bytes;
                traces.hold_bytes(bytes);
                if over {
                    self.settle(held, Phase::Bounded);
                } else if local_root {
                    self.decide(held);
                }
            }
        }
    }

    /// The local root closed (its record is the last held): keep or drop the trace.
    fn decide(&self, held: MutexGuard<'_, Held>) {
        let dur = held.spans.last().and_then(|(_, r)| r.dur_ns).unwrap_or(0);
        let reason = if self.policy.errors && self.error.load(Ordering::Relaxed) {
            Some(Reason::Error)
        } else if self.keep.load(Ordering::Relaxed) || self.policy.slow_ns.is_some_and(|t| dur > t) {
            Some(Reason::Latency)
        } else {
            None
        };
        let traces = &self.counters.traces;
        match reason {
            Some(Reason::Error) => traces.kept_by_error.add(1),
            Some(Reason::Latency) => traces.kept_by_latency.add(1),
            None => traces.dropped_by_sampling.add(1),
        }
        let phase = if reason.is_some() {
            Phase::Kept
        } else {
            Phase::Dropped
        };
        self.settle(held, phase);
    }

    /// Leaves the held phase for `phase`: sends or counts what was held, outside the lock.
    fn settle(&self, mut held: MutexGuard<'_, Held>, phase: Phase) {
        held.phase = phase;
        let spans = std::mem::take(&mut held.spans);
        let bytes = std::mem::take(&mut held.bytes);
        drop(held);
        self.release(bytes);
        if phase == Phase::Bounded {
            self.counters.traces.dropped_by_bound.add(1);
        }
        for (generation, record) in spans {
            let copies = generation.sinks.span_copies();
            match phase {
                Phase::Kept => generation.sinks.send_span(record, &generation.counters),
                Phase::Bounded => self.counters.dropped_by_bound.add(copies),
                Phase::Dropped | Phase::Held => self.counters.sampled_out.add(copies),
            }
        }
    }

    fn release(&self, bytes: u64) {
        let traces = &self.counters.traces;
        traces.buffered.sub(1);
        traces.buffered_bytes.sub(bytes);
    }

    /// The root joined a remote trace the head keeps: nothing of this trace is held any more (its spans so
    /// far, from before it joined, count as sampled out), and no trace outcome is counted for it.
    pub(crate) fn abandon(&self) {
        let held = self.lock();
        match held.phase {
            Phase::Held => self.settle(held, Phase::Dropped),
            // Refused at its start and counted then; the root's own outcome (kept by head) is the trace's now.
            Phase::Bounded if self.refused.swap(false, Ordering::Relaxed) => {
                self.counters.traces.dropped_by_bound.sub(1);
            }
            _ => {}
        }
    }
}

/// A trace whose root never closed (its subscriber went away): what it held is counted as dropped by a bound.
impl Drop for TailTrace {
    fn drop(&mut self) {
        let held = self.lock();
        if held.phase == Phase::Held {
            self.settle(held, Phase::Bounded);
        }
    }
}

/// About how many bytes `record` holds: itself and what it owns on the heap.
fn record_bytes(record: &Record) -> u64 {
    let fields = |f: &Fields| {
        let spilled = if f.spilled() {
            f.capacity() * std::mem::size_of::<(&str, FieldValue)>()
        } else {
            0
        };
        spilled
            + f.iter()
                .map(|(_, v)| match v {
                    FieldValue::Str(s) if s.is_heap_allocated() => s.capacity(),
                    _ => 0,
                })
                .sum::<usize>()
    };
    let events =
        record.events.buffer_bytes() + record.events.iter().map(|e| fields(&e.fields)).sum::<usize>();
    (std::mem::size_of::<(Arc<Generation>, Record)>() + fields(&record.fields) + events) as u64
}

#[cfg(test)]
#[path = "tail_tests.rs"]
mod tests;
