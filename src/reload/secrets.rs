//! The vault's part in a reload: resolve the config's secret (errors located in the file) and follow the
//! secret's file, so that rotating it reloads by itself.

use std::ffi::OsString;
use std::path::PathBuf;

use notify::RecommendedWatcher;
use tokio::sync::mpsc;

use crate::config::load::Loaded;
use crate::config::TelemetryConfig;
use crate::error::ConfigError;
use crate::reload::watcher;
use crate::vault::{self, Resolved};

/// Resolves `cfg`'s secret; an error names the key and its place in the file.
pub(crate) fn resolve(
    cfg: &TelemetryConfig,
    loaded: &Loaded,
    path: &std::path::Path,
) -> Result<Resolved, ConfigError> {
    vault::resolve(cfg).map_err(|(key, kind)| {
        let key = format!("telemetry.{key}");
        ConfigError {
            path: path.to_path_buf(),
            position: loaded.locate(&key),
            key: Some(key),
            kind,
        }
    })
}

/// Follows the file (or directory entry) holding the current secret; its changes feed the debounced reloads.
pub(crate) struct SecretWatch {
    raw: mpsc::UnboundedSender<()>,
    target: Option<(PathBuf, OsString)>,
    watcher: Option<RecommendedWatcher>,
}

impl SecretWatch {
    pub(crate) fn new(raw: mpsc::UnboundedSender<()>) -> Self {
        SecretWatch {
            raw,
            target: None,
            watcher: None,
        }
    }

    /// Watches `target` from now on (nothing for env secrets). Returns a warning when it cannot be watched.
    pub(crate) fn follow(&mut self, target: Option<(PathBuf, OsString)>) -> Option<String> {
        if target == self.target {
            return None;
        }
        self.watcher = None;
        self.target.clone_from(&target);
        let (dir, name) = target?;
        match watcher::watch_entry(&dir, name, self.raw.clone()) {
            Ok(w) => {
                self.watcher = Some(w);
                None
            }
            Err(e) => {
                self.target = None;
                Some(format!(
                    "cannot watch the secret's directory {}: {e}; rotate with SIGHUP",
                    dir.display()
                ))
            }
        }
    }
}
