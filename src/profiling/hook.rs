//! The profiling signal's hot-path half: a [`ProfilingHook`] meters the spans of its generation while they are
//! entered (thread CPU time, the thread's allocation counters), adds the figures to each span's fields at close,
//! and sums them per `agent.name` / `session.id` ([`crate::figures::Attribution`]).
//!
//! **Attribution reads the span's own fields**, not its ancestors': a span's figures already hold its
//! children's work done while it was entered, so a root span with `agent.name` (a turn, a request) carries the
//! cost of everything under it on its thread, and summing its ancestors' too would count the same work twice.
//! Put `agent.name` / `session.id` on the spans whose cost you want summed.

use std::sync::Arc;

#[cfg(feature = "profiling-alloc")]
use super::alloc;
use super::cpu;
#[cfg(feature = "profiling-pyroscope")]
use super::pyroscope::labels::{self, Label};
use super::system::SystemSampler;
use crate::counters::Counters;
use crate::figures::{ATTRIBUTED_FIELDS, Cost};
use crate::sinks::record::{Costs, FieldValue, SpanIds};
#[cfg(feature = "profiling-pyroscope")]
use crate::traces::hooks::LABEL_WORDS;
use crate::traces::hooks::{ClosedSpan, FieldsRead, METERS, SpanHook, Verdict};

/// Meter slots: thread CPU nanoseconds, then the allocation counters.
const CPU: usize = 0;
const ALLOC_COUNT: usize = 1;
const ALLOC_BYTES: usize = 2;
const DEALLOC_COUNT: usize = 3;
const DEALLOC_BYTES: usize = 4;

/// The profiling signal's running part, shared by every generation whose `[telemetry.profiling]` is the same.
pub(crate) struct ProfilingHook {
    pub(crate) cpu_time: bool,
    /// Counting allocations (the allocator counts while this is held).
    #[cfg(feature = "profiling-alloc")]
    pub(crate) alloc: Option<alloc::Counting>,
    pub(crate) counters: Arc<Counters>,
    /// The process sampler's thread, stopped (and joined) when the hook is dropped.
    pub(crate) system: Option<SystemSampler>,
    /// The CPU sampler pushing to Pyroscope, and whether this generation's spans label its samples.
    #[cfg(feature = "profiling-pyroscope")]
    pub(crate) pyroscope: Option<super::pyroscope::wiring::Pyroscope>,
    /// Publishes the figures on `/metrics` while held.
    _publishing: Publishing,
}

impl ProfilingHook {
    pub(crate) fn new(
        cpu_time: bool,
        #[cfg(feature = "profiling-alloc")] alloc: Option<alloc::Counting>,
        counters: Arc<Counters>,
        system: Option<SystemSampler>,
    ) -> ProfilingHook {
        let publishing = Publishing::start(&counters);
        ProfilingHook {
            cpu_time,
            #[cfg(feature = "profiling-alloc")]
            alloc,
            counters,
            system,
            #[cfg(feature = "profiling-pyroscope")]
            pyroscope: None,
            _publishing: publishing,
        }
    }

    /// True while its spans label CPU samples (`span_labels` not `none`, a Pyroscope endpoint set).
    pub(crate) fn labels_spans(&self) -> bool {
        #[cfg(feature = "profiling-pyroscope")]
        return self.pyroscope.as_ref().is_some_and(|p| p.labels_spans());
        #[cfg(not(feature = "profiling-pyroscope"))]
        false
    }

    /// True when a closing span gets `pyroscope.profile.id` (its samples carry its `span_id`).
    fn links_profiles(&self) -> bool {
        #[cfg(feature = "profiling-pyroscope")]
        return self
            .pyroscope
            .as_ref()
            .is_some_and(|p| p.labels == crate::config::SpanLabels::NameAndId);
        #[cfg(not(feature = "profiling-pyroscope"))]
        false
    }

    /// True while it counts allocations.
    pub(crate) fn counts_alloc(&self) -> bool {
        #[cfg(feature = "profiling-alloc")]
        return self.alloc.is_some();
        #[cfg(not(feature = "profiling-alloc"))]
        false
    }
}

impl SpanHook for ProfilingHook {
    fn on_close(&self, span: &ClosedSpan<'_>) -> Verdict {
        let Some(sums) = span.meters else {
            return Verdict::Pass;
        };
        if !(self.cpu_time || self.counts_alloc()) {
            return Verdict::Pass;
        }
        for field in ATTRIBUTED_FIELDS {
            let value = span.fields.iter().rev().find_map(|(k, v)| match v {
                _ if *k != field => None,
                FieldValue::Str(s) => Some(s.clone()),
                FieldValue::U64(n) => Some(compact_str::format_compact!("{n}")),
                FieldValue::I64(n) => Some(compact_str::format_compact!("{n}")),
                _ => None,
            });
            if let Some(value) = value {
                let cost = Cost {
                    cpu_micros: sums[CPU] / 1_000,
                    alloc_count: sums[ALLOC_COUNT],
                    alloc_bytes: sums[ALLOC_BYTES],
                    dealloc_bytes: sums[DEALLOC_BYTES],
                };
                self.counters.figures.attribution.add(field, &value, cost);
            }
        }
        Verdict::Pass
    }

    /// The fields its figures are summed by.
    fn fields_read(&self) -> FieldsRead {
        FieldsRead::Named(ATTRIBUTED_FIELDS.iter().map(|f| (*f).to_owned()).collect())
    }

    fn meters(&self) -> bool {
        self.cpu_time || self.counts_alloc() || self.labels_spans()
    }

    #[inline]
    fn read_meters(&self, out: &mut [u64; METERS]) {
        if self.cpu_time {
            out[CPU] = cpu::thread_cpu_ns();
        }
        #[cfg(feature = "profiling-alloc")]
        if self.alloc.is_some() {
            out[ALLOC_COUNT..=DEALLOC_BYTES].copy_from_slice(&alloc::thread_counts());
        }
    }

    #[cfg(feature = "profiling-pyroscope")]
    #[inline]
    fn label_enter(&self, name: &'static str, ids: &SpanIds, saved: &mut [u64; LABEL_WORDS]) {
        if self.labels_spans() {
            let label = Label {
                name,
                span_id: ids.span_id,
                trace_id: ids.trace_id,
            };
            labels::enter_saving(label, saved);
        }
    }

    #[cfg(feature = "profiling-pyroscope")]
    #[inline]
    fn label_exit(&self, saved: &[u64; LABEL_WORDS]) {
        if self.labels_spans() {
            labels::restore_saved(saved);
        }
    }

    fn meter_costs(&self, sums: &[u64; METERS], ids: &SpanIds) -> Costs {
        Costs {
            profile_id: self.links_profiles().then_some(ids.span_id),
            cpu_micros: self.cpu_time.then(|| sums[CPU] / 1_000),
            alloc: self.counts_alloc().then(|| {
                [
                    sums[ALLOC_COUNT],
                    sums[ALLOC_BYTES],
                    sums[DEALLOC_COUNT],
                    sums[DEALLOC_BYTES],
                ]
            }),
        }
    }
}

/// `/metrics` serves profiling's figures while some hook holds one of these.
struct Publishing(Arc<Counters>);

impl Publishing {
    fn start(counters: &Arc<Counters>) -> Publishing {
        counters
            .figures
            .publishers
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Publishing(Arc::clone(counters))
    }
}

impl Drop for Publishing {
    fn drop(&mut self) {
        self.0
            .figures
            .publishers
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}
