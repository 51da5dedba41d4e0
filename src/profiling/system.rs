//! The process's own figures, every `system_metrics_interval_secs`: `process.memory.rss`,
//! `process.cpu.utilization`, `process.thread.count`, `process.open_file_descriptor.count` (OpenTelemetry's
//! semantic-convention names).
//!
//! A thread of its own (livetel's, untraced) reads them with `sysinfo` (resident memory, threads, open file
//! descriptors) and `clock_gettime(CLOCK_PROCESS_CPUTIME_ID)` (CPU used since the previous sample, over wall time
//! and the cores available). Each sample is published for status and `/metrics` (gauges, while metrics are on)
//! and written as one event `process.metrics` (target `livetel::profiling`): a Chrome instant event for `local`,
//! an OTLP log record for `otlp`, through the same sinks as the generation's spans. The thread stops, and is
//! joined, when the hook that owns it is dropped (the key removed, or profiling off).

use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use crate::counters::Counters;
use crate::figures::ProcessSample;
use crate::sinks::record::{FieldValue, Fields};
use crate::sinks::{LogRecord, Record, SinkSet, Takes};

/// The running sampler; dropping it stops and joins its thread.
pub(crate) struct SystemSampler {
    pub(crate) interval: Duration,
    stop: Arc<Stop>,
    thread: Option<JoinHandle<()>>,
}

/// Raised to stop the thread, which waits on it between samples.
#[derive(Default)]
struct Stop {
    stopped: Mutex<bool>,
    wake: Condvar,
}

impl Stop {
    /// Waits `d` unless stopped first; true when stopped.
    fn wait(&self, d: Duration) -> bool {
        let Ok(stopped) = self.stopped.lock() else {
            return true;
        };
        match self.wake.wait_timeout_while(stopped, d, |s| !*s) {
            Ok((s, _)) => *s,
            Err(_) => true,
        }
    }

    fn raise(&self) {
        if let Ok(mut s) = self.stopped.lock() {
            *s = true;
        }
        self.wake.notify_all();
    }
}

/// Where samples go: the generation's sinks, the counters profiling's figures live in, and a call that has
/// status published again.
pub(crate) struct Outputs {
    pub(crate) sinks: SinkSet,
    pub(crate) counters: Arc<Counters>,
    pub(crate) on_sample: Arc<dyn Fn() + Send + Sync>,
}

