//! The store of span metrics: one [`Series`] per label set, never reset while the process lives.
//!
//! A series holds its histogram's bucket counts and its sum (integer nanoseconds) in atomics, and one exemplar
//! slot per bucket. Its call count is the sum of its buckets (so `_count` always equals the `+Inf` bucket), and
//! the error count of a label set is the count of its `status="error"` series. The map from label sets to
//! series is taken only when a hook meets a label set it has not seen ([`Store::series_for`]); the hot path
//! reads a per-hook snapshot instead (`super::hook`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, RwLock};

use compact_str::CompactString;

/// `otel.kind` of a span, as OpenTelemetry names them; `internal` when the span has none (or another value).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Kind {
    Internal,
    Server,
    Client,
    Producer,
    Consumer,
}

impl Kind {
    /// The kind a span's `otel.kind` field names (any case).
    pub(crate) fn of(value: &str) -> Kind {
        const KINDS: [(&str, Kind); 4] = [
            ("server", Kind::Server),
            ("client", Kind::Client),
            ("producer", Kind::Producer),
            ("consumer", Kind::Consumer),
        ];
        KINDS
            .iter()
            .find(|(name, _)| value.eq_ignore_ascii_case(name))
            .map_or(Kind::Internal, |(_, k)| *k)
    }

    /// The label value.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Internal => "internal",
            Kind::Server => "server",
            Kind::Client => "client",
            Kind::Producer => "producer",
            Kind::Consumer => "consumer",
        }
    }
}

/// The labels of one series.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Labels {
    pub(crate) span_name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) error: bool,
    pub(crate) service: Arc<str>,
    /// `span_labels` present on the span: the label name (Prometheus-safe) and the value.
    pub(crate) extra: Box<[(Arc<str>, CompactString)]>,
}

/// A recent sampled span that fell in a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Exemplar {
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    pub(crate) duration_ns: u64,
    /// When it was taken, on the trace clock (`crate::clock::now_ns`): OTLP exemplars carry their time.
    pub(crate) at_ns: u64,
}

/// One label set's histogram: never reset.
#[derive(Debug)]
pub(crate) struct Series {
    /// `None` for the overflow series (`otel_metric_overflow="true"`).
    pub(crate) labels: Option<Labels>,
    /// Per-bucket counts (not cumulative); the last is `+Inf`.
    buckets: Box<[AtomicU64]>,
    sum_ns: AtomicU64,
    exemplars: Box<[Mutex<Option<Exemplar>>]>,
    /// Whether each bucket's exemplar slot holds one yet.
    filled: Box<[AtomicBool]>,
}

/// A bucket's exemplar is renewed by a sampled span that is the bucket's first or its every this-many-th (or
/// while the slot is empty): recent enough to link a spike to a trace, and the slot's lock is taken by one span
/// in this many instead of by each (it cost P1m about a third of the metrics' per-span cost).
const EXEMPLAR_EVERY: u64 = 16;

/// What a scrape reads of a series.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Snapshot {
    /// Per-bucket counts; the last is `+Inf`.
    pub(crate) buckets: Vec<u64>,
    pub(crate) count: u64,
    pub(crate) sum_ns: u64,
    pub(crate) exemplars: Vec<Option<Exemplar>>,
}

