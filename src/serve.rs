//! A small HTTP/1 server on a thread of its own, bounded so that no client can hold it: what livetel's two
//! endpoints (`/metrics` and the admin endpoint) are served by.
//!
//! hyper does the protocol (with its header-read timeout); this adds what hyper leaves to its users: a thread
//! and a current-thread runtime of their own (never the application's, marked untraced), a bound on the
//! connections served at once (one more is closed as soon as it is accepted, never queued), a time limit per
//! connection, and a stop that joins the thread (on livetel's control thread, when the server is dropped).

use std::convert::Infallible;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{Semaphore, oneshot};

/// The bounds of one server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Connections served at once.
    pub(crate) max_connections: usize,
    /// Time a client has to send a request's head (a Slowloris client is cut off then).
    pub(crate) header_timeout: Duration,
    /// Time a connection may last, whatever it does.
    pub(crate) connection_timeout: Duration,
    /// Several requests per connection.
    pub(crate) keep_alive: bool,
}

/// A running server: stopped, and its thread joined, when dropped.
pub(crate) struct Served {
    /// The address bound (the port chosen when the config asked for port 0).
    pub(crate) addr: SocketAddr,
    stop: Mutex<Option<oneshot::Sender<()>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// Binds `listen` on the caller's thread (so an address in use fails the reload that asked for it).
///
/// # Errors
/// The address does not parse, or cannot be bound.
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

/// Serves `answer` on `listener` from a thread named `name`, within `limits`.
///
/// # Errors
/// The thread or its runtime could not start.
pub(crate) fn spawn<F, Fut>(
    name: &str,
    listener: TcpListener,
    limits: Limits,
    answer: F,
) -> std::io::Result<Served>
where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    let addr = listener.local_addr()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (stop, stopped) = oneshot::channel();
    let answer = Arc::new(answer);
    let thread = std::thread::Builder::new().name(name.into()).spawn(move || {
        crate::threads::mark_untraced();
        runtime.block_on(accept(listener, limits, answer, stopped));
    })?;
    Ok(Served {
        addr,
        stop: Mutex::new(Some(stop)),
        thread: Mutex::new(Some(thread)),
    })
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.lock().ok().and_then(|mut s| s.take()) {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.lock().ok().and_then(|mut t| t.take()) {
            let _ = thread.join();
        }
    }
}

/// Accepts until `stopped`: one task per connection, at most `limits.max_connections`.
async fn accept<F, Fut>(
    listener: TcpListener,
    limits: Limits,
    answer: Arc<F>,
    mut stopped: oneshot::Receiver<()>,
) where
    F: Fn(Request<Incoming>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Response<Full<Bytes>>, Infallible>> + Send + 'static,
{
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // Out of descriptors, or a connection reset before it was accepted: try again shortly.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        // Over the bound: closed at once, never queued.
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            continue;
        };
        let answer = Arc::clone(&answer);
        tokio::spawn(async move {
            let _slot = slot;
            let service = hyper::service::service_fn(move |req| answer(req));
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .keep_alive(limits.keep_alive)
                .max_buf_size(8192)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(limits.connection_timeout, connection).await;
        });
    }
}
