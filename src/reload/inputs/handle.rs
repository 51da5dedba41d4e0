//! Changing the running config from code: for apps whose telemetry settings come from a feature-flag service
//! or an admin API rather than a file.

use tokio::sync::mpsc;

use crate::config::TelemetryConfig;
use crate::reload::command::{Command, ReloadOutcome, Source, answer, answer_blocking, request};
use crate::status::Trigger;

/// A clonable handle that applies a config held in memory, through the same validate → prepare → activate →
/// retire path as a file change. Get one with [`crate::Telemetry::handle`].
///
/// A rejected change leaves everything as it was and sets status `last_error`; an applied one shows in status
/// with trigger `handle`. **The last writer wins:** the next file change or SIGHUP re-reads the file and applies
/// it over whatever a handle set, and the next handle call applies over the file.
///
/// ```no_run
/// # async fn f(telemetry: &livetel::Telemetry) {
/// let handle = telemetry.handle();
/// // From a feature flag: keep 5 % of traces.
/// let outcome = handle.modify(|cfg| cfg.sample_rate = 0.05).await;
/// assert!(outcome.is_applied());
/// // From an admin API: a whole config document, as the file holds it.
/// handle.apply_toml("[telemetry]\nbackend = \"none\"\n").await;
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Handle {
    pub(crate) tx: mpsc::UnboundedSender<Command>,
}

impl Handle {
    /// Applies `change` to a copy of the running config (with its `OTEL_*` overrides, which apply again
    /// after the change) and applies the result if it is valid.
    ///
    /// `change` runs on livetel's control thread, where nothing is traced: keep it to setting fields. While it
    /// runs, no other reload, retirement or status update happens; a `change` that panics is rejected.
    pub async fn modify<F>(&self, change: F) -> ReloadOutcome
    where
        F: FnOnce(&mut TelemetryConfig) + Send + 'static,
    {
        answer(self.send(Source::Modify(Box::new(change)))).await
    }

    /// Like [`modify`](Self::modify), for code that is not async: blocks the calling thread until done. Do
    /// not call it from inside an async runtime's worker.
    pub fn modify_blocking<F>(&self, change: F) -> ReloadOutcome
    where
        F: FnOnce(&mut TelemetryConfig) + Send + 'static,
    {
        answer_blocking(self.send(Source::Modify(Box::new(change))))
    }

    /// Applies a config document, the text a config file holds: its `[telemetry]` table applies, other tables
    /// are ignored. Unlike a file, a document without that table is rejected (a misspelt table name must not
    /// reset every setting), and so is one over 1 MiB. Errors name `<handle>` with line, column and key.
    pub async fn apply_toml(&self, text: impl Into<String>) -> ReloadOutcome {
        answer(self.send(Source::Toml(text.into()))).await
    }

    /// Like [`apply_toml`](Self::apply_toml), blocking the calling thread until done.
    pub fn apply_toml_blocking(&self, text: impl Into<String>) -> ReloadOutcome {
        answer_blocking(self.send(Source::Toml(text.into())))
    }

    fn send(&self, source: Source) -> Option<tokio::sync::oneshot::Receiver<ReloadOutcome>> {
        request(&self.tx, Trigger::Handle, source)
    }
}
