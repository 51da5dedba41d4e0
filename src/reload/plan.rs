//! The fallible half of a reload: build everything the new config needs, touching nothing that runs.
//!
//! Each signal compares its slice of the config through the reload's [`ConfigDiff`] and builds a new part only
//! when its slice changed (always at start-up); the parts make one [`Activation`], which
//! [`Activation::commit`] turns into the next generation without any way to fail. The order is fixed: traces
//! first (its sinks decide whether events can become log records), then the console, the logs, and the other
//! signals ([`super::signal`]). A running sink whose keys the diff leaves alone ([`crate::sinks::SinkKind::reads`])
//! is reused, so a new sample rate or filter keeps the same file and the same connection.

use std::path::PathBuf;
use std::sync::Arc;

use super::activation::Activation;
use super::signal::{Signal, SignalInput};
use crate::config::{ConfigDiff, TelemetryConfig, validate};
use crate::console::ConsoleSpec;
use crate::error::{ConfigError, ConfigErrorKind};
use crate::sinks::{Sink, SinkContext, SinkInput, SinkSet, Takes};
use crate::traces::codec::Propagators;
use crate::traces::generation::{Directives, Generation, Traces};
use crate::traces::sampler::{Sampler, TailPolicy};
use crate::vault::SecretHeaders;

/// What a prepare step needs besides the config; one per `Telemetry`.
pub(crate) struct BuildContext {
    pub(crate) config_path: PathBuf,
    pub(crate) session_id: String,
    pub(crate) sinks: SinkContext,
    /// The console's default when `[telemetry.console] enabled` is unset: on with `init`.
    pub(crate) console_on_by_default: bool,
    /// The signals besides traces, console and logs ([`super::signal::builtin`]).
    pub(crate) signals: Vec<Arc<dyn Signal>>,
}

/// The keys the reload loop itself and its inputs (the admin endpoint) read: no signal's part depends on them.
const RELOAD_KEYS: &[&str] = &["reload_debounce_ms", "drain_timeout_ms", "watch", "admin"];
/// The keys the console reads.
const CONSOLE_KEYS: &[&str] = &["console"];
/// The keys the logs read: their table, the console's filter (their default), and what decides whether a sink
/// takes log records.
const LOGS_KEYS: &[&str] = &["logs", "console.filter", "enabled", "backend"];

/// What a reload is prepared against: the running generation, and what changed since its config.
pub(crate) struct Running<'a> {
    pub(crate) generation: &'a Generation,
    pub(crate) diff: &'a ConfigDiff,
}

impl Running<'_> {
    /// True when the diff touches one of `keys`.
    fn touches(&self, keys: &[&str]) -> bool {
        self.diff.touches_any(keys)
    }

    /// True when the traces signal's slice changed: any key that the reload loop, the console, the logs' own
    /// table or another signal's own table does not hold. Counted this way, a key added to the config later
    /// rebuilds traces until someone says otherwise.
    fn traces_changed(&self, signals: &[Arc<dyn Signal>]) -> bool {
        self.diff.changed().iter().any(|key| {
            let top = key.split('.').next().unwrap_or(key);
            let elsewhere = RELOAD_KEYS.contains(&top)
                || CONSOLE_KEYS.contains(&top)
                || top == "logs"
                || signals.iter().any(|s| s.name() == top);
            !elsewhere
        })
    }
}

