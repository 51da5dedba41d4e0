//! The admin-endpoint commands: `status`, `reload`, `override`, `overrides`, against a running service.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder};
use serde_json::{Map, Value};

/// The variable holding the bearer token, when no `--token-file` is given.
pub const TOKEN_VARIABLE: &str = "LIVETEL_ADMIN_TOKEN";

/// Where a command goes, and with what token.
pub struct Endpoint {
    base: String,
    token: Option<String>,
    client: Client,
}

impl Endpoint {
    /// `url` (`http://127.0.0.1:9465`, or `127.0.0.1:9465`), the token read from `token_file` or
    /// [`TOKEN_VARIABLE`].
    pub fn new(url: &str, token_file: Option<&Path>) -> Result<Endpoint, String> {
        let base = if url.contains("://") {
            url.to_owned()
        } else {
            format!("http://{url}")
        };
        let token = match token_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read {}: {e}", path.display()))?
                    .trim()
                    .to_owned(),
            ),
            None => std::env::var(TOKEN_VARIABLE)
                .ok()
                .filter(|t| !t.trim().is_empty()),
        };
        let client = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| format!("cannot make an HTTP client: {e}"))?;
        Ok(Endpoint {
            base: base.trim_end_matches('/').to_owned(),
            token,
            client,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn authorized(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// `GET /status`.
    pub fn status(&self) -> ExitCode {
        self.run(self.client.get(self.url("/status")))
    }

    /// `POST /reload`.
    pub fn reload(&self) -> ExitCode {
        self.run(self.authorized(self.client.post(self.url("/reload"))))
    }

    /// `GET /overrides`.
    pub fn overrides(&self) -> ExitCode {
        self.run(self.client.get(self.url("/overrides")))
    }

    /// `POST /overrides` with `keys` (dotted keys to JSON values) for `ttl`.
    pub fn add_override(&self, keys: Vec<(String, Value)>, ttl: &str) -> ExitCode {
        let mut body = Map::new();
        for (key, value) in keys {
            insert_dotted(&mut body, &key, value);
        }
        body.insert("ttl".to_owned(), Value::String(ttl.to_owned()));
        let request = self
            .client
            .post(self.url("/overrides"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(Value::Object(body).to_string());
        self.run(self.authorized(request))
    }

    /// `DELETE /overrides/ID`.
    pub fn remove_override(&self, id: u64) -> ExitCode {
        let request = self.client.delete(self.url(&format!("/overrides/{id}")));
        self.run(self.authorized(request))
    }

    /// Sends `request`, prints the JSON answer; exit 1 unless the endpoint answered 2xx.
    fn run(&self, request: RequestBuilder) -> ExitCode {
        let response = match request.send() {
            Ok(r) => r,
            Err(e) => {
                eprintln!("livetel: {} did not answer: {e}", self.base);
                return ExitCode::FAILURE;
            }
        };
        let code = response.status();
        let body = response.text().unwrap_or_default();
        let pretty = serde_json::from_str::<Value>(&body)
            .map(|v| format!("{v:#}"))
            .unwrap_or(body);
        if code.is_success() {
            println!("{pretty}");
            ExitCode::SUCCESS
        } else {
            let hint = if code.as_u16() == 401 {
                format!(" (give the token in {TOKEN_VARIABLE} or --token-file)")
            } else {
                String::new()
            };
            eprintln!("livetel: {code}{hint}\n{pretty}");
            ExitCode::FAILURE
        }
    }
}

/// Puts `value` at the dotted `key` of `map` (`sampling.probability` → `{"sampling": {"probability": ..}}`).
fn insert_dotted(map: &mut Map<String, Value>, key: &str, value: Value) {
    match key.split_once('.') {
        None => {
            map.insert(key.to_owned(), value);
        }
        Some((table, rest)) => {
            let inner = map
                .entry(table.to_owned())
                .or_insert_with(|| Value::Object(Map::new()));
            if !inner.is_object() {
                *inner = Value::Object(Map::new());
            }
            if let Value::Object(inner) = inner {
                insert_dotted(inner, rest, value);
            }
        }
    }
}

/// A `key=value` of `--set`: the value read as JSON (`1.0`, `true`, `"text"`), else as a string.
pub fn key_value(text: &str) -> Result<(String, Value), String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))?;
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((key.trim().to_owned(), value))
}
