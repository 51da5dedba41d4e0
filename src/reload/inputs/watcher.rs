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

/// Turns raw file events into reloads: the events of one save become one reload, read after it settles.
pub(crate) struct Debouncer {
    pub(crate) raw: mpsc::UnboundedReceiver<()>,
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    /// The running config's `reload_debounce_ms`.
    pub(crate) debounce_ms: Arc<AtomicU64>,
    /// The config file, checked for a write still under way.
    pub(crate) config: PathBuf,
}

/// How many more windows a reload waits while the config file is empty: a write in place (truncate, then
/// write) seen between its two steps. An empty file is all defaults, so reading one mid-write would apply
/// them for a moment; one that stays empty this long is taken as meant.
const EMPTY_WAITS: u32 = 10;

impl Debouncer {
    /// One reload each `debounce_ms` at most: the first event opens a window, and everything until it closes
    /// is one reload. A save that takes several writes (truncate, write, rename) is read once, after it
    /// settles; a storm of writes costs one reload per window, and the last write wins. While the file is
    /// empty the window is extended (up to [`EMPTY_WAITS`] more): the write that empties a file in place is
    /// followed by the one that fills it.
    pub(crate) async fn run(mut self) {
        while self.raw.recv().await.is_some() {
            let window = Duration::from_millis(self.debounce_ms.load(Ordering::Relaxed));
            tokio::time::sleep(window).await;
            for _ in 0..EMPTY_WAITS {
                if !is_empty_file(&self.config) {
                    break;
                }
                tokio::time::sleep(window).await;
            }
            while self.raw.try_recv().is_ok() {}
            let reload = Command::Reload {
                trigger: Trigger::Watcher,
                source: Source::File,
                reply: None,
            };
            if self.commands.send(reload).is_err() {
                return;
            }
        }
    }
}

/// True when `path` is a file of 0 bytes (a missing file is not: the reload reports it).
fn is_empty_file(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0)
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

    /// A file emptied in place is not read until it is filled again (or has stayed empty for
    /// `EMPTY_WAITS` more windows), in tokio's paused time: no real clock involved.
    #[tokio::test(start_paused = true)]
    async fn an_emptied_file_is_read_once_it_is_filled() {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("telemetry.toml");
        std::fs::write(&config, "").unwrap();
        let (raw_tx, raw) = mpsc::unbounded_channel();
        let (commands, mut reloads) = mpsc::unbounded_channel();
        let debounce_ms = Arc::new(AtomicU64::new(100));
        let config_path = config.clone();
        tokio::spawn(
            Debouncer {
                raw,
                commands,
                debounce_ms,
                config: config_path,
            }
            .run(),
        );
        raw_tx.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(reloads.try_recv().is_err(), "read while empty");
        std::fs::write(&config, "[telemetry]\n").unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(matches!(reloads.try_recv(), Ok(Command::Reload { .. })));
        // Empty for good: read after the extra windows, taken as meant.
        std::fs::write(&config, "").unwrap();
        raw_tx.send(()).unwrap();
        tokio::time::sleep(Duration::from_millis(100 * u64::from(EMPTY_WAITS + 1) + 50)).await;
        assert!(matches!(reloads.try_recv(), Ok(Command::Reload { .. })));
    }
}