/// Builds the activation for `next`: a new part for each signal whose slice changed since `running` (every
/// part at start-up, when `running` is `None`).
///
/// # Errors
/// A filter that does not parse, or a sink or signal that cannot be built, with the key concerned (no position:
/// the caller places it in the file).
pub(crate) fn prepare(
    cx: &BuildContext,
    running: Option<Running<'_>>,
    next: TelemetryConfig,
    headers: Option<SecretHeaders>,
    id: u64,
) -> Result<Activation, ConfigError> {
    let old = running.as_ref().map(|r| r.generation);
    let changed = |keys: &[&str]| running.as_ref().is_none_or(|r| r.touches(keys));
    let traces = match &running {
        Some(r) if !r.traces_changed(&cx.signals) => None,
        _ => Some(build_traces(cx, running.as_ref(), &next, headers.as_ref())?),
    };
    let empty = SinkSet::default();
    let sinks = match (&traces, old) {
        (Some(t), _) => &t.sinks,
        (None, Some(g)) => &g.sinks,
        (None, None) => &empty,
    };
    let console = match changed(CONSOLE_KEYS) {
        true => Some(build_console(cx, old, &next)?),
        false => None,
    };
    let logs = match changed(LOGS_KEYS) {
        true => Some(build_logs(cx, &next, sinks)?),
        false => None,
    };
    let mut signals = Vec::new();
    for signal in cx.signals.iter().filter(|s| changed(s.reads())) {
        let part = build_signal(cx, &**signal, old, &next, sinks)?;
        signals.push((signal.name(), part));
    }
    Ok(Activation {
        config: Arc::new(next),
        headers,
        id,
        traces,
        console,
        logs,
        signals,
    })
}

/// The traces signal's part: its sinks (running ones reused), filter, sampler and tail policy.
fn build_traces(
    cx: &BuildContext,
    running: Option<&Running<'_>>,
    next: &TelemetryConfig,
    headers: Option<&SecretHeaders>,
) -> Result<Traces, ConfigError> {
    let input = SinkInput {
        config: next,
        headers,
        session_id: &cx.session_id,
    };
    let sinks = build_sinks(cx, running, &input)?;
    // Parsed whenever telemetry is on: at backend `none` it is what other signals (metrics) see of spans.
    let directives = match next.enabled {
        true => Some(validate::parse_filter(&next.filter).map_err(|e| {
            let message = format!("invalid filter: {e}");
            error(cx, "filter", ConfigErrorKind::InvalidValue { message })
        })?),
        false => None,
    }
    .map(|f| Directives::new(&next.filter, f));
    let (filter, unrecorded) = match sinks.records() {
        true => (directives, None),
        false => (None, directives),
    };
    Ok(Traces {
        // In EnvFilter's syntax every span directive is bracketed (`[span{field=value}]=level`).
        filter_tracks_spans: filter.is_some() && next.filter.contains('['),
        filter,
        unrecorded,
        sampler: Sampler::of(next.sampling.strategy, next.sample_rate),
        tail: TailPolicy::of(&next.sampling),
        sinks,
        include_args: next.include_args,
        propagators: Propagators::of(&next.propagators),
    })
}

/// The console's part: its spec (the running one when its config is the same), or `None` when it is off.
fn build_console(
    cx: &BuildContext,
    running: Option<&Generation>,
    next: &TelemetryConfig,
) -> Result<Option<Arc<ConsoleSpec>>, ConfigError> {
    ConsoleSpec::build(
        &next.console,
        cx.console_on_by_default,
        running.and_then(|g| g.console.as_ref()),
        &cx.sinks.on_change,
        &cx.sinks.counters,
    )
    .map_err(|(key, message)| error(cx, key, ConfigErrorKind::Build { message }))
}

/// The logs' part: which events become log records, when logs are on and a sink of `sinks` takes them.
fn build_logs(
    cx: &BuildContext,
    next: &TelemetryConfig,
    sinks: &SinkSet,
) -> Result<Option<Directives>, ConfigError> {
    if !(next.enabled && next.logs.enabled && sinks.takes(Takes::LOGS)) {
        return Ok(None);
    }
    let directives = next.logs_filter();
    let filter = validate::event_filter(directives).map_err(|message| {
        let key = match next.logs.filter {
            Some(_) => "logs.filter",
            None => "console.filter",
        };
        error(cx, key, ConfigErrorKind::InvalidValue { message })
    })?;
    Ok(Some(Directives::new(directives, filter)))
}

/// Another signal's part, built by the signal itself.
fn build_signal(
    cx: &BuildContext,
    signal: &dyn Signal,
    running: Option<&Generation>,
    next: &TelemetryConfig,
    sinks: &SinkSet,
) -> Result<Option<Arc<dyn crate::traces::hooks::SpanHook>>, ConfigError> {
    let running = running.and_then(|g| g.hooks.iter().find(|(n, _)| *n == signal.name()));
    let input = SignalInput {
        config: next,
        sinks,
        running: running.map(|(_, hook)| hook),
        on_change: &cx.sinks.on_change,
    };
    signal.prepare(&input).map_err(|e| {
        let kind = ConfigErrorKind::Build { message: e.message };
        error(cx, &e.key, kind)
    })
}

