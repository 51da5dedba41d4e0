//! Profiling (issue 23): what each span costs — allocations and CPU time while it is entered — summed per
//! agent and session, the process's own figures every few seconds, instrumented channels, and CPU profiles with
//! span labels pushed to Pyroscope ([`pyroscope`], feature `profiling-pyroscope`).
//!
//! One signal (`signal::ProfilingSignal`) with its own slice of the config, `[telemetry.profiling]`; every key
//! is live. The reload path builds its running part, a `hook::ProfilingHook`, when that slice changes, and the
//! generation holds it like any other signal's hook (`crate::traces::hooks`).
//!
//! Without the cargo feature `profiling` none of this module is compiled (`tests/feature-off` proves it on a
//! built binary); `InstrumentedChannel` (`livetel::channel`) is then a plain tokio channel.
//!
//! # Submodules
//! `signal`: the reload half (what it reads, how its hook is built, its status). `hook`: the hot-path half
//! (span enter/exit meters, fields added at close, attribution).
//! `cpu`: thread CPU time. `system`: the process sampler thread. `alloc` (feature `profiling-alloc`): the
//! counting allocator. The figures summed per agent and session live in `crate::figures`, where status and
//! `/metrics` read them.

#[cfg(feature = "profiling-alloc")]
pub(crate) mod alloc;
pub(crate) mod cpu;
pub(crate) mod hook;
#[cfg(feature = "profiling-pyroscope")]
pub mod pyroscope;
pub(crate) mod signal;
pub(crate) mod system;

#[cfg(feature = "profiling-alloc")]
pub use alloc::{CountingAllocator, allocator_installed, counting_now};
pub(crate) use signal::ProfilingSignal;
