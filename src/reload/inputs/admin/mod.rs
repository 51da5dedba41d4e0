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
//! hyper's own HTTP/1 server does the protocol (with its header-read timeout); the accept loop adds the
//! connection bound, which hyper leaves to its users.

mod routes;

use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use secrecy::SecretString;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

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
    /// The address it listens on (the bound one: port 0 becomes the port chosen).
    pub(crate) addr: SocketAddr,
    /// The address as the config wrote it, to tell a change.
    pub(crate) listen: String,
    shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AdminServer {
    /// Binds `listen` (the fallible half, run while a reload prepares).
    ///
    /// # Errors
    /// The address does not parse, or cannot be bound (in use, not local).
    pub(crate) fn bind(listen: &str) -> Result<TcpListener, String> {
        let addr: SocketAddr = listen
            .parse()
            .map_err(|_| format!("`{listen}` is not an address and port"))?;
        let listener = TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        Ok(listener)
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
        let addr = listener.local_addr()?;
        let shared = Arc::new(shared);
        let (stop, stopped) = oneshot::channel();
        let serving = Arc::clone(&shared);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("livetel-admin".into())
            .spawn(move || {
                crate::threads::mark_untraced();
                runtime.block_on(serve(listener, serving, stopped));
            })?;
        Ok(AdminServer {
            addr,
            listen,
            shared,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// Its entry in status.
    pub(crate) fn status(&self) -> crate::status::AdminStatus {
        let token_required = self.shared.token.read().map(|t| t.is_some()).unwrap_or(true);
        crate::status::AdminStatus {
            address: self.addr.to_string(),
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

impl Drop for AdminServer {
    /// Stops accepting and waits for the thread; connections in flight end with it.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The accept loop: one task per connection, at most [`MAX_CONNECTIONS`], until `stopped`.
async fn serve(listener: TcpListener, shared: Arc<Shared>, mut stopped: oneshot::Receiver<()>) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else { continue };
        // Over the bound: dropped (closed) at once, never queued.
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            continue;
        };
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let service = service_fn(move |req| routes::answer(Arc::clone(&shared), req));
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
            drop(slot);
        });
    }
}
