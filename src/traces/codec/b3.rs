//! Zipkin B3 headers (openzipkin/b3-propagation; OpenTelemetry's "B3 Requirements"), single and multiple.
//!
//! `opentelemetry-zipkin` 0.33 has a B3 propagator, but the crate marks itself deprecated (its Zipkin exporter
//! gives way to OTLP), so livetel carries this small codec instead:
//!
//! - single: `b3: {trace-id}-{span-id}[-{sampling}[-{parent-span-id}]]`, `sampling` one of `1`, `0`, `d`
//!   (debug, which implies sampled); absent: the decision is deferred to the callee;
//! - multiple: `x-b3-traceid`, `x-b3-spanid`, `x-b3-sampled` (`1`/`0`, and the legacy `true`/`false`),
//!   `x-b3-flags: 1` (debug), `x-b3-parentspanid` (read for validity only).
//!
//! Ids are lowercase hex: a 16- or 32-digit trace id (16 digits are left-padded with zeros), a 16-digit span id,
//! neither all zeros. Extraction tries the single header first (it takes precedence), then the multiple ones.
//! Injection writes the 32-digit trace id, the span id and the sampled flag; never the parent span id
//! (OpenTelemetry's B3 rule).

use opentelemetry::propagation::{Extractor, Injector};

use super::w3c::TraceParent;

const SINGLE: &str = "b3";
const TRACE_ID: &str = "x-b3-traceid";
const SPAN_ID: &str = "x-b3-spanid";
const SAMPLED: &str = "x-b3-sampled";
const FLAGS: &str = "x-b3-flags";
const PARENT_SPAN_ID: &str = "x-b3-parentspanid";

/// A B3 parent: its ids, and the caller's sampling decision (`None`: deferred to us).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct B3 {
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    pub(crate) sampled: Option<bool>,
}

impl B3 {
    /// The single header, else the multiple ones; `None` when neither is valid.
    pub(crate) fn extract(extractor: &dyn Extractor) -> Option<B3> {
        extractor
            .get(SINGLE)
            .and_then(single)
            .or_else(|| multi(extractor))
    }

    /// As a `traceparent`'s fields (a deferred decision reads as not sampled).
    pub(crate) fn parent(self) -> TraceParent {
        TraceParent {
            trace_id: self.trace_id,
            span_id: self.span_id,
            sampled: self.sampled == Some(true),
            random: false,
        }
    }
}

/// Writes `parent` as the `b3` header, with its sampling flag unless the decision is deferred (`None`).
pub(crate) fn inject_single(parent: &TraceParent, sampled: Option<bool>, injector: &mut dyn Injector) {
    let ids = format!("{:032x}-{:016x}", parent.trace_id, parent.span_id);
    let value = match sampled {
        Some(s) => format!("{ids}-{}", if s { '1' } else { '0' }),
        None => ids,
    };
    injector.set(SINGLE, value);
}

/// Writes `parent` as the `x-b3-*` headers, `x-b3-sampled` unless the decision is deferred (`None`).
pub(crate) fn inject_multi(parent: &TraceParent, sampled: Option<bool>, injector: &mut dyn Injector) {
    injector.set(TRACE_ID, format!("{:032x}", parent.trace_id));
    injector.set(SPAN_ID, format!("{:016x}", parent.span_id));
    if let Some(s) = sampled {
        injector.set(SAMPLED, if s { "1" } else { "0" }.to_owned());
    }
}

/// A deny without ids (openzipkin/b3-propagation, "Single Header": `b3: 0` "is a deny decision"; the multiple
/// headers' equivalent is `x-b3-sampled: 0` without `x-b3-traceid`): the receiver starts a trace of its own,
/// not sampled, and propagates the decision.
pub(crate) fn denies(extractor: &dyn Extractor) -> bool {
    match extractor.get(SINGLE) {
        Some(v) => v.trim() == "0",
        None => {
            extractor.get(TRACE_ID).is_none()
                && matches!(extractor.get(SAMPLED).map(str::trim), Some("0" | "false"))
        }
    }
}

fn single(value: &str) -> Option<B3> {
    let mut parts = value.trim().split('-');
    let (trace, span) = (parts.next()?, parts.next()?);
    let sampled = match parts.next() {
        None => None,
        Some("1" | "d") => Some(true),
        Some("0") => Some(false),
        Some(_) => return None,
    };
    if let Some(parent) = parts.next() {
        span_id(parent)?;
    }
    if parts.next().is_some() {
        return None;
    }
    ids(trace, span, sampled)
}

fn multi(extractor: &dyn Extractor) -> Option<B3> {
    let trace = extractor.get(TRACE_ID)?.trim();
    let span = extractor.get(SPAN_ID)?.trim();
    if let Some(parent) = extractor.get(PARENT_SPAN_ID) {
        span_id(parent.trim())?;
    }
    let debug = extractor.get(FLAGS).map(str::trim) == Some("1");
    let sampled = match extractor.get(SAMPLED).map(str::trim) {
        _ if debug => Some(true),
        None => None,
        Some("1" | "true") => Some(true),
        Some("0" | "false") => Some(false),
        Some(_) => return None,
    };
    ids(trace, span, sampled)
}

