//! Reading one secret from its source, with the permission check for files.

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use secrecy::SecretString;

use super::{SourceKind, VaultConfig};

/// `source = "custom"` with no source given to the builder.
const NO_CUSTOM: &str =
    "`[telemetry.vault] source = \"custom\"` needs a source: `livetel::Builder::secret_source`";

/// A secret as read, and a warning about its file.
pub(crate) struct Read {
    pub(crate) text: Option<SecretString>,
    pub(crate) warning: Option<String>,
}

/// Where the secret named `key` lives, in words (for messages).
pub(crate) fn describe(cfg: &VaultConfig, key: &str) -> String {
    match cfg.source {
        SourceKind::Env => format!("environment variable {key}"),
        SourceKind::File => format!("file {}", cfg.path.as_deref().unwrap_or(Path::new("?")).display()),
        SourceKind::Dir => format!(
            "file {}",
            cfg.dir.as_deref().unwrap_or(Path::new("?")).join(key).display()
        ),
        SourceKind::Custom => cfg
            .custom
            .get()
            .map_or_else(|| format!("custom source entry {key}"), |s| s.describe(key)),
    }
}

/// Reads the secret named `key`. `Ok` with no text when it does not exist.
///
/// # Errors
/// A sentence (never the value) when it exists but cannot be used.
pub(crate) fn read(cfg: &VaultConfig, key: &str) -> Result<Read, String> {
    let file = match cfg.source {
        SourceKind::Env => {
            let text = std::env::var(key)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(SecretString::from);
            return Ok(Read { text, warning: None });
        }
        SourceKind::Custom => {
            let source = cfg.custom.get().ok_or(NO_CUSTOM)?;
            return Ok(Read {
                text: source.read(key)?,
                warning: None,
            });
        }
        SourceKind::File => cfg
            .path
            .clone()
            .ok_or("`[telemetry.vault] path` is required for source = \"file\"")?,
        SourceKind::Dir => cfg
            .dir
            .as_ref()
            .ok_or("`[telemetry.vault] dir` is required for source = \"dir\"")?
            .join(key),
    };
    let meta = match std::fs::metadata(&file) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Read {
                text: None,
                warning: None,
            });
        }
        Err(e) => return Err(format!("cannot read {}: {e}", file.display())),
    };
    let warning = check_mode(&file, meta.permissions().mode(), cfg.strict_permissions)?;
    let text = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let text = (!text.trim().is_empty()).then(|| SecretString::from(text));
    Ok(Read { text, warning })
}

/// The directory and entry holding the secret `key`, for file and dir sources.
pub(crate) fn target(cfg: &VaultConfig, key: &str) -> Option<(PathBuf, OsString)> {
    match cfg.source {
        SourceKind::Env | SourceKind::Custom => None,
        SourceKind::File => watch_target(cfg.path.as_deref()?),
        SourceKind::Dir => watch_target(&cfg.dir.as_deref()?.join(key)),
    }
}

fn watch_target(file: &Path) -> Option<(PathBuf, OsString)> {
    let dir = file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    Some((dir, file.file_name()?.to_os_string()))
}

/// A secret file that group or others may read is a warning, or an error with `strict_permissions`.
fn check_mode(file: &Path, mode: u32, strict: bool) -> Result<Option<String>, String> {
    if mode & 0o077 == 0 {
        return Ok(None);
    }
    let msg = format!(
        "secret file {} is readable by group or others (mode {:04o}); `chmod 600` it",
        file.display(),
        mode & 0o7777
    );
    if strict {
        Err(format!("{msg} (refused: strict_permissions)"))
    } else {
        Ok(Some(msg))
    }
}
