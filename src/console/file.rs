//! `[telemetry.console] file`: JSON lines to a daily-rolling file, written on tracing-appender's worker thread.
//!
//! tracing-appender's worker drops write errors without a word, and a file deleted under it keeps taking lines
//! into an unlinked inode. [`CheckedFile`] sits between the two: before each line it checks that the day's file
//! still exists (reopening it when it does not), and it counts every line it could not write. Lines the app
//! produces faster than the worker writes are dropped at the queue (tracing-appender's lossy mode, never a wait
//! on the app thread) and counted by its error counter. Both counts are in status.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};
use tracing_appender::rolling::{RollingFileAppender, Rotation};

use crate::counters::Counters;

/// Lines queued for the file before new ones are dropped (and counted).
const QUEUE_LINES: usize = 16_384;

/// A running log file: its writer handle for the fmt layer, and what it has done.
pub(crate) struct LogFile {
    /// The configured path: `<dir>/<name>`; the files are `<name>.YYYY-MM-DD`.
    pub(crate) path: PathBuf,
    writer: NonBlocking,
    queue_drops: ErrorCounter,
    shared: Arc<Shared>,
    /// Dropping it flushes the queue and stops the worker thread, waiting up to about a second: see `Drop`.
    guard: Option<WorkerGuard>,
}

/// A log file can be released on an app thread (the last span of an old generation closing there): its worker's
/// final flush then runs on a thread of its own, never on a thread that traces.
impl Drop for LogFile {
    fn drop(&mut self) {
        if let Some(c) = &self.shared.counters {
            c.console.close(Arc::as_ptr(&self.shared) as usize);
        }
        let Some(guard) = self.guard.take() else { return };
        if crate::threads::is_untraced() {
            return drop(guard);
        }
        let spawned = std::thread::Builder::new()
            .name("livetel-console-file-close".to_owned())
            .spawn(move || {
                let _untraced = crate::threads::untraced_while();
                drop(guard);
            });
        // No thread to be had: nothing to flush it on but this one.
        if let Err(e) = spawned {
            drop(e);
        }
    }
}

/// What the worker thread reports.
#[derive(Default)]
struct Shared {
    written: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
    on_change: Option<Arc<dyn Fn() + Send + Sync>>,
    /// livetel's counters: every dropped line is also counted there, where no reload resets it.
    counters: Option<Arc<Counters>>,
}

impl Shared {
    fn dropped_line(&self) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = &self.counters {
            c.console.failed.add(1);
        }
    }

    /// Records a problem; status is published again only when the sentence changes (a full disk fails every
    /// line the same way, and one status render per failed line would queue without bound).
    fn problem(&self, message: String) {
        let mut last = self.last_error.lock().unwrap_or_else(PoisonError::into_inner);
        if last.as_deref() == Some(message.as_str()) {
            return;
        }
        *last = Some(message);
        drop(last);
        if let Some(f) = &self.on_change {
            f();
        }
    }
}

/// A log file's figures for status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FileFigures {
    pub(crate) current: PathBuf,
    pub(crate) written: u64,
    pub(crate) dropped: u64,
    pub(crate) error: Option<String>,
}

impl LogFile {
    /// Opens today's file under `path`'s directory (created when missing) and starts the worker thread.
    ///
    /// # Errors
    /// The directory cannot be created or the file cannot be opened.
    pub(crate) fn open(
        path: &Path,
        on_change: Arc<dyn Fn() + Send + Sync>,
        counters: Option<Arc<Counters>>,
    ) -> Result<LogFile, String> {
        let (dir, name) = split(path)?;
        let appender = appender(&dir, &name)?;
        let shared = Arc::new(Shared {
            on_change: Some(on_change),
            counters,
            ..Shared::default()
        });
        let checked = CheckedFile {
            day: todays_name(&name),
            dir,
            name,
            appender,
            shared: Arc::clone(&shared),
        };
        let (writer, guard) = NonBlockingBuilder::default()
            .lossy(true)
            .buffered_lines_limit(QUEUE_LINES)
            .thread_name("livetel-console-file")
            .finish(checked);
        if let Some(c) = &shared.counters {
            c.console
                .open(Arc::as_ptr(&shared) as usize, writer.error_counter());
        }
        Ok(LogFile {
            path: path.to_owned(),
            queue_drops: writer.error_counter(),
            writer,
            shared,
            guard: Some(guard),
        })
    }