fn ids(trace: &str, span: &str, sampled: Option<bool>) -> Option<B3> {
    if trace.len() != 16 && trace.len() != 32 {
        return None;
    }
    let trace_id = hex(trace)?;
    let span_id = span_id(span)?;
    (trace_id != 0).then_some(B3 {
        trace_id,
        span_id,
        sampled,
    })
}

fn span_id(digits: &str) -> Option<u64> {
    if digits.len() != 16 {
        return None;
    }
    u64::try_from(hex(digits)?).ok().filter(|id| *id != 0)
}

/// Lowercase hex digits (at most 32) as a number: `traceparent`'s rule, which B3 shares.
fn hex(digits: &str) -> Option<u128> {
    super::w3c::hex(digits.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const T: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const S: &str = "00f067aa0ba902b7";
    const TID: u128 = 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736;
    const SID: u64 = 0x00f0_67aa_0ba9_02b7;

    fn headers(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn b3(sampled: Option<bool>) -> Option<B3> {
        Some(B3 {
            trace_id: TID,
            span_id: SID,
            sampled,
        })
    }

    #[test]
    fn single_header_forms() {
        for (value, want) in [
            (format!("{T}-{S}"), b3(None)),
            (format!("{T}-{S}-1"), b3(Some(true))),
            (format!("{T}-{S}-0"), b3(Some(false))),
            (format!("{T}-{S}-d"), b3(Some(true))),
            (format!("{T}-{S}-1-{S}"), b3(Some(true))),
            (
                format!("a3ce929d0e0e4736-{S}-1"),
                Some(B3 {
                    trace_id: 0xa3ce_929d_0e0e_4736,
                    span_id: SID,
                    sampled: Some(true),
                }),
            ),
            ("0".to_owned(), None),
            (format!("{T}-{S}-x"), None),
            (format!("{T}-{S}-1-{S}-9"), None),
            (format!("{T}-0000000000000000-1"), None),
            (format!("{}-{S}-1", T.to_uppercase()), None),
            (format!("{T}a-{S}-1"), None),
        ] {
            assert_eq!(B3::extract(&headers(&[("b3", &value)])), want, "{value}");
        }
    }

    #[test]
    fn multiple_header_forms() {
        let base = [("x-b3-traceid", T), ("x-b3-spanid", S)];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut h = headers(&base);
            h.extend(headers(extra));
            B3::extract(&h)
        };
        assert_eq!(with(&[]), b3(None));
        assert_eq!(with(&[("x-b3-sampled", "1")]), b3(Some(true)));
        assert_eq!(with(&[("x-b3-sampled", "false")]), b3(Some(false)));
        assert_eq!(
            with(&[("x-b3-flags", "1"), ("x-b3-sampled", "0")]),
            b3(Some(true))
        );
        assert_eq!(with(&[("x-b3-sampled", "yes")]), None);
        assert_eq!(with(&[("x-b3-parentspanid", "zz")]), None);
        assert_eq!(B3::extract(&headers(&[("x-b3-traceid", T)])), None);
    }

    #[test]
    fn a_deny_without_ids() {
        for h in [
            headers(&[("b3", "0")]),
            headers(&[("b3", " 0 ")]),
            headers(&[("x-b3-sampled", "0")]),
        ] {
            assert_eq!(B3::extract(&h), None);
            assert!(denies(&h), "{h:?}");
        }
        for h in [
            headers(&[("b3", "1")]),
            headers(&[("b3", &format!("{T}-{S}-0"))]),
            headers(&[("x-b3-traceid", T), ("x-b3-sampled", "0")]),
            headers(&[]),
        ] {
            assert!(!denies(&h), "{h:?}");
        }
    }

    #[test]
    fn the_single_header_takes_precedence() {
        let other = "1111111111111111";
        let h = headers(&[
            ("b3", &format!("{T}-{S}-0")),
            ("x-b3-traceid", T),
            ("x-b3-spanid", other),
        ]);
        assert_eq!(B3::extract(&h), b3(Some(false)));
    }

    #[test]
    fn injected_headers_read_back() {
        let parent = TraceParent {
            trace_id: TID,
            span_id: SID,
            sampled: true,
            random: false,
        };
        let mut single = HashMap::new();
        inject_single(&parent, Some(parent.sampled), &mut single);
        assert_eq!(single["b3"], format!("{T}-{S}-1"));
        let mut multi = HashMap::new();
        inject_multi(&parent, Some(parent.sampled), &mut multi);
        assert_eq!(B3::extract(&multi), b3(Some(true)));
        assert_eq!(B3::extract(&single).map(B3::parent), Some(parent));
    }
}
