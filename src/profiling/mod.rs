//! Profiling signals. (Placeholder until the `profiling` branch's module lands; only the Pyroscope sampler
//! lives here on this branch.)

#[cfg(feature = "profiling-pyroscope")]
pub mod pyroscope;
