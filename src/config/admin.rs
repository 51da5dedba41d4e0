//! `[telemetry.admin]`: livetel's admin endpoint, off unless `listen` is set.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::error::ConfigErrorKind;

/// `[telemetry.admin]`: an HTTP endpoint for operators (`GET /status`, `POST /reload`, temporary overrides).
/// Every write route needs `Authorization: Bearer <token>` when `token_vault_key` names a secret; without one
/// the endpoint must listen on a loopback address.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct AdminConfig {
    /// Where the endpoint listens (`"127.0.0.1:9465"`); off when unset. A change rebinds it.
    pub listen: Option<String>,
    /// The vault secret (see `[telemetry.vault]`) holding the bearer token of the write routes.
    pub token_vault_key: Option<String>,
}

impl AdminConfig {
    /// The address to listen on, when the endpoint is on and its address parses.
    pub fn address(&self) -> Option<SocketAddr> {
        self.listen.as_deref().and_then(|a| a.parse().ok())
    }
}

/// Checks the table: an address that parses, and a token for any address but a loopback one.
pub(crate) fn validate(cfg: &AdminConfig) -> Result<(), (&'static str, ConfigErrorKind)> {
    let invalid = |key, message: String| Err((key, ConfigErrorKind::InvalidValue { message }));
    let Some(listen) = &cfg.listen else {
        return Ok(());
    };
    let Ok(addr) = listen.parse::<SocketAddr>() else {
        return invalid(
            "admin.listen",
            format!("`{listen}` is not an address and port (`127.0.0.1:9465`)"),
        );
    };
    if !addr.ip().is_loopback() && cfg.token_vault_key.is_none() {
        return invalid(
            "admin.listen",
            format!("`{listen}` is not a loopback address: set `token_vault_key` so writes need a token"),
        );
    }
    if cfg
        .token_vault_key
        .as_deref()
        .is_some_and(|k| k.trim().is_empty())
    {
        return invalid("admin.token_vault_key", "must not be empty".to_owned());
    }
    Ok(())
}