impl SystemSampler {
    /// Starts the thread: a first sample at once, then one every `interval`.
    ///
    /// # Errors
    /// The thread could not be spawned.
    pub(crate) fn start(interval: Duration, out: Outputs) -> std::io::Result<SystemSampler> {
        let stop = Arc::new(Stop::default());
        let waiter = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("livetel-procmet".to_owned())
            .spawn(move || {
                crate::threads::mark_untraced();
                let mut reader = Reader::new();
                loop {
                    emit(reader.sample(), &out);
                    if waiter.wait(interval) {
                        break;
                    }
                }
            })?;
        Ok(SystemSampler {
            interval,
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for SystemSampler {
    fn drop(&mut self) {
        self.stop.raise();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Reads the process's figures; keeps what CPU utilization is measured against.
pub(crate) struct Reader {
    system: System,
    pid: Option<Pid>,
    cores: f64,
    last: (Instant, u64),
}

impl Reader {
    pub(crate) fn new() -> Reader {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get()) as f64;
        Reader {
            system: System::new(),
            pid: sysinfo::get_current_pid().ok(),
            cores,
            last: (Instant::now(), process_cpu_ns()),
        }
    }

    /// The figures now; CPU utilization over the time since the previous call (or since [`Reader::new`]).
    pub(crate) fn sample(&mut self) -> ProcessSample {
        let (now, cpu) = (Instant::now(), process_cpu_ns());
        let wall = now.duration_since(self.last.0).as_nanos() as f64;
        let used = cpu.saturating_sub(self.last.1) as f64;
        self.last = (now, cpu);
        let cpu_utilization = if wall > 0.0 {
            (used / wall / self.cores).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let mut sample = ProcessSample {
            cpu_utilization,
            ..ProcessSample::default()
        };
        let Some(pid) = self.pid else { return sample };
        let kind = ProcessRefreshKind::nothing().with_memory().with_tasks();
        self.system
            .refresh_processes_specifics(ProcessesToUpdate::Some(&[pid]), true, kind);
        if let Some(p) = self.system.process(pid) {
            sample.memory_rss = p.memory();
            sample.thread_count = p.tasks().map_or(0, |t| t.len() as u64);
            sample.open_file_descriptors = p.open_files().unwrap_or(0) as u64;
        }
        sample
    }
}

/// The CPU time the whole process has used, in nanoseconds.
fn process_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    if unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) } != 0 {
        return 0;
    }
    u64::try_from(ts.tv_sec)
        .unwrap_or(0)
        .saturating_mul(1_000_000_000)
        .saturating_add(u64::try_from(ts.tv_nsec).unwrap_or(0))
}

/// Publishes `sample` and writes it to the sinks as an instant event and a log record.
pub(crate) fn emit(sample: ProcessSample, out: &Outputs) {
    out.counters.figures.process.publish(sample);
    let fields: Fields = [
        ("process.memory.rss", FieldValue::U64(sample.memory_rss)),
        ("process.cpu.utilization", FieldValue::F64(sample.cpu_utilization)),
        ("process.thread.count", FieldValue::U64(sample.thread_count)),
        (
            "process.open_file_descriptor.count",
            FieldValue::U64(sample.open_file_descriptors),
        ),
    ]
    .into_iter()
    .collect();
    let meta = &PROCESS_METRICS_EVENT;
    if out.sinks.takes(Takes::INSTANTS) {
        out.sinks
            .send_instant(Record::instant(meta, fields.clone()), &out.counters);
    }
    if out.sinks.takes(Takes::LOGS) {
        out.sinks
            .send_log(LogRecord::now(meta, fields, None), &out.counters);
    }
    (out.on_sample)();
}

static PROCESS_METRICS_CALLSITE: tracing_core::callsite::DefaultCallsite =
    tracing_core::callsite::DefaultCallsite::new(&PROCESS_METRICS_EVENT);

/// The callsite of the `process.metrics` event: never registered with a dispatcher (no span or event is made
/// from it); it only names the records sent to the sinks.
static PROCESS_METRICS_EVENT: tracing_core::Metadata<'static> = tracing_core::metadata! {
    name: "process.metrics",
    target: "livetel::profiling",
    level: tracing_core::Level::INFO,
    fields: &[
        "process.memory.rss",
        "process.cpu.utilization",
        "process.thread.count",
        "process.open_file_descriptor.count",
    ],
    callsite: &PROCESS_METRICS_CALLSITE,
    kind: tracing_core::Kind::EVENT,
};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::Sink;
    use crate::sinks::memory::MemorySink;

    #[test]
    fn a_sample_reads_this_process() {
        let mut r = Reader::new();
        let s = r.sample();
        assert!(
            s.memory_rss > 0 && s.thread_count >= 1 && s.open_file_descriptors >= 1,
            "{s:?}"
        );
        assert!((0.0..=1.0).contains(&s.cpu_utilization), "{s:?}");
    }

    #[test]
    fn each_sample_is_one_instant_one_log_and_one_published_figure() {
        let sink = Arc::new(MemorySink::logging());
        let out = Outputs {
            sinks: SinkSet::new([Arc::clone(&sink) as Arc<dyn Sink>]),
            counters: Arc::new(Counters::default()),
            on_sample: Arc::new(|| {}),
        };
        let mut r = Reader::new();
        for _ in 0..3 {
            emit(r.sample(), &out);
        }
        assert_eq!(out.counters.figures.process.taken(), 3);
        let logs = sink.logs.lock().unwrap().len();
        assert_eq!(logs, 3);
        assert_eq!(out.counters.log_snapshot().made, 3);
    }
}
