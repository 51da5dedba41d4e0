//! Where an export request goes: tonic's generated `MetricsService` client over gRPC, or a protobuf `POST` to
//! `/v1/metrics` with reqwest, each with the vault's headers (values marked sensitive) and the `otlp` backend's
//! time limit.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use prost::Message as _;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;

use super::Settings;
use crate::config::OtlpProtocol;
use crate::sinks::otlp::{grpc_metadata, http_headers};

/// A connection to the collector, made once per exporter.
pub(super) enum Transport {
    Grpc {
        client: MetricsServiceClient<Channel>,
        metadata: MetadataMap,
        timeout: Duration,
    },
    Http {
        client: reqwest::Client,
        url: String,
        headers: HeaderMap,
    },
}

impl Transport {
    /// The transport `s` asks for. gRPC connects lazily (at the first export), so it must be made inside a
    /// Tokio runtime.
    ///
    /// # Errors
    /// A URL that is not one, a header that is not valid, an HTTP client that cannot be built.
    pub(super) fn new(s: &Settings) -> Result<Transport, String> {
        match s.protocol {
            OtlpProtocol::Grpc => {
                let endpoint = Channel::from_shared(s.url.clone())
                    .map_err(|e| format!("`{}` is not a gRPC endpoint: {e}", s.url))?
                    .connect_timeout(s.timeout)
                    .timeout(s.timeout);
                Ok(Transport::Grpc {
                    client: MetricsServiceClient::new(endpoint.connect_lazy()),
                    metadata: grpc_metadata(s.headers.as_ref())?,
                    timeout: s.timeout,
                })
            }
            OtlpProtocol::HttpProtobuf => {
                let client = reqwest::Client::builder()
                    .timeout(s.timeout)
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
                Ok(Transport::Http {
                    client,
                    url: s.url.clone(),
                    headers: header_map(s)?,
                })
            }
        }
    }

    /// Sends one request; an error says why it was not accepted.
    pub(super) async fn send(&self, request: &ExportMetricsServiceRequest) -> Result<(), String> {
        match self {
            Transport::Grpc {
                client,
                metadata,
                timeout,
            } => {
                let mut req = tonic::Request::new(request.clone());
                *req.metadata_mut() = metadata.clone();
                req.set_timeout(*timeout);
                match client.clone().export(req).await {
                    Ok(_) => Ok(()),
                    Err(status) => Err(format!("gRPC {:?}: {}", status.code(), status.message())),
                }
            }
            Transport::Http { client, url, headers } => {
                let answer = client
                    .post(url)
                    .headers(headers.clone())
                    .header(CONTENT_TYPE, "application/x-protobuf")
                    .body(request.encode_to_vec())
                    .send()
                    .await
                    .map_err(|e| format!("POST {url}: {e}"))?;
                match answer.status() {
                    s if s.is_success() => Ok(()),
                    s => Err(format!("POST {url}: HTTP {s}")),
                }
            }
        }
    }
}

/// The vault's headers for HTTP, each value marked sensitive.
fn header_map(s: &Settings) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::new();
    for (i, (name, value)) in http_headers(s.headers.as_ref()).into_iter().enumerate() {
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| format!("header {}: not a valid HTTP header name", i + 1))?;
        let mut value = HeaderValue::from_str(&value)
            .map_err(|_| format!("header {}: its value is not valid in HTTP", i + 1))?;
        value.set_sensitive(true);
        map.insert(name, value);
    }
    Ok(map)
}
