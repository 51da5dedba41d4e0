//! The admin endpoint's routes: each request answered with JSON, write routes behind the bearer token.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode, header};
use secrecy::ExposeSecret;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::{MAX_BODY, Shared};
use crate::reload::command::{self, OverrideChange, OverrideOutcome, ReloadOutcome, Source};
use crate::status::Trigger;

/// The longest override an operator may ask for: a forgotten one still ends.
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

type Answer = Response<Full<Bytes>>;

/// Answers one request.
pub(super) async fn answer(shared: Arc<Shared>, req: Request<Incoming>) -> Result<Answer, Infallible> {
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    if method != Method::GET && !authorized(&shared, req.headers()) {
        let reply = reply(
            StatusCode::UNAUTHORIZED,
            json!({"error": "a valid bearer token is required"}),
        );
        return Ok(reply);
    }
    let reply = match (&method, path.as_str()) {
        (&Method::GET, "/status") => status(&shared),
        (&Method::POST, "/reload") => reload(&shared).await,
        (&Method::GET, "/overrides") => overrides(&shared),
        (&Method::POST, "/overrides") => add_override(&shared, req).await,
        (&Method::DELETE, p) if p.starts_with("/overrides/") => remove_override(&shared, p).await,
        (_, "/status" | "/reload" | "/overrides") => reply(
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "method not allowed"}),
        ),
        _ => reply(StatusCode::NOT_FOUND, json!({"error": "no such route"})),
    };
    Ok(reply)
}

/// True when no token is configured (loopback only), or the request carries it. Compared in constant time:
/// a wrong token takes as long whichever byte differs first.
fn authorized(shared: &Shared, headers: &hyper::HeaderMap) -> bool {
    let Ok(token) = shared.token.read() else {
        return false;
    };
    let Some(token) = token.as_ref() else {
        return true;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .unwrap_or_default();
    bool::from(given.ct_eq(token.expose_secret().trim().as_bytes()))
}

fn status(shared: &Shared) -> Answer {
    let status = shared.status.borrow().clone();
    reply(
        StatusCode::OK,
        serde_json::to_value(&*status).unwrap_or(Value::Null),
    )
}

fn overrides(shared: &Shared) -> Answer {
    let status = shared.status.borrow().clone();
    reply(StatusCode::OK, json!({"overrides": status.overrides}))
}

async fn reload(shared: &Shared) -> Answer {
    let rx = command::request(&shared.commands, Trigger::Admin, Source::File);
    let outcome = command::answer(rx).await;
    outcome_reply(shared, &outcome, json!({}))
}

async fn add_override(shared: &Shared, req: Request<Incoming>) -> Answer {
    let body = match Limited::new(req.into_body(), MAX_BODY).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => {
            return reply(
                StatusCode::PAYLOAD_TOO_LARGE,
                json!({"error": "the body is too large"}),
            );
        }
    };
    let (text, ttl) = match override_request(&body) {
        Ok(parts) => parts,
        Err(message) => return reply(StatusCode::BAD_REQUEST, json!({"error": message})),
    };
    let outcome = send_override(shared, OverrideChange::Add { text, ttl }).await;
    outcome_reply(shared, &outcome.outcome, json!({"id": outcome.id}))
}

async fn remove_override(shared: &Shared, path: &str) -> Answer {
    let Some(id) = path.strip_prefix("/overrides/").and_then(|id| id.parse().ok()) else {
        return reply(StatusCode::NOT_FOUND, json!({"error": "no such override"}));
    };
    let outcome = send_override(shared, OverrideChange::Remove { id }).await;
    outcome_reply(shared, &outcome.outcome, json!({}))
}

async fn send_override(shared: &Shared, change: OverrideChange) -> OverrideOutcome {
    command::answer_override(command::request_override(&shared.commands, change)).await
}

