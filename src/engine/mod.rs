//! Live reload: how a config change becomes the running telemetry.
//!
//! # Lifecycle
//! 1. **Enter** — the file watcher ([`watcher`], debounced), SIGHUP ([`signal`]), a [`ReloadTrigger`] or a
//!    [`Handle`] (a config held in memory) sends a command to the control loop ([`control`]), which runs on
//!    livetel's own thread, never on one that traces.
//! 2. **Validate** — the file (or the handle's config) is read, parsed and checked ([`crate::config`]);
//!    `OTEL_*` overrides apply; the OTLP secret is resolved from the vault ([`secrets`]). If the effective config
//!    and secret equal the running ones, the outcome is `Unchanged`.
//! 3. **Prepare** (fallible, [`prepare`]) — the new generation is built: filter, sampler, and a sink, reused when
//!    its settings did not change. A failure here changes nothing and is reported with file (or `<handle>`), line
//!    and column where there is one.
//! 4. **Activate** (infallible, [`control::Control::activate`]) — the running generation is published as
//!    draining, then one `ArcSwap` store in [`live`] makes the new one current ([`retire::Retirer::hand_over`]:
//!    in that order, a child of an open span always finds its parent's generation); the hot path sees the new
//!    generation on its next span.
//! 5. **Retire** ([`retire`]) — the old generation drains: its open spans and their children finish in it. When
//!    no span holds it (or its drain timeout passes) it is dropped on the control thread, and a sink no newer
//!    generation shares is flushed and closed there.
//!
//! Every step ends by publishing [`crate::TelemetryStatus`] ([`view`]).
//!
//! **Settling callsites.** tracing-core asks for a callsite's interest at its first use (or in another
//! subscriber's rebuild) and stores the answer afterwards, so a reload's rebuild in between would be
//! overwritten. Outside livetel's own rebuild the answer is therefore `sometimes` (right whatever happens), and
//! the control loop rebuilds 20 ms later to cache the exact interest again ([`live::Live::answers_exactly`],
//! `Command::Settle`).
//!
//! Which code may block: [`control`], [`prepare`], [`retire`] (file I/O, joining writer threads), all on the
//! control thread. [`live`] is what the hot path reads, with no lock.

pub(crate) mod command;
pub(crate) mod control;
pub(crate) mod inputs;
pub(crate) mod plan;
pub(crate) mod report;
pub(crate) mod retire;
pub(crate) mod secrets;

pub use command::ReloadOutcome;
pub use inputs::{Handle, ReloadTrigger};
