//! The `local` sink's writer thread: encodes records as Chrome trace events and writes them in batches, each
//! one `pwrite` that leaves the file valid JSON.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, TrySendError};
use std::time::{Duration, Instant};

use super::files::Files;
use super::{Msg, WriterState};
use crate::clock;
use crate::config::Backend;
use crate::counters::Counters;
use crate::sinks::{LogRecord, Record};

/// How long the writer sleeps when its queue is empty; also the longest a record waits to be written.
const POLL: Duration = Duration::from_millis(2);
/// A batch is written once it reaches this size, or when the queue runs dry. Small enough that a failed write
/// (a full disk) loses little; large enough for few syscalls (one per ~100-300 events).
const BATCH_BYTES: usize = 32 * 1024;

pub(super) struct Writer {
    file: File,
    /// Offset of the closing `\n]`, where the next batch goes.
    pos: u64,
    /// Where the current file's header ends.
    header_len: u64,
    /// The sink's files: the current one and those it keeps.
    files: Files,
    service_name: String,
    rx: Receiver<Msg>,
    counters: Arc<Counters>,
    state: Arc<WriterState>,
    on_error: Arc<dyn Fn() + Send + Sync>,
    seen_tids: HashSet<u64>,
    /// `"name":…,"cat":…` of each callsite, escaped once (keyed by the callsite's address).
    callsites: HashMap<usize, Callsite>,
    buf: String,
    pid: u32,
}

impl Writer {
    pub(super) fn new(
        (files, file): (Files, File),
        service_name: &str,
        rx: Receiver<Msg>,
        counters: Arc<Counters>,
        state: Arc<WriterState>,
        on_error: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        let pid = std::process::id();
        Writer {
            file,
            pos: 0,
            header_len: 0,
            files,
            service_name: service_name.to_owned(),
            rx,
            counters,
            state,
            on_error,
            seen_tids: HashSet::new(),
            callsites: HashMap::new(),
            buf: String::new(),
            pid,
        }
    }

    /// Writes the opening bracket, the process name and the names of the threads seen so far (a file after the
    /// first), leaving a valid trace of no events.
    pub(super) fn start(&mut self) -> std::io::Result<()> {
        let name = serde_json::to_string(&self.service_name).unwrap_or_else(|_| "\"livetel\"".into());
        let mut head = format!(
            "[\n{{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":{},\"tid\":0,\"args\":{{\"name\":{name}}}}}",
            self.pid
        );
        for tid in &self.seen_tids {
            self.push_thread_name(&mut head, *tid);
        }
        self.file.write_all_at(format!("{head}\n]").as_bytes(), 0)?;
        self.pos = head.len() as u64;
        self.header_len = self.pos;
        Ok(())
    }

    /// Finishes the current file (it is valid JSON already) and begins the next one; on failure the current file
    /// goes on, and status says why.
    fn rotate(&mut self) {
        let failed = match self.files.next() {
            Ok((file, deletion)) => {
                self.file = file;
                if let Ok(mut path) = self.state.path.lock() {
                    self.files.current().clone_into(&mut path);
                }
                match self.start() {
                    Ok(()) => deletion.map(|e| format!("deleting the oldest trace file failed: {e}")),
                    Err(e) => Some(format!("starting the next trace file failed: {e}")),
                }
            }
            Err(e) => Some(format!("creating the next trace file failed: {e}")),
        };
        if let Some(why) = failed {
            if let Ok(mut last) = self.state.last_error.lock() {
                *last = Some(why);
            }
            (self.on_error)();
        }
    }

