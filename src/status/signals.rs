//! The other signals' parts of status: metrics, time budgets and profiling. See [`super::TelemetryStatus`].

use serde::Serialize;

use crate::counters::MetricsExportCounts;

/// Span metrics, when they are on: [`super::TelemetryStatus::metrics`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MetricsStatus {
    /// Always `true` (the entry is `None` when metrics are off).
    pub enabled: bool,
    /// The address `/metrics` is served on, as bound (the chosen port when `listen` says port 0).
    pub listen: Option<std::net::SocketAddr>,
    /// Label sets held, the overflow series not counted.
    pub series: usize,
    /// The metric families that reached `max_series` (their new label sets count in the overflow series).
    pub overflowed: Vec<String>,
    /// OTLP metrics, while the `otlp` backend is configured: where they go and how exports fared.
    pub otlp: Option<MetricsOtlpStatus>,
}

/// OTLP metrics export: [`MetricsStatus::otlp`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MetricsOtlpStatus {
    /// The URL exports go to (`.../v1/metrics` over HTTP, the collector's address over gRPC).
    pub endpoint: String,
    /// `grpc` or `http/protobuf`.
    pub protocol: &'static str,
    /// `cumulative` or `delta`.
    pub temporality: &'static str,
    /// The export period.
    pub interval_ms: u64,
    /// Exports and points since start-up, every exporter together (never reset).
    #[serde(flatten)]
    pub counts: MetricsExportCounts,
    /// The last export error, if the last export failed.
    pub last_error: Option<String>,
}

/// Time budgets (`[telemetry.budgets]`): [`super::TelemetryStatus::budgets`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BudgetsStatus {
    /// Budgets are running (some span name has one); `false` when only counts from earlier are left.
    pub enabled: bool,
    /// The running soft limit (percent of a budget), when budgets are running.
    pub soft_limit_pct: Option<u32>,
    /// Every span name ever budgeted since start-up, by name.
    pub spans: Vec<BudgetStatus>,
}

/// One span name's budget and counts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct BudgetStatus {
    /// The span name.
    pub name: String,
    /// Its running budget (`"50ms"`); `None` when the running config no longer budgets it.
    pub budget: Option<String>,
    /// Spans that closed past the soft limit, within the budget (WARN events), since start-up.
    pub soft_exceeded: u64,
    /// Spans that closed past the budget (ERROR events), since start-up.
    pub exceeded: u64,
}

/// Profiling, when it is on: [`super::TelemetryStatus::profiling`].
#[cfg(feature = "profiling")]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ProfilingStatus {
    /// Spans carry allocation figures (`alloc`).
    pub alloc: bool,
    /// `livetel::profiling::CountingAllocator` is the process's global allocator.
    pub allocator_installed: bool,
    /// Spans carry `resource.cpu.micros` (`cpu_time`).
    pub cpu_time: bool,
    /// The process sampler's interval, while it runs.
    pub system_metrics_interval_secs: Option<u64>,
    /// Process samples taken since start-up.
    pub system_samples: u64,
    /// The last process sample.
    pub process: Option<ProcessSample>,
    /// The ten costliest `agent.name` / `session.id` values (CPU first, then bytes allocated), and the overflow
    /// row when the table is full.
    pub top: Vec<Attributed>,
    /// The instrumented channels (`livetel::channel`) made under this instance's subscriber, while they live.
    pub channels: Vec<crate::figures::ChannelCounts>,
    /// The CPU sampler's counters, while it pushes to Pyroscope (feature `profiling-pyroscope`).
    #[cfg(feature = "profiling-pyroscope")]
    pub pyroscope: Option<PyroscopeStats>,
}

#[cfg(feature = "profiling-pyroscope")]
pub use crate::figures::PyroscopeStats;
#[cfg(feature = "profiling")]
pub use crate::figures::{Attributed, ProcessSample};