/// One sink per backend the config names: the running one while the diff leaves its kind's keys alone, else a
/// new one.
fn build_sinks(
    cx: &BuildContext,
    running: Option<&Running<'_>>,
    input: &SinkInput<'_>,
) -> Result<SinkSet, ConfigError> {
    let mut built: Vec<Arc<dyn Sink>> = Vec::new();
    for kind in cx.sinks.kinds_for(input.config) {
        let reused = running
            .filter(|r| !r.touches(kind.reads()))
            .and_then(|r| r.generation.sinks.iter().find(|s| s.backend() == kind.backend()));
        let sink = match reused {
            Some(s) => Arc::clone(s),
            None => kind.build(input, &cx.sinks).map_err(|e| {
                let kind = ConfigErrorKind::Build { message: e.message };
                error(cx, e.key, kind)
            })?,
        };
        built.push(sink);
    }
    Ok(SinkSet::new(built))
}

/// An error about `key` (relative to `[telemetry]`), to be placed in the file by the caller.
fn error(cx: &BuildContext, key: &str, kind: ConfigErrorKind) -> ConfigError {
    ConfigError {
        path: cx.config_path.clone(),
        position: None,
        key: Some(format!("telemetry.{key}")),
        kind,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Backend;
    use crate::counters::Counters;
    use crate::sinks::memory::MemorySink;

    fn context() -> BuildContext {
        BuildContext {
            config_path: PathBuf::from("t.toml"),
            session_id: "s".to_owned(),
            sinks: SinkContext::new(
                Arc::new(Counters::default()),
                Arc::new(|| {}),
                crate::sinks::REGISTRY,
            ),
            console_on_by_default: false,
            signals: Vec::new(),
        }
    }

    /// The sinks built for an OTLP config after `running`'s, by a reload whose diff is `diff`.
    fn rebuilt(running: &Arc<MemorySink>, diff: &ConfigDiff) -> SinkSet {
        let config = TelemetryConfig {
            backend: Backend::Otlp.into(),
            ..TelemetryConfig::default()
        };
        let input = SinkInput {
            config: &config,
            headers: None,
            session_id: "s",
        };
        let traces = Traces {
            sinks: SinkSet::new([Arc::clone(running) as Arc<dyn Sink>]),
            ..Traces::off()
        };
        let counters = Arc::new(Counters::default());
        let generation = Generation::assemble(1, traces, None, None, Default::default(), counters);
        let running = Running {
            generation: &generation,
            diff,
        };
        build_sinks(&context(), Some(&running), &input).unwrap()
    }

    #[test]
    fn a_running_sink_is_reused_unless_the_diff_touches_its_keys() {
        let old = TelemetryConfig {
            backend: Backend::Otlp.into(),
            ..TelemetryConfig::default()
        };
        let rate = TelemetryConfig {
            sample_rate: 0.5,
            ..old.clone()
        };
        let running = Arc::new(MemorySink::named(Backend::Otlp));
        let set = rebuilt(&running, &ConfigDiff::between(Some(&old), &rate));
        assert!(set.contains(&(Arc::clone(&running) as Arc<dyn Sink>)));

        let mut endpoint = old.clone();
        endpoint.otlp.endpoint = Some("http://127.0.0.1:1".to_owned());
        let set = rebuilt(&running, &ConfigDiff::between(Some(&old), &endpoint));
        assert!(!set.contains(&(Arc::clone(&running) as Arc<dyn Sink>)));
        let backends: Vec<_> = set.iter().map(|s| s.backend()).collect();
        assert_eq!(backends, [Backend::Otlp], "a new OTLP sink was built instead");

        let rotated = ConfigDiff::between(Some(&old), &old).with_headers_changed(true);
        assert!(!rebuilt(&running, &rotated).contains(&(Arc::clone(&running) as Arc<dyn Sink>)));
    }
}
