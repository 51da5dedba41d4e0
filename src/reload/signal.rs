//! SIGHUP asks for a reload, as daemons have long done.

use tokio::sync::mpsc;

use crate::reload::control::Command;
use crate::status::Trigger;

/// Forwards every SIGHUP as a reload until the control loop is gone. Returns an error sentence when the
/// handler cannot be installed (status shows it as a warning).
#[cfg(unix)]
pub(crate) fn spawn_sighup(commands: mpsc::UnboundedSender<Command>) -> Result<(), String> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hup =
        signal(SignalKind::hangup()).map_err(|e| format!("cannot install the SIGHUP handler: {e}"))?;
    tokio::spawn(async move {
        while hup.recv().await.is_some() {
            if commands
                .send(Command::Reload {
                    trigger: Trigger::Signal,
                    reply: None,
                })
                .is_err()
            {
                return;
            }
        }
    });
    Ok(())
}

/// No reload signal off unix; the file watcher and [`crate::ReloadTrigger`] still work.
#[cfg(not(unix))]
pub(crate) fn spawn_sighup(_commands: mpsc::UnboundedSender<Command>) -> Result<(), String> {
    Ok(())
}
