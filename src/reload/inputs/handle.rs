//! Changing the running config from code: for apps whose telemetry settings come from a feature-flag service
//! or an admin API rather than a file.

use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::config::TelemetryConfig;
use crate::reload::command::{
    Command, OverrideChange, OverrideOutcome, ReloadOutcome, Source, answer, answer_blocking,
    answer_override, answer_override_blocking, request, request_override,
};
use crate::status::Trigger;

/// A clonable handle that applies a config held in memory, through the same validate → prepare → activate →
/// retire path as a file change. Get one with [`crate::Telemetry::handle`].
///
/// A rejected change leaves everything as it was and sets status `last_error`; an applied one shows in status
/// with trigger `handle`. Between the file and a handle **the last writer wins:** the next file change or SIGHUP
/// re-reads the file and applies it over whatever `modify` or `apply_toml` set, and the next of those applies
/// over the file. For a change that must not outlive its purpose ("`agent=debug` for ten minutes"), use a
/// temporary override ([`Handle::override_toml`]): it lies over whatever the file or a handle sets, and goes
/// away by itself.
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

    /// Lays a `[telemetry]` document over the config for `ttl`, then takes it away by itself: the effective
    /// config is the base one (the file's, or the last one a handle gave) with every active override on top, in
    /// the order they were added. A file edit made meanwhile applies under it. Status lists active overrides
    /// (`overrides`) with their expiry; the reloads they make show with trigger `override` and
    /// `override_expired`.
    ///
    /// The answer carries the override's id (to remove it early) and the reload it made. A document that is
    /// not a valid `[telemetry]` table, or that does not fit the current config, is rejected like a bad file
    /// (errors name `<override>` with line and column) and nothing changes.
    ///
    /// ```no_run
    /// # async fn f(telemetry: &livetel::Telemetry) {
    /// let ten_minutes = std::time::Duration::from_secs(600);
    /// let o = telemetry.handle().override_toml("[telemetry]\nfilter = \"info,agent=debug\"\n", ten_minutes).await;
    /// assert!(o.id.is_some());
    /// # }
    /// ```
    pub async fn override_toml(&self, text: impl Into<String>, ttl: Duration) -> OverrideOutcome {
        let change = OverrideChange::Add {
            text: text.into(),
            ttl,
        };
        answer_override(self.send_override(change)).await
    }

    /// Like [`override_toml`](Self::override_toml), blocking the calling thread until done.
    pub fn override_toml_blocking(&self, text: impl Into<String>, ttl: Duration) -> OverrideOutcome {
        let change = OverrideChange::Add {
            text: text.into(),
            ttl,
        };
        answer_override_blocking(self.send_override(change))
    }

    /// Removes override `id` before it expires, and reloads without it.
    pub async fn remove_override(&self, id: u64) -> OverrideOutcome {
        answer_override(self.send_override(OverrideChange::Remove { id })).await
    }

    /// Like [`remove_override`](Self::remove_override), blocking the calling thread until done.
    pub fn remove_override_blocking(&self, id: u64) -> OverrideOutcome {
        answer_override_blocking(self.send_override(OverrideChange::Remove { id }))
    }

    fn send_override(&self, change: OverrideChange) -> Option<oneshot::Receiver<OverrideOutcome>> {
        request_override(&self.tx, change)
    }

    fn send(&self, source: Source) -> Option<tokio::sync::oneshot::Receiver<ReloadOutcome>> {
        request(&self.tx, Trigger::Handle, source)
    }
}
