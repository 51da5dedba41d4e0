//! What the inputs send the control loop, and what a reload answers. Inputs (file watcher, SIGHUP, triggers,
//! handles) import this module; the control loop imports this module; neither imports the other.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::config::TelemetryConfig;
use crate::error::ConfigError;
use crate::status::Trigger;

/// One request to the control loop.
pub(crate) enum Command {
    Reload {
        trigger: Trigger,
        source: Source,
        reply: Option<oneshot::Sender<ReloadOutcome>>,
    },
    /// A sink's state changed (an I/O error): publish status again.
    SinkChanged,
    /// A callsite was answered `sometimes` outside livetel's rebuild: rebuild soon to cache its exact interest.
    Settle,
    /// Publish status with fresh counters, then answer.
    Refresh { reply: std::sync::mpsc::Sender<()> },
    Shutdown {
        drain: Duration,
        reply: std::sync::mpsc::Sender<()>,
    },
    /// Add or remove a temporary override, then reload with the overrides that are left.
    Override {
        change: OverrideChange,
        reply: oneshot::Sender<OverrideOutcome>,
    },
}

/// What an override request asks.
pub(crate) enum OverrideChange {
    /// Lay this `[telemetry]` document over the config for `ttl`.
    Add { text: String, ttl: Duration },
    /// Remove override `id` now.
    Remove { id: u64 },
}

/// What came of adding or removing a temporary override.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OverrideOutcome {
    /// The override's id, while it is active (to remove it early); `None` when it was refused or removed.
    pub id: Option<u64>,
    /// The reload it made: applied, unchanged (it changed nothing that runs), or rejected (with the reason; the
    /// override was then not added, or there was no such override to remove).
    pub outcome: ReloadOutcome,
}

/// Where the config of a reload comes from.
pub(crate) enum Source {
    /// The config file, read again.
    File,
    /// A config document held in memory ([`crate::Handle::apply_toml`]).
    Toml(String),
    /// A change to the base config ([`crate::Handle::modify`]): the last one read or given, before the
    /// environment and the overrides.
    Modify(Box<dyn FnOnce(&mut TelemetryConfig) + Send>),
    /// The base config again, under the overrides as they are now (one was added, removed or expired).
    Base,
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ReloadOutcome {
    /// The new config is active as this generation.
    Applied {
        /// The new generation.
        generation: u64,
    },
    /// The effective config is the one already running (identical content, or only other tables changed).
    Unchanged {
        /// The generation still running.
        generation: u64,
    },
    /// The config was not applied; the last good one keeps running.
    Rejected {
        /// Why, with file, line and column.
        error: Arc<ConfigError>,
    },
    /// livetel has shut down.
    Stopped,
}

impl ReloadOutcome {
    /// True for [`ReloadOutcome::Applied`].
    pub fn is_applied(&self) -> bool {
        matches!(self, ReloadOutcome::Applied { .. })
    }
}

/// Sends a reload command to the control loop; `None` once it is gone.
pub(crate) fn request(
    tx: &mpsc::UnboundedSender<Command>,
    trigger: Trigger,
    source: Source,
) -> Option<oneshot::Receiver<ReloadOutcome>> {
    let (reply, rx) = oneshot::channel();
    let command = Command::Reload {
        trigger,
        source,
        reply: Some(reply),
    };
    tx.send(command).ok()?;
    Some(rx)
}

/// Waits for the outcome of a request.
pub(crate) async fn answer(rx: Option<oneshot::Receiver<ReloadOutcome>>) -> ReloadOutcome {
    match rx {
        Some(rx) => rx.await.unwrap_or(ReloadOutcome::Stopped),
        None => ReloadOutcome::Stopped,
    }
}

/// Blocks the calling thread until the outcome of a request arrives.
pub(crate) fn answer_blocking(rx: Option<oneshot::Receiver<ReloadOutcome>>) -> ReloadOutcome {
    rx.and_then(|rx| rx.blocking_recv().ok())
        .unwrap_or(ReloadOutcome::Stopped)
}

/// What an override request answers once the control loop is gone.
const OVERRIDE_STOPPED: OverrideOutcome = OverrideOutcome {
    id: None,
    outcome: ReloadOutcome::Stopped,
};

/// Sends an override request to the control loop; `None` once it is gone.
pub(crate) fn request_override(
    tx: &mpsc::UnboundedSender<Command>,
    change: OverrideChange,
) -> Option<oneshot::Receiver<OverrideOutcome>> {
    let (reply, rx) = oneshot::channel();
    tx.send(Command::Override { change, reply }).ok()?;
    Some(rx)
}

/// Waits for the outcome of an override request.
pub(crate) async fn answer_override(rx: Option<oneshot::Receiver<OverrideOutcome>>) -> OverrideOutcome {
    match rx {
        Some(rx) => rx.await.unwrap_or(OVERRIDE_STOPPED),
        None => OVERRIDE_STOPPED,
    }
}

/// Blocks the calling thread until the outcome of an override request arrives.
pub(crate) fn answer_override_blocking(rx: Option<oneshot::Receiver<OverrideOutcome>>) -> OverrideOutcome {
    rx.and_then(|rx| rx.blocking_recv().ok())
        .unwrap_or(OVERRIDE_STOPPED)
}
