//! A config's secret to headers, warnings and a watch target; run on every reload, so rotation needs no restart.

use std::ffi::OsString;
use std::path::PathBuf;

use secrecy::ExposeSecret;

use super::{parse, source, SecretHeaders};
use crate::config::{Backend, TelemetryConfig};
use crate::error::ConfigErrorKind;

/// What the vault found for a config.
#[derive(Debug, Default)]
pub struct Resolved {
    /// The OTLP headers, when a secret is named and found.
    pub headers: Option<SecretHeaders>,
    /// Sentences for status (a missing optional secret, a too-open file).
    pub warnings: Vec<String>,
    /// The directory and entry whose change should trigger a reload (file and dir sources).
    pub watch: Option<(PathBuf, OsString)>,
}

/// The directory and entry to watch for `cfg`'s secret (file and dir sources), whether or not it exists yet.
pub fn watch_target(cfg: &TelemetryConfig) -> Option<(PathBuf, OsString)> {
    let key = cfg.otlp_headers_vault_key.as_deref()?;
    (cfg.effective_backend() == Backend::Otlp)
        .then(|| source::target(&cfg.vault, key))
        .flatten()
}

/// Resolves `otlp_headers_vault_key` for an OTLP config; nothing for other backends.
///
/// # Errors
/// The key concerned (relative to `[telemetry]`) and what is wrong: a required secret that is missing, a
/// malformed one, or a file refused by `strict_permissions`. Messages never hold a value.
pub fn resolve(cfg: &TelemetryConfig) -> Result<Resolved, (&'static str, ConfigErrorKind)> {
    let Some(key) = cfg.otlp_headers_vault_key.as_deref() else {
        return Ok(Resolved::default());
    };
    if cfg.effective_backend() != Backend::Otlp {
        return Ok(Resolved::default());
    }
    let invalid = |message: String| {
        (
            "otlp_headers_vault_key",
            ConfigErrorKind::InvalidValue { message },
        )
    };
    let read = source::read(&cfg.vault, key).map_err(|e| invalid(format!("secret `{key}`: {e}")))?;
    let mut resolved = Resolved {
        headers: None,
        warnings: read.warning.into_iter().collect(),
        watch: read.watch,
    };
    match read.text {
        Some(text) => {
            let headers =
                parse::headers(text.expose_secret()).map_err(|e| invalid(format!("secret `{key}`: {e}")))?;
            resolved.headers = Some(headers);
        }
        None if cfg.otlp_headers_required => {
            let place = source::describe(&cfg.vault, key);
            return Err(invalid(format!(
                "secret `{key}` is required but missing ({place})"
            )));
        }
        None => {
            let place = source::describe(&cfg.vault, key);
            resolved.warnings.push(format!(
                "secret `{key}` not found ({place}); exporting without auth headers"
            ));
        }
    }
    Ok(resolved)
}
