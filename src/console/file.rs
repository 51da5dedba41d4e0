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

/// Lines queued for the file before new ones are dropped (and counted).
const QUEUE_LINES: usize = 16_384;

/// A running log file: its writer handle for the fmt layer, and what it has done.
pub(crate) struct LogFile {
    /// The configured path: `<dir>/<name>`; the files are `<name>.YYYY-MM-DD`.
    pub(crate) path: PathBuf,
    writer: NonBlocking,
    queue_drops: ErrorCounter,
    shared: Arc<Shared>,
    /// Dropping it flushes the queue and stops the worker thread.
    _guard: WorkerGuard,
}

/// What the worker thread reports.
#[derive(Default)]
struct Shared {
    written: AtomicU64,
    failed: AtomicU64,
    last_error: Mutex<Option<String>>,
    on_change: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl Shared {
    fn problem(&self, message: String) {
        *self.last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(message);
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
    pub(crate) fn open(path: &Path, on_change: Arc<dyn Fn() + Send + Sync>) -> Result<LogFile, String> {
        let (dir, name) = split(path)?;
        let appender = appender(&dir, &name)?;
        let shared = Arc::new(Shared {
            on_change: Some(on_change),
            ..Shared::default()
        });
        let checked = CheckedFile {
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
        Ok(LogFile {
            path: path.to_owned(),
            queue_drops: writer.error_counter(),
            writer,
            shared,
            _guard: guard,
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
    shared: Arc<Shared>,
}

impl CheckedFile {
    /// Reopens the day's file when it was deleted (or moved away) under the appender.
    fn reopen_if_lost(&mut self) {
        let current = self.dir.join(todays_name(&self.name));
        if current.exists() {
            return;
        }
        match appender(&self.dir, &self.name) {
            Ok(fresh) => {
                self.appender = fresh;
                self.shared.problem(format!(
                    "log file `{}` was deleted; reopened at {}",
                    current.display(),
                    crate::status::now_rfc3339()
                ));
            }
            Err(e) => self.shared.problem(e),
        }
    }
}

impl Write for CheckedFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.write_all(buf).map(|()| buf.len())
    }

    /// One call per line (the worker's): the line is written whole or counted as dropped.
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        self.reopen_if_lost();
        match self.appender.write_all(buf) {
            Ok(()) => {
                self.shared.written.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Err(e) => {
                self.shared.failed.fetch_add(1, Ordering::Relaxed);
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

    #[test]
    fn a_deleted_file_is_reopened_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let file = LogFile::open(&dir.path().join("app.log"), Arc::new(|| {})).unwrap();
        let mut w = file.writer();
        w.write_all(b"one\n").unwrap();
        let current = file.figures().current;
        drop(w);
        // The worker writes in order: wait for the first line by its count, not by time.
        while file.figures().written < 1 {
            std::thread::yield_now();
        }
        std::fs::remove_file(&current).unwrap();
        file.writer().write_all(b"two\n").unwrap();
        while file.figures().written < 2 {
            std::thread::yield_now();
        }
        let figures = file.figures();
        assert_eq!(std::fs::read_to_string(&current).unwrap(), "two\n");
        assert_eq!(figures.dropped, 0);
        assert!(figures.error.unwrap().contains("was deleted; reopened"));
    }
}
