//! Secrets for OTLP: auth headers resolved from the environment, a file, or a directory of secret files
//! (Kubernetes secret mounts, `/run/secrets`), re-resolved on every reload and held only in `secrecy` types.
//!
//! ```toml
//! [telemetry]
//! backend = "otlp"
//! [telemetry.otlp]
//! headers_vault_key = "OTLP_AUTH"          # the secret's name
//! headers_required = true                  # reject the config when the secret is missing
//! [telemetry.vault]
//! source = "dir"                           # "env" (default: variable OTLP_AUTH), "file" (path = ...), "dir"
//! dir = "/var/run/secrets/otlp"            # the secret is the file /var/run/secrets/otlp/OTLP_AUTH
//! ```
//!
//! A secret's value is either the `OTEL_EXPORTER_OTLP_HEADERS` form (`k1=v1,k2=v2`, percent-decoded) or a JSON
//! object of strings. Values are exposed at one place only: where the exporter's gRPC metadata (marked
//! sensitive) or HTTP headers are built. `Debug`, status, errors and warnings show header names and a count.
//!
//! With `source = "custom"`, secrets come from a [`SecretSource`] of your own, given to
//! [`crate::Builder::secret_source`] (a cloud secret manager, a keyring).
//!
//! Map: `source` reads a secret (`custom`: through the user's [`SecretSource`]), `parse` turns it into
//! headers, `resolve` ties both to a config and says what to watch.

mod custom;
pub(crate) mod parse;
mod resolve;
mod source;

pub(crate) use custom::CustomSource;
pub use custom::SecretSource;
/// The type a [`SecretSource`] hands secrets in (from the `secrecy` crate): its `Debug` never shows the value.
pub use secrecy::SecretString;

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

pub(crate) use resolve::{Request, Resolved, resolve, watch_target};

/// The secret named `key` in the vault `cfg` describes, as it is now; `None` when it does not exist.
///
/// # Errors
/// A sentence (never the value) when it exists but cannot be used.
pub(crate) fn read_secret(cfg: &VaultConfig, key: &str) -> Result<Option<secrecy::SecretString>, String> {
    source::read(cfg, key).map(|read| read.text)
}

/// Where secrets come from: `[telemetry.vault]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(default, deny_unknown_fields)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct VaultConfig {
    /// `env`, `file`, `dir` or `custom`.
    pub source: SourceKind,
    /// For `source = "file"`: the file holding the secret.
    pub path: Option<std::path::PathBuf>,
    /// For `source = "dir"`: the directory holding one file per key.
    pub dir: Option<std::path::PathBuf>,
    /// Refuse a secret file that group or others can read (otherwise: a warning in status).
    pub strict_permissions: bool,
    /// For `source = "custom"`: the source given to [`crate::Builder::secret_source`].
    #[serde(skip)]
    #[cfg_attr(feature = "schema", schemars(skip))]
    pub(crate) custom: CustomSource,
}

/// The kind of secret source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub enum SourceKind {
    /// An environment variable named by the key.
    #[default]
    Env,
    /// One file holding the secret.
    File,
    /// A directory with one file per key.
    Dir,
    /// The [`SecretSource`] given to [`crate::Builder::secret_source`].
    Custom,
}

/// OTLP headers whose values are secret. `Debug` shows names and a count, never a value.
#[derive(Clone, Default)]
pub(crate) struct SecretHeaders {
    entries: Vec<(String, SecretString)>,
}

impl SecretHeaders {
    pub(crate) fn new(entries: Vec<(String, SecretString)>) -> Self {
        SecretHeaders { entries }
    }

    /// Header names, lowercased, in order; a name that is not a well-known auth or `x-` header shows as
    /// `<redacted>`, since a malformed secret can put secret text where a name belongs.
    pub fn names(&self) -> Vec<String> {
        let shown = |k: &String| {
            if parse::displayable(k) {
                k.clone()
            } else {
                "<redacted>".to_owned()
            }
        };
        self.entries.iter().map(|(k, _)| shown(k)).collect()
    }

    /// How many headers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Each name with its value exposed: only for handing to the transport, right where it is built.
    pub(crate) fn expose(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.expose_secret()))
    }
}

impl PartialEq for SecretHeaders {
    /// Equal names and values: a rotated secret is a change, so the exporter is rebuilt.
    fn eq(&self, other: &Self) -> bool {
        self.entries.len() == other.entries.len()
            && self
                .entries
                .iter()
                .zip(&other.entries)
                .all(|((ka, va), (kb, vb))| ka == kb && va.expose_secret() == vb.expose_secret())
    }
}

impl Eq for SecretHeaders {}

impl std::fmt::Debug for SecretHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretHeaders")
            .field("names", &self.names())
            .field("count", &self.len())
            .finish()
    }
}
