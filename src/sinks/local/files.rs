//! The files one `local` sink writes: the one it writes now, and the ones it finished, kept to `max_files`. A
//! file about to pass `max_file_mb` is finished as it stands (every batch already ends it with its closing
//! bracket, so it is valid JSON) and the next one begins, named like the first; the writer starts it with the
//! process's and the threads' names, so each file loads on its own in Perfetto. Only files this sink wrote are
//! ever deleted, oldest first: what a `local` backend keeps on disk is bounded by
//! `max_file_mb × max_files` (plus one batch), however long the service runs.

use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// What a sink's files are made from and how many of what size it keeps.
pub(super) struct Files {
    dir: PathBuf,
    session_id: String,
    /// `None`: no limit.
    max_bytes: Option<u64>,
    max_files: usize,
    current: PathBuf,
    /// The current file's timestamp and suffix number: a file begun in the same millisecond takes a higher
    /// number, never the name of a file this sink deleted.
    last: (String, u32),
    /// Finished files, oldest first.
    finished: VecDeque<PathBuf>,
}

impl Files {
    /// Creates `dir` if needed and the first file in it; returns it with the set.
    pub(super) fn open(
        dir: &Path,
        session_id: &str,
        max_file_mb: u64,
        max_files: u32,
    ) -> std::io::Result<(Files, File)> {
        std::fs::create_dir_all(dir)?;
        let stamp = timestamp();
        let (file, current, n) = create_unique(dir, session_id, &stamp, 0)?;
        let files = Files {
            dir: dir.to_owned(),
            session_id: session_id.to_owned(),
            max_bytes: (max_file_mb > 0).then(|| max_file_mb.saturating_mul(1 << 20)),
            max_files: usize::try_from(max_files.max(1)).unwrap_or(1),
            current,
            last: (stamp, n),
            finished: VecDeque::new(),
        };
        Ok((files, file))
    }

    /// The file being written.
    pub(super) fn current(&self) -> &Path {
        &self.current
    }

    /// True when `more` bytes at `end` would take the current file past its limit, and the file holds more than
    /// its `header` (a batch never waits for a file of its own).
    pub(super) fn full(&self, end: u64, more: usize, header: u64) -> bool {
        self.max_bytes
            .is_some_and(|max| end > header && end.saturating_add(more as u64) > max)
    }

    /// Begins the next file: the current one becomes finished, and the oldest finished ones past `max_files`
    /// are deleted. The new file, and the error of a deletion that failed (the file is then no longer tracked).
    pub(super) fn next(&mut self) -> std::io::Result<(File, Option<std::io::Error>)> {
        let stamp = timestamp();
        let from = if stamp == self.last.0 { self.last.1 + 1 } else { 0 };
        let (file, path, n) = create_unique(&self.dir, &self.session_id, &stamp, from)?;
        self.last = (stamp, n);
        self.finished
            .push_back(std::mem::replace(&mut self.current, path));
        let mut failed = None;
        while self.finished.len() + 1 > self.max_files {
            let Some(oldest) = self.finished.pop_front() else {
                break;
            };
            match std::fs::remove_file(&oldest) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => failed = Some(e),
            }
        }
        Ok((file, failed))
    }
}

/// A new file `{session_id}_{stamp}.json` in `dir`, or `{session_id}_{stamp}-{n}.json` from `n = from` (the
/// first name not taken); with its number.
fn create_unique(
    dir: &Path,
    session_id: &str,
    stamp: &str,
    from: u32,
) -> std::io::Result<(File, PathBuf, u32)> {
    for n in from.. {
        let name = match n {
            0 => format!("{session_id}_{stamp}.json"),
            n => format!("{session_id}_{stamp}-{n}.json"),
        };
        let path = dir.join(name);
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(f) => return Ok((f, path, n)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < from.saturating_add(10_000) => {
                continue;
            }
            Err(e) => return Err(e),
        }
    }
    unreachable!("the loop returns")
}

fn timestamp() -> String {
    let fmt =
        time::macros::format_description!("[year][month][day]T[hour][minute][second]_[subsecond digits:3]");
    time::OffsetDateTime::now_utc()
        .format(fmt)
        .unwrap_or_else(|_| "0".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_full_past_its_limit_unless_it_holds_only_its_header() {
        let dir = tempfile::tempdir().expect("temp dir");
        let (files, _) = Files::open(dir.path(), "s", 1, 2).expect("open");
        let mib = 1u64 << 20;
        assert!(!files.full(100, 1000, 100), "only the header: the batch goes in");
        assert!(!files.full(mib - 1000, 1000, 100));
        assert!(files.full(mib - 999, 1000, 100));
        let (unlimited, _) = Files::open(dir.path(), "u", 0, 2).expect("open");
        assert!(!unlimited.full(u64::MAX / 2, usize::MAX, 0));
    }

    #[test]
    fn the_oldest_files_past_max_files_are_deleted_and_only_they() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("theirs.json"), "[]").expect("a file not ours");
        let (mut files, _) = Files::open(dir.path(), "s", 1, 3).expect("open");
        let mut made = vec![files.current().to_owned()];
        for _ in 0..4 {
            let (_, failed) = files.next().expect("next");
            assert!(failed.is_none());
            made.push(files.current().to_owned());
        }
        let exists: Vec<bool> = made.iter().map(|p| p.exists()).collect();
        assert_eq!(exists, [false, false, true, true, true], "{made:?}");
        let distinct: std::collections::HashSet<_> = made.iter().collect();
        assert_eq!(distinct.len(), made.len(), "no name is used twice: {made:?}");
        assert!(dir.path().join("theirs.json").exists());
    }
}
