//! Following the file (or secret-mount entry) that holds the OTLP secret: a rotation reloads by itself.

use std::ffi::OsString;
use std::path::PathBuf;

use notify::RecommendedWatcher;
use tokio::sync::mpsc;

use super::watcher;

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
