//! File watching: notify on the parent directory, filtered by name, debounced.
//!
//! Watching the directory rather than the file keeps working across every way a file is replaced: written in
//! place, saved by rename (vim, IDEs), deleted and recreated, or a Kubernetes ConfigMap's `..data` symlink swap
//! (whose events name `..data`, not the file). Content hashing later drops events that changed nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::error::InitError;
use crate::reload::command::{Command, Source};
use crate::status::Trigger;

/// Starts watching `config`'s directory; events go to `raw`, to be debounced by [`debounce`].
pub(crate) fn watch(config: &Path, raw: mpsc::UnboundedSender<()>) -> Result<RecommendedWatcher, InitError> {
    let dir = parent_dir(config);
    let name = config.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    watch_entry(&dir, name, raw).map_err(|e| watch_error(&dir, e))
}

/// Watches `dir` for changes to the entry `name` (or a Kubernetes `..data` swap); each sends on `raw`.
pub(crate) fn watch_entry(
    dir: &Path,
    name: std::ffi::OsString,
    raw: mpsc::UnboundedSender<()>,
) -> Result<RecommendedWatcher, notify::Error> {
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        let relevant = match res {
            Ok(ev) => !matches!(ev.kind, EventKind::Access(_)) && ev.paths.iter().any(|p| concerns(p, &name)),
            // The watcher lost events (queue overflow): reload speculatively, hashing makes it cheap.
            Err(_) => true,
        };
        if relevant {
            let _ = raw.send(());
        }
    })?;
    watcher.watch(dir, RecursiveMode::NonRecursive)?;
    Ok(watcher)
}

/// The config's own name, or a Kubernetes `..data`-style entry that a symlinked config resolves through.
fn concerns(path: &Path, name: &std::ffi::OsStr) -> bool {
    path.file_name()
        .is_some_and(|n| n == name || n.to_string_lossy().starts_with(".."))
}

fn parent_dir(config: &Path) -> PathBuf {
    match config.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn watch_error(dir: &Path, e: notify::Error) -> InitError {
    InitError::Watch {
        path: dir.to_path_buf(),
        message: e.to_string(),
    }
}

/// Turns bursts of raw events into one reload each `debounce_ms` at most: the first event opens a window, and
/// everything until it closes is one reload. A save that takes several writes (truncate, write, rename) is read
/// once, after it settles; a storm of writes costs one reload per window, and the last write wins.
pub(crate) async fn debounce(
    mut raw: mpsc::UnboundedReceiver<()>,
    commands: mpsc::UnboundedSender<Command>,
    debounce_ms: Arc<AtomicU64>,
) {
    while raw.recv().await.is_some() {
        tokio::time::sleep(Duration::from_millis(debounce_ms.load(Ordering::Relaxed))).await;
        while raw.try_recv().is_ok() {}
        if commands
            .send(Command::Reload {
                trigger: Trigger::Watcher,
                source: Source::File,
                reply: None,
            })
            .is_err()
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_config_and_kubernetes_entries_concern_us() {
        let name = std::ffi::OsStr::new("telemetry.toml");
        assert!(concerns(Path::new("/c/telemetry.toml"), name));
        assert!(concerns(Path::new("/c/..data"), name));
        assert!(!concerns(Path::new("/c/other.toml"), name));
        assert!(!concerns(Path::new("/c/telemetry.toml.swp"), name));
    }
}
