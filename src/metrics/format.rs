//! What both families of `/metrics` (the span metrics and livetel's own) share: the exposition format a scrape
//! asks for, and a counter's value as fastmetrics encodes it.

use fastmetrics::encoder::{EncodeMetric, MetricEncoder};
use fastmetrics::format::text::TextProfile;
use fastmetrics::raw::{MetricLabelSet, MetricType, TypedMetric};

/// The exposition formats `/metrics` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// Prometheus text 0.0.4: no exemplars.
    Text,
    /// OpenMetrics 1.0: exemplars on histogram buckets.
    OpenMetrics,
}

impl Format {
    pub(crate) fn profile(self) -> TextProfile {
        match self {
            Format::Text => TextProfile::PrometheusV0_0_4,
            Format::OpenMetrics => TextProfile::OpenMetricsV1_0_0 {
                escaping_scheme: Default::default(),
            },
        }
    }

    /// The `Content-Type` of a body in this format.
    pub(crate) fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// The format an `Accept` header asks for: OpenMetrics when it names it, else text 0.0.4.
    pub(crate) fn from_accept(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Text,
        }
    }

    /// A counter family's name: `base` in OpenMetrics (samples get `_total`), `base_total` in 0.0.4.
    pub(crate) fn counter(self, base: &str) -> String {
        match self {
            Format::Text => format!("{base}_total"),
            Format::OpenMetrics => base.to_owned(),
        }
    }
}

/// A counter's value.
pub(crate) struct Total(pub(crate) u64);

impl TypedMetric for Total {
    const TYPE: MetricType = MetricType::Counter;
}

impl MetricLabelSet for Total {
    type LabelSet = ();
}

impl EncodeMetric for Total {
    fn encode(&self, encoder: &mut dyn MetricEncoder) -> fastmetrics::error::Result<()> {
        encoder.encode_counter(&self.0, None, None)
    }
}
