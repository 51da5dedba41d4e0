//! The per-thread label slot: written on span enter/exit by the thread itself, read by the SIGPROF handler when
//! it interrupts that same thread.
//!
//! The slot is a `const`-initialized thread-local of plain atomics with no destructor: touching it never
//! allocates, never registers a destructor and never takes a lock, so the signal handler may read it. The
//! handler runs on the thread it interrupts, so writer and reader never race across cores; what the handler
//! can see is a write half done. A sequence number guards against that: the writer makes it odd before it
//! writes and even after, and a handler that finds it odd records the sample without labels (counted as
//! `torn` in [`super::Stats`]).
//!
//! A span name is a `&'static str` (tracing's callsite names are), so the slot holds its pointer and length:
//! no interning table, no allocation on the span path.
//!
//! # Examples
//!
//! ```
//! use livetel::profiling::pyroscope::labels::{self, Label};
//! let previous = labels::enter(Label::new("llm.chat", 7, 9));
//! assert_eq!(labels::current().map(|l| l.name), Some("llm.chat"));
//! labels::restore(previous);
//! assert!(labels::current().is_none());
//! ```

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed, compiler_fence};

use crate::traces::hooks::LABEL_WORDS;

/// What a sample taken on a thread is labelled with: the span entered there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Label {
    /// The span's name (`span_name` label).
    pub name: &'static str,
    /// The span id (`span_id` label, 16 hex digits), 0 when unknown.
    pub span_id: u64,
    /// The trace id (`trace_id` label, 32 hex digits), 0 when unknown.
    pub trace_id: u128,
}

impl Label {
    /// The label of span `name` with its span and trace ids (0 when unknown).
    pub fn new(name: &'static str, span_id: u64, trace_id: u128) -> Label {
        Label {
            name,
            span_id,
            trace_id,
        }
    }
}

/// A label as the sampler copies it out of the slot: plain integers, no references.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub(crate) struct RawLabel {
    name_ptr: usize,
    name_len: usize,
    pub(crate) span_id: u64,
    pub(crate) trace_id: u128,
}

impl RawLabel {
    /// The span name, when a span was entered.
    pub(crate) fn name(&self) -> Option<&'static str> {
        if self.name_ptr == 0 {
            return None;
        }
        // SAFETY: `name_ptr`/`name_len` were taken from a `&'static str` by `enter` (the only writer).
        let bytes = unsafe { std::slice::from_raw_parts(self.name_ptr as *const u8, self.name_len) };
        std::str::from_utf8(bytes).ok()
    }
}

struct Slot {
    seq: AtomicU64,
    name_ptr: AtomicUsize,
    name_len: AtomicUsize,
    span_id: AtomicU64,
    trace_hi: AtomicU64,
    trace_lo: AtomicU64,
}

thread_local! {
    static SLOT: Slot = const {
        Slot {
            seq: AtomicU64::new(0),
            name_ptr: AtomicUsize::new(0),
            name_len: AtomicUsize::new(0),
            span_id: AtomicU64::new(0),
            trace_hi: AtomicU64::new(0),
            trace_lo: AtomicU64::new(0),
        }
    };
}

/// The label the thread had before an [`enter`]; give it back to [`restore`] on exit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "restore it when the span is exited"]
pub struct Previous(RawLabel);

fn write(raw: RawLabel) {
    SLOT.with(|s| {
        s.seq.fetch_add(1, Relaxed);
        compiler_fence(std::sync::atomic::Ordering::SeqCst);
        s.name_ptr.store(raw.name_ptr, Relaxed);
        s.name_len.store(raw.name_len, Relaxed);
        s.span_id.store(raw.span_id, Relaxed);
        s.trace_hi.store((raw.trace_id >> 64) as u64, Relaxed);
        s.trace_lo.store(raw.trace_id as u64, Relaxed);
        compiler_fence(std::sync::atomic::Ordering::SeqCst);
        s.seq.fetch_add(1, Relaxed);
    });
}

fn read_raw() -> Option<RawLabel> {
    SLOT.with(|s| {
        let seq = s.seq.load(Relaxed);
        compiler_fence(std::sync::atomic::Ordering::SeqCst);
        if seq % 2 == 1 {
            return None;
        }
        Some(RawLabel {
            name_ptr: s.name_ptr.load(Relaxed),
            name_len: s.name_len.load(Relaxed),
            span_id: s.span_id.load(Relaxed),
            trace_id: (u128::from(s.trace_hi.load(Relaxed)) << 64) | u128::from(s.trace_lo.load(Relaxed)),
        })
    })
}

/// Labels the calling thread's samples with `label` until [`restore`]; returns what it had before.
#[inline]
pub fn enter(label: Label) -> Previous {
    let previous = Previous(read_raw().unwrap_or_default());
    write(RawLabel {
        name_ptr: label.name.as_ptr() as usize,
        name_len: label.name.len(),
        span_id: label.span_id,
        trace_id: label.trace_id,
    });
    previous
}

/// Gives the thread back the label it had before the matching [`enter`].
#[inline]
pub fn restore(previous: Previous) {
    write(previous.0);
}

/// [`enter`], keeping the previous label in the words a span holds between its enter and exit
/// ([`LABEL_WORDS`]).
#[inline]
pub(crate) fn enter_saving(label: Label, saved: &mut [u64; LABEL_WORDS]) {
    let Previous(p) = enter(label);
    *saved = [
        p.name_ptr as u64,
        p.name_len as u64,
        p.span_id,
        (p.trace_id >> 64) as u64,
        p.trace_id as u64,
    ];
}

/// [`restore`] from the words [`enter_saving`] kept.
#[inline]
pub(crate) fn restore_saved(saved: &[u64; LABEL_WORDS]) {
    write(RawLabel {
        name_ptr: saved[0] as usize,
        name_len: saved[1] as usize,
        span_id: saved[2],
        trace_id: (u128::from(saved[3]) << 64) | u128::from(saved[4]),
    });
}

/// Clears the calling thread's label: its samples carry none.
pub fn clear() {
    write(RawLabel::default());
}

/// The calling thread's label, if a span is entered.
pub fn current() -> Option<Label> {
    let raw = read_raw()?;
    Some(Label {
        name: raw.name()?,
        span_id: raw.span_id,
        trace_id: raw.trace_id,
    })
}

/// Read by the signal handler. `Err(())` when it interrupted a write (the sample goes without labels).
///
/// Async-signal-safe: loads of a const thread-local's atomics only.
pub(crate) fn read_in_handler() -> Result<RawLabel, ()> {
    read_raw().ok_or(())
}

/// The `pyroscope.profile.id` attribute a span gets so its trace links to its profile: the span id in 16 hex
/// digits, the value its samples carry as `span_id` (the convention of otel-profiling-java and pyroscope-go's
/// otelpyroscope).
pub fn profile_id(span_id: u64) -> String {
    format!("{span_id:016x}")
}
