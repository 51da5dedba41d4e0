//! Asking for a reload from code, and what came of it.

use tokio::sync::mpsc;

use crate::reload::command::{Command, ReloadOutcome, Source, answer, answer_blocking, request};
use crate::status::Trigger;

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