    /// Drains the queue, writes, sleeps while it is empty. It never blocks in `recv`: a blocked receiver makes
    /// every send a wake-up (a futex syscall on the traced thread); polling keeps sends syscall-free.
    pub(super) fn run(&mut self) {
        let mut waiting = Vec::new();
        loop {
            let mut batch = Batch::default();
            let mut got_any = false;
            let mut disconnected = false;
            loop {
                match self.rx.try_recv() {
                    Ok(Msg::Record(r)) => {
                        got_any = true;
                        batch.spans += self.encode(&r);
                    }
                    Ok(Msg::Log(r)) => {
                        got_any = true;
                        self.encode_log(&r);
                        batch.logs += 1;
                    }
                    Ok(Msg::Flush(reply)) => {
                        waiting.push(reply);
                        break;
                    }
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        disconnected = true;
                        break;
                    }
                }
                if self.buf.len() >= BATCH_BYTES {
                    self.write_batch(std::mem::take(&mut batch));
                }
            }
            if !self.buf.is_empty() {
                self.write_batch(batch);
            }
            for w in waiting.drain(..) {
                let _ = w.send(());
            }
            if disconnected {
                return;
            }
            if !got_any {
                std::thread::sleep(POLL);
            }
        }
    }

    /// Appends one record; returns 1 for a span, 0 for an instant event (the span counters count spans). The
    /// events a span carries are left out: they reach this sink as log records (see the module's docs).
    fn encode(&mut self, r: &Record) -> u64 {
        self.name_thread(r.tid);
        #[cfg(feature = "profiling")]
        let costs = r.costs.fields();
        #[cfg(not(feature = "profiling"))]
        let costs: [(&'static str, crate::sinks::fields::FieldValue); 0] = [];
        self.encode_one(r.meta, r.start_ns, r.dur_ns, r.tid, &r.fields, &costs);
        u64::from(r.dur_ns.is_some())
    }

    /// Appends an event as an instant of its thread.
    fn encode_log(&mut self, r: &LogRecord) {
        self.name_thread(r.tid);
        self.encode_one(r.meta, r.ts_ns, None, r.tid, &r.fields, &[]);
    }

    /// Appends the thread's name the first time the file sees the thread.
    fn name_thread(&mut self, tid: u64) {
        if self.seen_tids.insert(tid) {
            let mut buf = std::mem::take(&mut self.buf);
            self.push_thread_name(&mut buf, tid);
            self.buf = buf;
        }
    }

    /// Appends the metadata event that names thread `tid`.
    fn push_thread_name(&self, out: &mut String, tid: u64) {
        let name = clock::thread_name(tid).unwrap_or_else(|| format!("thread-{tid}"));
        let name = serde_json::to_string(&name).unwrap_or_default();
        let _ = write!(
            out,
            ",\n{{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":{},\"tid\":{},\"args\":{{\"name\":{name}}}}}",
            self.pid, tid
        );
    }

    /// One trace event: complete (`"ph":"X"`) with a duration, else an instant (`"ph":"i"`, thread scope).
    fn encode_one(
        &mut self,
        meta: &'static tracing_core::Metadata<'static>,
        ts_ns: u64,
        dur_ns: Option<u64>,
        tid: u64,
        fields: &crate::sinks::fields::Fields,
        more: &[(&'static str, crate::sinks::fields::FieldValue)],
    ) {
        self.buf.push_str(match dur_ns {
            Some(_) => ",\n{\"ph\":\"X\",",
            None => ",\n{\"ph\":\"i\",\"s\":\"t\",",
        });
        let callsite = self
            .callsites
            .entry(std::ptr::from_ref(meta) as usize)
            .or_insert_with(|| Callsite::of(meta));
        callsite.push_name_and_cat(&mut self.buf, fields);
        self.buf.push_str(",\"ts\":");
        push_micros(&mut self.buf, ts_ns);
        if let Some(d) = dur_ns {
            self.buf.push_str(",\"dur\":");
            push_micros(&mut self.buf, d);
        }
        self.buf.push_str(",\"pid\":");
        self.buf.push_str(itoa::Buffer::new().format(self.pid));
        self.buf.push_str(",\"tid\":");
        self.buf.push_str(itoa::Buffer::new().format(tid));
        if !fields.is_empty() || !more.is_empty() {
            self.buf.push_str(",\"args\":{");
            crate::sinks::fields::write_json(&mut self.buf, fields);
            if !fields.is_empty() && !more.is_empty() {
                self.buf.push(',');
            }
            crate::sinks::fields::write_json(&mut self.buf, more);
            self.buf.push('}');
        }
        self.buf.push('}');
    }

    /// Writes the batch and a closing bracket in one call; on error, restores the file's last valid end.
    fn write_batch(&mut self, n: Batch) {
        if self.files.full(self.pos, self.buf.len(), self.header_len) {
            self.rotate();
        }
        self.buf.push_str("\n]");
        let result = self.file.write_all_at(self.buf.as_bytes(), self.pos);
        let written = (self.buf.len() - 2) as u64;
        self.buf.clear();
        match result {
            Ok(()) => {
                self.pos += written;
                self.counters.spans_exported(Backend::Local, n.spans);
                self.state.logs_exported.fetch_add(n.logs, Ordering::Relaxed);
                self.counters.logs_exported(Backend::Local, n.logs);
            }
            Err(e) => {
                self.counters.spans_dropped(Backend::Local, n.spans);
                self.state.logs_dropped.fetch_add(n.logs, Ordering::Relaxed);
                self.counters.logs_dropped(Backend::Local, n.logs);
                self.counters.backend(Backend::Local).export_errors.add(1);
                // Cut the partial batch off and put the bracket back: the file stays loadable.
                let _ = self
                    .file
                    .set_len(self.pos)
                    .and_then(|()| self.file.write_all_at(b"\n]", self.pos));
                if let Ok(mut last) = self.state.last_error.lock() {
                    *last = Some(format!("writing the trace file failed: {e}"));
                }
                (self.on_error)();
            }
        }
    }
}

/// What a batch being encoded holds, for the counters once it is written (or not).
#[derive(Default)]
struct Batch {
    spans: u64,
    logs: u64,
}

/// `SyncSender` has no `send_timeout`: try, then retry briefly, so a flush never waits on a stuck writer forever.
pub(super) trait SendTimeout {
    fn send_timeout_compat(&self, msg: Msg, timeout: Duration) -> bool;
}

impl SendTimeout for SyncSender<Msg> {
    fn send_timeout_compat(&self, mut msg: Msg, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            match self.try_send(msg) {
                Ok(()) => return true,
                Err(TrySendError::Disconnected(_)) => return false,
                Err(TrySendError::Full(m)) if Instant::now() < deadline => {
                    msg = m;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err(TrySendError::Full(_)) => return false,
            }
        }
    }
}

/// What the writer keeps of a callsite: `"name":"…","cat":"…"` JSON-escaped, and for a callsite that declares
/// `otel.name` (a span named at run time), its escaped category alone.
struct Callsite {
    name_and_cat: Box<str>,
    /// `,"cat":"…"`, only for a callsite with an `otel.name` field.
    renamed_cat: Option<Box<str>>,
}

impl Callsite {
    fn of(meta: &tracing_core::Metadata<'_>) -> Callsite {
        let name = serde_json::to_string(meta.name()).unwrap_or_else(|_| "\"\"".into());
        let cat = serde_json::to_string(meta.target()).unwrap_or_else(|_| "\"\"".into());
        let renamed_cat = meta
            .fields()
            .field(crate::sinks::fields::OTEL_NAME)
            .map(|_| format!(",\"cat\":{cat}").into_boxed_str());
        Callsite {
            name_and_cat: format!("\"name\":{name},\"cat\":{cat}").into_boxed_str(),
            renamed_cat,
        }
    }

    /// The event's name (its `otel.name` when the callsite has one and it was set) and category.
    fn push_name_and_cat(&self, buf: &mut String, fields: &crate::sinks::fields::Fields) {
        let renamed = self
            .renamed_cat
            .as_ref()
            .and_then(|cat| Some((crate::sinks::fields::otel_name(fields)?, cat)));
        match renamed {
            Some((name, cat)) => {
                buf.push_str("\"name\":");
                buf.push_str(&serde_json::to_string(name).unwrap_or_else(|_| "\"\"".into()));
                buf.push_str(cat);
            }
            None => buf.push_str(&self.name_and_cat),
        }
    }
}

/// Nanoseconds as microseconds with three decimals (Chrome's unit), without going through `fmt`.
fn push_micros(buf: &mut String, ns: u64) {
    buf.push_str(itoa::Buffer::new().format(ns / 1000));
    let frac = ns % 1000;
    buf.push('.');
    buf.push(char::from(b'0' + (frac / 100) as u8));
    buf.push(char::from(b'0' + (frac / 10 % 10) as u8));
    buf.push(char::from(b'0' + (frac % 10) as u8));
}

#[cfg(test)]
mod tests {
    use crate::sinks::fields::{FieldValue, Fields};

    static CALLSITE: tracing_core::callsite::DefaultCallsite =
        tracing_core::callsite::DefaultCallsite::new(&RENAMED);
    static RENAMED: tracing_core::Metadata<'static> = tracing_core::metadata! {
        name: "http.request",
        target: "livetel::http",
        level: tracing_core::Level::INFO,
        fields: &["otel.name", "url.path"],
        callsite: &CALLSITE,
        kind: tracing_core::Kind::SPAN,
    };

    /// A span whose callsite declares `otel.name` is written under that name; without a value, or for a callsite
    /// without the field, under the callsite's name.
    #[test]
    fn otel_name_names_the_event() {
        let named = |fields: Fields, meta: &tracing_core::Metadata<'_>| {
            let mut buf = String::new();
            super::Callsite::of(meta).push_name_and_cat(&mut buf, &fields);
            buf
        };
        let fields: Fields = smallvec::smallvec![
            ("otel.name", FieldValue::Str("GET /users/{id}".into())),
            ("url.path", FieldValue::Str("/users/7".into())),
        ];
        assert_eq!(
            named(fields.clone(), &RENAMED),
            r#""name":"GET /users/{id}","cat":"livetel::http""#
        );
        assert_eq!(
            named(Fields::new(), &RENAMED),
            r#""name":"http.request","cat":"livetel::http""#
        );
        assert_eq!(
            named(fields, &crate::sinks::record::TEST_EVENT),
            r#""name":"event tool.rs:1","cat":"agent::tool""#
        );
    }

    #[test]
    fn micros_have_three_decimals() {
        for (ns, text) in [
            (0, "0.000"),
            (5, "0.005"),
            (1_234_567, "1234.567"),
            (10_000, "10.000"),
        ] {
            let mut s = String::new();
            super::push_micros(&mut s, ns);
            assert_eq!(s, text);
        }
    }
}
