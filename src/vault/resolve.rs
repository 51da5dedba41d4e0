//! A secret to headers and warnings, and where to watch it; run on every reload, so rotation needs no restart.

use std::ffi::OsString;
use std::path::PathBuf;

use secrecy::ExposeSecret;

use super::{SecretHeaders, VaultConfig, parse, source};

/// What the vault found for a config.
#[derive(Debug, Default)]
pub struct Resolved {
    /// The OTLP headers, when a secret is named and found.
    pub headers: Option<SecretHeaders>,
    /// Sentences for status (a missing optional secret, a too-open file).
    pub warnings: Vec<String>,
}

/// A secret to resolve: which one, from where, and whether its absence is an error.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// Where secrets come from.
    pub vault: &'a VaultConfig,
    /// The secret's name.
    pub key: &'a str,
    /// A missing secret is an error (otherwise a warning).
    pub required: bool,
}

/// The directory and entry to watch for the secret (file and dir sources), whether or not it exists yet.
pub fn watch_target(request: &Request<'_>) -> Option<(PathBuf, OsString)> {
    source::target(request.vault, request.key)
}

/// Reads and parses the secret into headers.
///
/// # Errors
/// What is wrong: a required secret that is missing, a malformed one, or a file refused by
/// `strict_permissions`. Messages never hold a value.
pub fn resolve(request: &Request<'_>) -> Result<Resolved, String> {
    let Request { vault, key, required } = *request;
    let read = source::read(vault, key).map_err(|e| format!("secret `{key}`: {e}"))?;
    let mut resolved = Resolved {
        headers: None,
        warnings: read.warning.into_iter().collect(),
    };
    match read.text {
        Some(text) => {
            let headers = parse::headers(text.expose_secret()).map_err(|e| format!("secret `{key}`: {e}"))?;
            resolved.headers = Some(headers);
        }
        None if required => {
            let place = source::describe(vault, key);
            return Err(format!("secret `{key}` is required but missing ({place})"));
        }
        None => {
            let place = source::describe(vault, key);
            resolved.warnings.push(format!(
                "secret `{key}` not found ({place}); exporting without auth headers"
            ));
        }
    }
    Ok(resolved)
}
