//! Asking for a reload from code, and what came of it.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::error::ConfigError;
use crate::reload::control::{Command, Source};
use crate::status::Trigger;

/// What a reload did.
#[derive(Debug, Clone, PartialEq)]
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

/// A clonable handle that reloads the config file now.
///
/// ```no_run
/// # async fn f(telemetry: &livetel::Telemetry) {
/// let trigger = telemetry.reload_trigger();
/// match trigger.reload().await {
///     livetel::ReloadOutcome::Rejected { error } => eprintln!("kept the last good config: {error}"),
///     outcome => println!("{outcome:?}"),
/// }
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct ReloadTrigger {
    pub(crate) tx: mpsc::UnboundedSender<Command>,
}

impl ReloadTrigger {
    /// Re-reads the file and applies it if it changed and is valid.
    pub async fn reload(&self) -> ReloadOutcome {
        answer(request(&self.tx, Trigger::Manual, Source::File)).await
    }

    /// Like [`reload`](Self::reload), for code that is not async: blocks the calling thread until done.
    /// Do not call it from inside an async runtime's worker.
    pub fn reload_blocking(&self) -> ReloadOutcome {
        answer_blocking(request(&self.tx, Trigger::Manual, Source::File))
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
