//! The vault's part in a reload: which secret a config asks for, resolved with errors placed in the file.

use std::ffi::OsString;
use std::path::PathBuf;

use crate::config::TelemetryConfig;
use crate::config::load::Loaded;
use crate::error::{ConfigError, ConfigErrorKind};
use crate::sinks;
use crate::vault::{self, Request, Resolved};

/// The key that names the secret, for errors.
const KEY: &str = "telemetry.otlp.headers_vault_key";

/// The secret `cfg` asks for: only when it names one and a backend it records to uses secret headers.
fn request(cfg: &TelemetryConfig) -> Option<Request<'_>> {
    let key = cfg.otlp.headers_vault_key.as_deref()?;
    let wanted = sinks::kinds_for(cfg).iter().any(|k| k.uses_secret_headers());
    wanted.then_some(Request {
        vault: &cfg.vault,
        key,
        required: cfg.otlp.headers_required,
    })
}

/// Where the secret `cfg` asks for lives, to follow it (file and dir sources), whether or not it exists yet.
pub(crate) fn watch_target(cfg: &TelemetryConfig) -> Option<(PathBuf, OsString)> {
    vault::watch_target(&request(cfg)?)
}

/// Resolves `cfg`'s secret; an error names the key and its place in the file.
pub(crate) fn resolve(
    cfg: &TelemetryConfig,
    loaded: &Loaded,
    path: &std::path::Path,
) -> Result<Resolved, ConfigError> {
    let Some(request) = request(cfg) else {
        return Ok(Resolved::default());
    };
    vault::resolve(&request).map_err(|message| ConfigError {
        path: path.to_path_buf(),
        position: loaded.locate(KEY),
        key: Some(KEY.to_owned()),
        kind: ConfigErrorKind::InvalidValue { message },
    })
}