    /// The writer the fmt layer writes through (a cheap clone of the queue's sender).
    pub(crate) fn writer(&self) -> NonBlocking {
        self.writer.clone()
    }

    /// What it has written and dropped, and its last problem.
    pub(crate) fn figures(&self) -> FileFigures {
        let (dir, name) = split(&self.path).unwrap_or_default();
        FileFigures {
            current: dir.join(todays_name(&name)),
            written: self.shared.written.load(Ordering::Relaxed),
            dropped: self.shared.failed.load(Ordering::Relaxed) + self.queue_drops.dropped_lines() as u64,
            error: self
                .shared
                .last_error
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }
}

/// The directory and file name of `path`.
fn split(path: &Path) -> Result<(PathBuf, String), String> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| format!("`{}` does not name a file", path.display()))?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    Ok((dir, name.to_owned()))
}

fn appender(dir: &Path, name: &str) -> Result<RollingFileAppender, String> {
    RollingFileAppender::builder()
        .rotation(Rotation::DAILY)
        .filename_prefix(name)
        .build(dir)
        .map_err(|e| format!("cannot open a log file in `{}`: {e}", dir.display()))
}

/// Today's file name, as tracing-appender's daily rotation names it (UTC date).
fn todays_name(name: &str) -> String {
    let date = time::OffsetDateTime::now_utc().date();
    format!(
        "{name}.{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The rolling appender, checked: runs on the worker thread only.
struct CheckedFile {
    dir: PathBuf,
    name: String,
    appender: RollingFileAppender,
    /// The day's file the appender writes (its name), to tell a new day's file from a deleted one.
    day: String,
    shared: Arc<Shared>,
}

impl CheckedFile {
    /// The length of the day's file before a line, reopening it when it was deleted (or moved away) under the
    /// appender; `None` when no file can be had, and the line cannot be written.
    fn prepare(&mut self) -> Option<u64> {
        let today = todays_name(&self.name);
        if today != self.day {
            // A new day: the appender rolls over to a new file on this write.
            self.day = today;
            return Some(0);
        }
        let current = self.dir.join(&self.day);
        if let Ok(meta) = std::fs::metadata(&current) {
            return Some(meta.len());
        }
        match appender(&self.dir, &self.name) {
            Ok(fresh) => {
                self.appender = fresh;
                self.shared.problem(format!(
                    "log file `{}` was deleted; reopened at {}",
                    current.display(),
                    crate::status::now_rfc3339()
                ));
                Some(0)
            }
            Err(e) => {
                self.shared.problem(e);
                None
            }
        }
    }

    /// Cuts a line the disk took only in part, so the next line starts a line of its own.
    fn cut_back(&self, len: u64) {
        let path = self.dir.join(&self.day);
        let cut = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .and_then(|f| f.set_len(len));
        if let Err(e) = cut {
            self.shared.problem(format!(
                "cannot cut a partial line from `{}`: {e}",
                path.display()
            ));
        }
    }
}

impl Write for CheckedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    /// One call per line (the worker's): the line is written whole or counted as dropped.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        let Some(len) = self.prepare() else {
            self.shared.dropped_line();
            return Ok(());
        };
        match self.appender.write_all(buf) {
            Ok(()) => {
                self.shared.written.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                self.cut_back(len);
                self.shared.dropped_line();
                self.shared
                    .problem(format!("cannot write log file in `{}`: {e}", self.dir.display()));
                // Reported and counted: the worker must go on with the next line.
                Ok(())
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if let Err(e) = self.appender.flush() {
            self.shared
                .problem(format!("cannot flush log file in `{}`: {e}", self.dir.display()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_written(file: &LogFile, n: u64) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while file.figures().written < n {
            assert!(std::time::Instant::now() < deadline, "{:?}", file.figures());
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_deleted_file_is_reopened_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = LogFile::open(&dir.path().join("app.log"), Arc::new(|| {}), None).unwrap();
        let mut w = file.writer();
        w.write_all(b"one\n").unwrap();
        let current = file.figures().current;
        drop(w);
        // The worker writes in order: wait for the first line by its count (a deadline only against a hang).
        wait_written(&file, 1);
        std::fs::remove_file(&current).unwrap();
        file.writer().write_all(b"two\n").unwrap();
        wait_written(&file, 2);
        let figures = file.figures();
        assert_eq!(std::fs::read_to_string(&current).unwrap(), "two\n");
        assert_eq!(figures.dropped, 0);
        assert!(figures.error.unwrap().contains("was deleted; reopened"));
    }
}
