//! The infallible half of a reload: an [`Activation`] holds one optional new part per signal, and
//! [`Activation::commit`] makes the next generation of them, one function per signal, as Apollo Router's
//! telemetry activation does (`reload_tracing`, `reload_metrics`, `reload_logging`).
//!
//! A signal whose slice of the config did not change has `None` here: its running part (the same sinks, the
//! same console, the same hook) is carried over into the next generation untouched. The next generation is made
//! current in one swap ([`super::retire::Retirer::hand_over`]), so every span sees all signals of one config.

use std::sync::Arc;

use crate::config::TelemetryConfig;
use crate::console::ConsoleSpec;
use crate::traces::generation::{Directives, Generation, Traces};
use crate::traces::hooks::{Hooks, SpanHook};
use crate::vault::SecretHeaders;

/// Everything a reload changes, built and ready. Committing it cannot fail.
pub(crate) struct Activation {
    pub(crate) config: Arc<TelemetryConfig>,
    /// The vault's headers the config was built with.
    pub(crate) headers: Option<SecretHeaders>,
    /// The id of the generation it makes.
    pub(crate) id: u64,
    /// The traces signal's new part: filter, sampler, sinks (running ones reused where they can be).
    pub(crate) traces: Option<Traces>,
    /// The console's new spec; `Some(None)` turns the console off.
    pub(crate) console: Option<Option<Arc<ConsoleSpec>>>,
    /// The logs' new filter; `Some(None)` stops events becoming log records.
    pub(crate) logs: Option<Option<Directives>>,
    /// The other signals whose slice changed, each with its new part (`None`: off).
    pub(crate) signals: Vec<(&'static str, Option<Arc<dyn SpanHook>>)>,
}

/// A committed activation: the generation to hand over, and what it was built from.
pub(crate) struct Committed {
    pub(crate) generation: Arc<Generation>,
    pub(crate) config: Arc<TelemetryConfig>,
    pub(crate) headers: Option<SecretHeaders>,
}

impl Activation {
    /// The next generation: `running`'s parts, each replaced by this activation's where it has one.
    pub(crate) fn commit(self, running: &Generation) -> Committed {
        let traces = reload_traces(running, self.traces);
        let console = reload_console(running, self.console);
        let logs = reload_logs(running, self.logs);
        let hooks = reload_signals(running, self.signals);
        let counters = Arc::clone(&running.counters);
        let generation = Generation::assemble(self.id, traces, console, logs, hooks, counters);
        Committed {
            generation: Arc::new(generation),
            config: self.config,
            headers: self.headers,
        }
    }
}

fn reload_traces(running: &Generation, next: Option<Traces>) -> Traces {
    next.unwrap_or_else(|| running.traces())
}

fn reload_console(running: &Generation, next: Option<Option<Arc<ConsoleSpec>>>) -> Option<Arc<ConsoleSpec>> {
    next.unwrap_or_else(|| running.console.clone())
}

fn reload_logs(running: &Generation, next: Option<Option<Directives>>) -> Option<Directives> {
    next.unwrap_or_else(|| running.logs_filter.clone())
}

/// The running hooks, with each changed signal's replaced, added or removed; in the order signals first
/// turned on.
fn reload_signals(running: &Generation, changed: Vec<(&'static str, Option<Arc<dyn SpanHook>>)>) -> Hooks {
    let mut hooks = running.hooks.clone();
    for (name, next) in changed {
        let slot = hooks.iter().position(|(n, _)| *n == name);
        match (slot, next) {
            (Some(i), Some(hook)) => hooks[i].1 = hook,
            (Some(i), None) => drop(hooks.remove(i)),
            (None, Some(hook)) => hooks.push((name, hook)),
            (None, None) => {}
        }
    }
    hooks
}
