//! Asking for a reload from code, and what came of it.

use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};

use crate::error::ConfigError;
use crate::reload::control::Command;
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
        match self.request() {
            Some(rx) => rx.await.unwrap_or(ReloadOutcome::Stopped),
            None => ReloadOutcome::Stopped,
        }
    }

    /// Like [`reload`](Self::reload), for code that is not async: blocks the calling thread until done.
    /// Do not call it from inside an async runtime's worker.
    pub fn reload_blocking(&self) -> ReloadOutcome {
        match self.request() {
            Some(rx) => rx.blocking_recv().unwrap_or(ReloadOutcome::Stopped),
            None => ReloadOutcome::Stopped,
        }
    }

    /// Sends a reload command; `None` once the control loop is gone.
    fn request(&self) -> Option<oneshot::Receiver<ReloadOutcome>> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Command::Reload {
                trigger: Trigger::Manual,
                reply: Some(reply),
            })
            .ok()?;
        Some(rx)
    }
}