/// The `[telemetry]` document and the time to live of an override request's JSON body: `ttl` (`"10m"`,
/// `"90s"`, `"500ms"`, `"1h"`, or seconds as a number) and the keys to lay over the config, nested as in the
/// file (`{"filter": "debug", "sampling": {"always_sample_errors": true}, "ttl": "10m"}`).
fn override_request(body: &[u8]) -> Result<(String, Duration), String> {
    let mut fields: serde_json::Map<String, Value> =
        serde_json::from_slice(body).map_err(|e| format!("the body is not a JSON object: {e}"))?;
    let ttl = fields.remove("ttl").ok_or("`ttl` is required (\"10m\")")?;
    let ttl = parse_ttl(&ttl)?;
    if fields.is_empty() {
        return Err("an override sets at least one key".to_owned());
    }
    let doc = json!({ "telemetry": fields });
    let text = toml::to_string(&doc).map_err(|e| format!("cannot express the override as TOML: {e}"))?;
    Ok((text, ttl))
}

/// `"10m"`, `"90s"`, `"500ms"`, `"1h"` or a number of seconds; at most a day, more than nothing.
fn parse_ttl(value: &Value) -> Result<Duration, String> {
    let bad = || format!("`ttl` {value} is not a duration (\"10m\", \"90s\", \"500ms\", \"1h\")");
    let ttl = match value {
        Value::Number(n) => n
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64),
        Value::String(s) => {
            let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
            let (number, unit) = s.split_at(split);
            let n: u64 = number.parse().map_err(|_| bad())?;
            match unit {
                "ms" => Some(Duration::from_millis(n)),
                "s" | "" => Some(Duration::from_secs(n)),
                "m" => Some(Duration::from_secs(n.saturating_mul(60))),
                "h" => Some(Duration::from_secs(n.saturating_mul(3600))),
                _ => None,
            }
        }
        _ => None,
    }
    .ok_or_else(bad)?;
    if ttl.is_zero() || ttl > MAX_TTL {
        return Err(format!("`ttl` must be more than 0 and at most 24h, got {value}"));
    }
    Ok(ttl)
}

/// A reload's outcome as JSON (with `extra` merged in), and its HTTP status.
fn outcome_reply(shared: &Shared, outcome: &ReloadOutcome, extra: Value) -> Answer {
    let (code, mut body) = match outcome {
        ReloadOutcome::Applied { generation } => {
            let status = shared.status.borrow().clone();
            let changed = status
                .last_reload
                .as_ref()
                .map(|l| l.changed.clone())
                .unwrap_or_default();
            let body = json!({"outcome": "applied", "generation": generation, "changed": changed});
            (StatusCode::OK, body)
        }
        ReloadOutcome::Unchanged { generation } => (
            StatusCode::OK,
            json!({"outcome": "unchanged", "generation": generation}),
        ),
        ReloadOutcome::Rejected { error } => {
            let body = json!({"outcome": "rejected", "error": error.to_string(), "detail": &**error});
            (StatusCode::UNPROCESSABLE_ENTITY, body)
        }
        ReloadOutcome::Stopped => (StatusCode::SERVICE_UNAVAILABLE, json!({"outcome": "stopped"})),
    };
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    reply(code, body)
}

fn reply(code: StatusCode, body: Value) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = code;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_in_words_and_numbers() {
        let ttl = |v: Value| parse_ttl(&v);
        assert_eq!(ttl(json!("10m")), Ok(Duration::from_secs(600)));
        assert_eq!(ttl(json!("500ms")), Ok(Duration::from_millis(500)));
        assert_eq!(ttl(json!(2)), Ok(Duration::from_secs(2)));
        assert!(ttl(json!("0s")).is_err() && ttl(json!("2d")).is_err() && ttl(json!("25h")).is_err());
    }

    #[test]
    fn an_override_body_becomes_a_telemetry_document() {
        let body = br#"{"filter": "info,agent=debug", "sample_rate": 1.0, "ttl": "10m"}"#;
        let (text, ttl) = override_request(body).unwrap();
        assert_eq!(ttl, Duration::from_secs(600));
        let cfg = crate::config::parse_str("<override>", &text).unwrap();
        assert_eq!((cfg.filter.as_str(), cfg.sample_rate), ("info,agent=debug", 1.0));
        assert!(override_request(br#"{"filter": "debug"}"#).is_err());
        assert!(override_request(br#"{"ttl": "1m"}"#).is_err());
    }
}
