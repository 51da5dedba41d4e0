//! `http::HeaderMap` as OpenTelemetry's `Extractor` and `Injector`, for the `http` and `grpc` features (gRPC
//! metadata travels in HTTP/2 headers).

use http::header::{HeaderMap, HeaderName, HeaderValue};
use opentelemetry::propagation::{Extractor, Injector};

#[cfg(doc)]
use crate::propagation;

/// Reads an `http::HeaderMap` for [`propagation::extract`], every value of a repeated header included.
///
/// ```
/// # #[cfg(feature = "http")] {
/// let headers = http::HeaderMap::new();
/// let cx = livetel::propagation::extract(&livetel::http::HeaderExtractor(&headers));
/// # let _ = cx; }
/// ```
#[derive(Debug)]
pub struct HeaderExtractor<'a>(pub &'a HeaderMap);

impl Extractor for HeaderExtractor<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(HeaderName::as_str).collect()
    }

    /// A value that is not visible ASCII is passed on as an empty string, so that a repeated `traceparent`
    /// still counts as repeated.
    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let values: Vec<&str> = self
            .0
            .get_all(key)
            .iter()
            .map(|v| v.to_str().unwrap_or_default())
            .collect();
        (!values.is_empty()).then_some(values)
    }
}

/// Writes into an `http::HeaderMap` for [`propagation::inject`]; a name or value HTTP cannot carry is skipped.
///
/// ```
/// # #[cfg(feature = "http")] {
/// let mut headers = http::HeaderMap::new();
/// livetel::propagation::inject(&tracing::Span::current(), &mut livetel::http::HeaderInjector(&mut headers));
/// # }
/// ```
#[derive(Debug)]
pub struct HeaderInjector<'a>(pub &'a mut HeaderMap);

impl Injector for HeaderInjector<'_> {
    fn set(&mut self, key: &str, value: String) {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(key.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            self.0.insert(name, value);
        }
    }
}
