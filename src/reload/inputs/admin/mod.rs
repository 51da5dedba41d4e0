//! The admin endpoint (`[telemetry.admin]`): an HTTP/1 server on a thread of its own for operators.
//!
//! Routes ([`routes`]): `GET /status` (the status JSON), `POST /reload` (reload the file, answer its outcome),
//! `GET /overrides`, `POST /overrides` (a temporary override: `{"filter": "info,agent=debug", "ttl": "10m"}`),
//! `DELETE /overrides/ID`. Every write route needs `Authorization: Bearer <token>` when the config names a
//! token (compared in constant time); a config without one may only listen on a loopback address.
//!
//! It never holds the app: it runs on its own thread and runtime, marked untraced; it takes at most
//! [`MAX_CONNECTIONS`] connections at once (more are closed at once), gives a client [`HEADER_TIMEOUT`] to send
//! its request head and [`CONNECTION_TIMEOUT`] in all, and reads at most [`MAX_BODY`] bytes of body. Requests
//! reach the control loop as commands, like a [`crate::Handle`]'s.
//!
//! Served by [`crate::serve`] (hyper's HTTP/1 server within these bounds), as `/metrics` is.

mod routes;

use std::net::TcpListener;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use secrecy::SecretString;
use tokio::sync::{mpsc, watch};

use crate::reload::command::Command;
use crate::status::TelemetryStatus;

/// Connections served at once; more are closed as soon as they are accepted.
pub(crate) const MAX_CONNECTIONS: usize = 64;
/// How long a client may take to send a request's head (a Slowloris client is cut off then).
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one connection may live, whatever it does.
pub(crate) const CONNECTION_TIMEOUT: Duration = Duration::from_secs(30);
/// The largest request body read (an override is a few hundred bytes).
pub(crate) const MAX_BODY: usize = 64 * 1024;

/// What the routes share: the control loop's commands, status, and the token.
pub(crate) struct Shared {
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    pub(crate) status: watch::Receiver<Arc<TelemetryStatus>>,
    /// The bearer token of the write routes; `None`: writes need none (loopback only).
    pub(crate) token: RwLock<Option<SecretString>>,
}

/// A running endpoint: stopped when dropped.
pub(crate) struct AdminServer {
    /// The address as the config wrote it, to tell a change.
    pub(crate) listen: String,
    shared: Arc<Shared>,
    served: crate::serve::Served,
}

impl AdminServer {
    /// Binds `listen` (the fallible half, run while a reload prepares).
    ///
    /// # Errors
    /// The address does not parse, or cannot be bound (in use, not local).
    pub(crate) fn bind(listen: &str) -> Result<TcpListener, String> {
        crate::serve::bind(listen)
    }

    /// Serves on `listener` from a thread of its own.
    ///
    /// # Errors
    /// The thread or its runtime could not start.
    pub(crate) fn start(
        listener: TcpListener,
        listen: String,
        shared: Shared,
    ) -> std::io::Result<AdminServer> {
        let shared = Arc::new(shared);
        let serving = Arc::clone(&shared);
        let limits = crate::serve::Limits {
            max_connections: MAX_CONNECTIONS,
            header_timeout: HEADER_TIMEOUT,
            connection_timeout: CONNECTION_TIMEOUT,
            keep_alive: true,
        };
        let served = crate::serve::spawn("livetel-admin", listener, limits, move |req| {
            routes::answer(Arc::clone(&serving), req)
        })?;
        Ok(AdminServer {
            listen,
            shared,
            served,
        })
    }

    /// Its entry in status.
    pub(crate) fn status(&self) -> crate::status::AdminStatus {
        let token_required = self.shared.token.read().map(|t| t.is_some()).unwrap_or(true);
        crate::status::AdminStatus {
            address: self.served.addr.to_string(),
            token_required,
        }
    }

    /// Replaces the bearer token (read again at every reload: a rotated secret takes effect at once).
    pub(crate) fn set_token(&self, token: Option<SecretString>) {
        if let Ok(mut t) = self.shared.token.write() {
            *t = token;
        }
    }
}
