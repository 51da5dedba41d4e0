//! The client span of an outgoing reqwest request, by OpenTelemetry's stable HTTP client conventions.

use http::header::HeaderMap;
use tracing::Instrument;

use super::HeaderInjector;
use super::server::known_method;
use crate::propagation;

/// What `url.full` shows of userinfo and of query values: OpenTelemetry's `REDACTED`.
const REDACTED: &str = "REDACTED";

/// Sends `request` under a client span, and injects that span's context into it, so that the callee's server
/// span is the client span's child. Returns what `RequestBuilder::send` returns.
///
/// The span (target `livetel::http::client`, callsite `http.client`) is named `{method}` through `otel.name`, with
/// `otel.kind = "client"`, `http.request.method`, `url.full` (userinfo and query values replaced by
/// `REDACTED`: `https://REDACTED:REDACTED@host/search?q=REDACTED`), `server.address`, `server.port`, and once
/// answered `http.response.status_code`; a 4xx or 5xx answer or a transport error sets `otel.status_code =
/// "ERROR"` and `error.type` (the status code, or `timeout`, `connect`, `request`, `_OTHER`). Where livetel does
/// not record the span, the request carries the current span's context instead ([`super::inject`]'s).
///
/// ```no_run
/// # async fn run() -> Result<(), reqwest::Error> {
/// let client = reqwest::Client::new();
/// let response = livetel::http::send(client.get("http://127.0.0.1:8081/items?page=2")).await?;
/// # let _ = response; Ok(()) }
/// ```
pub async fn send(request: reqwest::RequestBuilder) -> reqwest::Result<reqwest::Response> {
    let (client, request) = request.build_split();
    let mut request = request?;
    let span = client_span(&request);
    let carrier = if span.is_disabled() {
        tracing::Span::current()
    } else {
        span.clone()
    };
    let mut headers = HeaderMap::new();
    propagation::inject(&carrier, &mut HeaderInjector(&mut headers));
    for (name, value) in &headers {
        request.headers_mut().insert(name, value.clone());
    }
    let result = client.execute(request).instrument(span.clone()).await;
    match &result {
        Ok(response) => {
            let status = response.status();
            span.record("http.response.status_code", status.as_u16());
            if status.is_client_error() || status.is_server_error() {
                span.record("otel.status_code", "ERROR");
                span.record("error.type", status.as_str());
            }
        }
        Err(e) => {
            span.record("otel.status_code", "ERROR");
            span.record("error.type", error_type(e));
        }
    }
    result
}

fn client_span(request: &reqwest::Request) -> tracing::Span {
    let known = known_method(request.method());
    let url = request.url();
    tracing::info_span!(
        target: "livetel::http::client",
        "http.client",
        otel.name = known.unwrap_or("HTTP"),
        otel.kind = "client",
        http.request.method = known.unwrap_or("_OTHER"),
        http.request.method_original = known.is_none().then(|| request.method().as_str()),
        url.full = redacted(url).as_str(),
        server.address = url.host_str(),
        server.port = url.port_or_known_default(),
        http.response.status_code = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        error.type = tracing::field::Empty,
    )
}

/// A low-cardinality name of a transport error.
fn error_type(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect"
    } else if e.is_request() {
        "request"
    } else {
        "_OTHER"
    }
}

/// `url` with its userinfo and every query value replaced by `REDACTED` (query keys kept).
pub(crate) fn redacted(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    if !url.username().is_empty() || url.password().is_some() {
        // Only fails for URLs that cannot have userinfo, which then have none.
        let _ = url.set_username(REDACTED);
        let _ = url.set_password(Some(REDACTED));
    }
    if let Some(query) = url.query().map(str::to_owned) {
        let redacted: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) => format!("{key}={REDACTED}"),
                None => pair.to_owned(),
            })
            .collect();
        url.set_query(Some(&redacted.join("&")));
    }
    url.into()
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn userinfo_and_query_values_are_redacted() {
        for (url, want) in [
            ("http://127.0.0.1:8081/a", "http://127.0.0.1:8081/a"),
            (
                "https://user:secret@example.com/search?q=alice&page=2&flag",
                "https://REDACTED:REDACTED@example.com/search?q=REDACTED&page=REDACTED&flag",
            ),
            ("http://user@host/", "http://REDACTED:REDACTED@host/"),
            (
                "http://host/p?token=abc#frag",
                "http://host/p?token=REDACTED#frag",
            ),
        ] {
            let url = reqwest::Url::parse(url).expect("valid");
            assert_eq!(redacted(&url), want);
        }
    }
}