impl Series {
    fn new(labels: Option<Labels>, bounds: usize) -> Series {
        Series {
            labels,
            buckets: (0..=bounds).map(|_| AtomicU64::new(0)).collect(),
            sum_ns: AtomicU64::new(0),
            exemplars: (0..=bounds).map(|_| Mutex::new(None)).collect(),
            filled: (0..=bounds).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// One span of `duration_ns` in bucket `i`; `exemplar` for a sampled span (skipped when a scrape or
    /// another thread holds the slot: never waits).
    #[inline]
    pub(crate) fn record(&self, i: usize, duration_ns: u64, exemplar: Option<(u128, u64)>) {
        let seen = self.buckets.get(i).map_or(0, |b| b.fetch_add(1, Relaxed));
        self.sum_ns.fetch_add(duration_ns, Relaxed);
        let Some((trace_id, span_id)) = exemplar else {
            return;
        };
        let empty = || self.filled.get(i).is_some_and(|f| !f.load(Relaxed));
        if !seen.is_multiple_of(EXEMPLAR_EVERY) && !empty() {
            return;
        }
        if let Some(Ok(mut slot)) = self.exemplars.get(i).map(Mutex::try_lock) {
            *slot = Some(Exemplar {
                trace_id,
                span_id,
                duration_ns,
                at_ns: crate::clock::now_ns(),
            });
            if let Some(f) = self.filled.get(i) {
                f.store(true, Relaxed);
            }
        }
    }

    /// Its figures now.
    pub(crate) fn snapshot(&self) -> Snapshot {
        let buckets: Vec<u64> = self.buckets.iter().map(|b| b.load(Relaxed)).collect();
        Snapshot {
            count: buckets.iter().sum(),
            buckets,
            sum_ns: self.sum_ns.load(Relaxed),
            exemplars: self
                .exemplars
                .iter()
                .map(|e| e.lock().map_or(None, |e| *e))
                .collect(),
        }
    }
}

/// Every series since the store was made, and the bounds they share.
#[derive(Debug)]
pub(crate) struct Store {
    /// Bucket upper bounds in seconds, and the same in nanoseconds (what spans are compared with).
    bounds: Box<[f64]>,
    bounds_ns: Box<[u64]>,
    series: RwLock<HashMap<Labels, Arc<Series>>>,
    overflow: Arc<Series>,
    overflowed: AtomicBool,
}

impl Store {
    /// An empty store with these bucket bounds (seconds, validated: finite, above 0, increasing).
    pub(crate) fn new(bounds: &[f64]) -> Store {
        Store {
            bounds: bounds.into(),
            bounds_ns: bounds.iter().map(|b| (b * 1e9).round() as u64).collect(),
            series: RwLock::new(HashMap::new()),
            overflow: Arc::new(Series::new(None, bounds.len())),
            overflowed: AtomicBool::new(false),
        }
    }

    /// The bounds in seconds.
    pub(crate) fn bounds(&self) -> &[f64] {
        &self.bounds
    }

    /// The bucket a span of `duration_ns` falls in: the first bound it does not exceed (`le`), else `+Inf`.
    /// A scan from the smallest bound, not a binary search: most spans fall in the first buckets, where the scan
    /// stops at once on a branch the CPU predicts, while the search's dependent loads cost every span about
    /// 5 ns (perf, P1m_static).
    #[inline]
    pub(crate) fn bucket_of(&self, duration_ns: u64) -> usize {
        self.bounds_ns
            .iter()
            .position(|&b| duration_ns <= b)
            .unwrap_or(self.bounds_ns.len())
    }

    /// The series of `labels`: found, made (while the store holds fewer than `max` label sets), or the
    /// overflow series. A lower `max` after a reload keeps the series already made.
    pub(crate) fn series_for(&self, labels: Labels, max: usize) -> Arc<Series> {
        if let Ok(map) = self.series.read() {
            if let Some(s) = map.get(&labels) {
                return Arc::clone(s);
            }
            if map.len() >= max {
                self.overflowed.store(true, Relaxed);
                return Arc::clone(&self.overflow);
            }
        }
        let Ok(mut map) = self.series.write() else {
            return Arc::clone(&self.overflow);
        };
        if let Some(s) = map.get(&labels) {
            return Arc::clone(s);
        }
        if map.len() >= max {
            self.overflowed.store(true, Relaxed);
            return Arc::clone(&self.overflow);
        }
        let series = Arc::new(Series::new(Some(labels.clone()), self.bounds.len()));
        map.insert(labels, Arc::clone(&series));
        series
    }

    /// Every series, sorted by labels, then the overflow series if it has counted a span.
    pub(crate) fn all(&self) -> Vec<Arc<Series>> {
        let mut all: Vec<Arc<Series>> = match self.series.read() {
            Ok(map) => map.values().cloned().collect(),
            Err(_) => Vec::new(),
        };
        all.sort_by(|a, b| a.labels.cmp(&b.labels));
        if self.overflowed() {
            all.push(Arc::clone(&self.overflow));
        }
        all
    }

    /// Label sets held (the overflow series not counted).
    pub(crate) fn len(&self) -> usize {
        self.series.read().map_or(0, |m| m.len())
    }

    /// True once a label set was refused for `max_series`.
    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed.load(Relaxed)
    }
}
