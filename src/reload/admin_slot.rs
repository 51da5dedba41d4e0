//! The admin endpoint's part in a reload: planned while the reload prepares (its address bound, its token read
//! from the vault: either can fail, and the reload is then rejected at its key), installed once it is applied
//! (the old server stops, the new one serves). An unchanged address keeps its server and connections; the token
//! is read again at every reload, so a rotated secret takes effect with the next one.

use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;

use secrecy::SecretString;
use tokio::sync::{mpsc, watch};

use super::command::Command;
use super::inputs::admin::{AdminServer, Shared};
use crate::config::TelemetryConfig;
use crate::config::load::Loaded;
use crate::error::{ConfigError, ConfigErrorKind};
use crate::status::TelemetryStatus;

/// What a reload does to the endpoint.
pub(crate) struct AdminPlan {
    /// `None`: keep what runs; `Some(None)`: stop it; `Some(Some(..))`: serve on this new listener.
    listener: Option<Option<(TcpListener, String)>>,
    token: Option<SecretString>,
}

/// Plans the endpoint `next` asks for against the `running` one.
///
/// # Errors
/// The address cannot be bound, or the token's secret is missing or unreadable: at the key's place in the file.
pub(crate) fn plan(
    running: Option<&AdminServer>,
    next: &TelemetryConfig,
    loaded: &Loaded,
    origin: &Path,
) -> Result<AdminPlan, ConfigError> {
    let error = |key: &str, message: String| ConfigError {
        path: origin.to_path_buf(),
        position: loaded.locate(&format!("telemetry.{key}")),
        key: Some(format!("telemetry.{key}")),
        kind: ConfigErrorKind::InvalidValue { message },
    };
    // The address may come from the builder rather than the file: the file's rules apply to it too.
    crate::config::validate_admin(&next.admin).map_err(|(key, kind)| ConfigError {
        kind,
        ..error(key, String::new())
    })?;
    let token = match &next.admin.token_vault_key {
        None => None,
        Some(key) => {
            let read =
                crate::vault::read_secret(&next.vault, key).map_err(|m| error("admin.token_vault_key", m))?;
            let missing = || format!("the secret `{key}` holding the admin token is missing");
            Some(read.ok_or_else(|| error("admin.token_vault_key", missing()))?)
        }
    };
    let listener = match (&next.admin.listen, running) {
        (None, None) => None,
        (None, Some(_)) => Some(None),
        (Some(listen), Some(r)) if r.listen == *listen => None,
        (Some(listen), _) => {
            let bound = AdminServer::bind(listen).map_err(|m| error("admin.listen", m))?;
            Some(Some((bound, listen.clone())))
        }
    };
    Ok(AdminPlan { listener, token })
}

/// Carries `plan` out on `slot`; a server that cannot start is a warning (the reload is applied by now).
pub(crate) fn install(
    slot: &mut Option<AdminServer>,
    plan: AdminPlan,
    commands: &mpsc::UnboundedSender<Command>,
    status: Option<watch::Receiver<Arc<TelemetryStatus>>>,
) -> Option<String> {
    let mut warning = None;
    match plan.listener {
        None => {}
        Some(None) => *slot = None,
        Some(Some((listener, listen))) => {
            // The old server stops first: its thread is joined here, on the control thread.
            *slot = None;
            let shared = status.map(|status| Shared {
                commands: commands.clone(),
                status,
                token: std::sync::RwLock::new(None),
            });
            match shared.map(|s| AdminServer::start(listener, listen, s)) {
                Some(Ok(server)) => *slot = Some(server),
                Some(Err(e)) => warning = Some(format!("the admin endpoint could not start: {e}")),
                None => warning = Some("the admin endpoint starts with the first status".to_owned()),
            }
        }
    }
    if let Some(server) = slot.as_ref() {
        server.set_token(plan.token);
    }
    warning
}
