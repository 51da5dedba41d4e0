//! One signal's way out of an OTLP sink: its bounded queue and the worker thread that exports it.

use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::{Duration, Instant};

use super::{Msg, OtlpSettings, runtime, signal, worker};

/// One signal's queue, and the completion of the worker thread that exports it.
pub(super) struct Lane<T> {
    tx: SyncSender<Msg<T>>,
    done: Mutex<Option<Receiver<()>>>,
}

impl<T: Send + 'static> Lane<T> {
    /// Starts a worker exporting `signal`'s records from a new queue.
    pub(super) fn start<S: signal::Signal<Item = T>>(
        signal: S,
        settings: &OtlpSettings,
        rt: &runtime::ExportRuntime,
        links: worker::Links,
        thread: &str,
    ) -> Result<Self, String> {
        let (tx, rx) = mpsc::sync_channel(settings.max_queue_size);
        let (done_tx, done_rx) = mpsc::channel();
        let worker = worker::Worker::new(signal, settings, rx, rt.handle().clone(), links);
        std::thread::Builder::new()
            .name(thread.into())
            .spawn(move || {
                crate::threads::mark_untraced();
                worker.run();
                let _ = done_tx.send(());
            })
            .map_err(|e| format!("cannot start the export thread: {e}"))?;
        Ok(Lane {
            tx,
            done: Mutex::new(Some(done_rx)),
        })
    }

    /// Queues `item` without blocking; false when it cannot be (closed, full, worker gone).
    #[inline]
    pub(super) fn queue(&self, closed: bool, item: T) -> bool {
        crate::sinks::try_queue(&self.tx, closed, Msg::Item(item))
    }

    /// Waits, until `deadline` at the latest, for everything queued so far to be exported or given up on.
    pub(super) fn flush(&self, deadline: Instant) {
        let (reply, rx) = mpsc::channel();
        let mut msg = Msg::Flush(reply);
        loop {
            match self.tx.try_send(msg) {
                Ok(()) => break,
                Err(TrySendError::Full(m)) if Instant::now() < deadline => {
                    msg = m;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(_) => return,
            }
        }
        let _ = rx.recv_timeout(deadline.saturating_duration_since(Instant::now()));
    }

    /// Lets the worker export what is queued and stop on its own; returns its completion.
    pub(super) fn retire(&mut self) -> Option<Receiver<()>> {
        let (dead, _) = mpsc::sync_channel(0);
        drop(std::mem::replace(&mut self.tx, dead));
        self.done.lock().ok().and_then(|mut d| d.take())
    }
}
