//! SIGHUP asks for a reload, as daemons have long done.

use tokio::sync::mpsc;

use crate::reload::command::{Command, Source};
use crate::status::Trigger;

/// The installed SIGHUP handler (`None` off unix).
#[cfg(unix)]
pub(crate) type Hangup = tokio::signal::unix::Signal;
/// No reload signal off unix.
#[cfg(not(unix))]
pub(crate) type Hangup = ();

/// Installs the SIGHUP handler. Called inside the control runtime's context *before* `build` returns: until it
/// is installed, a SIGHUP would still have its default effect and end the process. Returns an error sentence
/// when the handler cannot be installed (status shows it as a warning).
#[cfg(unix)]
pub(crate) fn install_sighup() -> Result<Hangup, String> {
    use tokio::signal::unix::{SignalKind, signal};
    signal(SignalKind::hangup()).map_err(|e| format!("cannot install the SIGHUP handler: {e}"))
}

/// Forwards every SIGHUP as a reload until the control loop is gone.
#[cfg(unix)]
pub(crate) async fn forward_sighup(mut hup: Hangup, commands: mpsc::UnboundedSender<Command>) {
    while hup.recv().await.is_some() {
        let reload = Command::Reload {
            trigger: Trigger::Signal,
            source: Source::File,
            reply: None,
        };
        if commands.send(reload).is_err() {
            return;
        }
    }
}

/// No reload signal off unix; the file watcher and [`crate::ReloadTrigger`] still work.
#[cfg(not(unix))]
pub(crate) fn install_sighup() -> Result<Hangup, String> {
    Ok(())
}

#[cfg(not(unix))]
pub(crate) async fn forward_sighup(_hup: Hangup, _commands: mpsc::UnboundedSender<Command>) {}
