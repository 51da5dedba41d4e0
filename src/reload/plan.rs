//! The fallible half of a reload: build everything the new config needs, touching nothing that runs.
//!
//! Each provider (today: traces) compares its slice of the old and new config and returns a new value or
//! `None`; the result is one [`Activation`], which [`super::control::Control::activate`] commits without any
//! way to fail. A sink that can serve the new config as it is ([`crate::sinks::Sink::reusable_for`]) is
//! reused, so a new sample rate or filter keeps the same file and the same connection.

use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{TelemetryConfig, validate};
use crate::console::ConsoleSpec;
use crate::error::{ConfigError, ConfigErrorKind};
use crate::sinks::{self, Sink, SinkContext, SinkInput, SinkSet};
use crate::traces::codec::Propagators;
use crate::traces::generation::Generation;
use crate::traces::sampler::Sampler;
use crate::traces::tail::TailPolicy;
use crate::vault::SecretHeaders;

/// What a prepare step needs besides the config; one per `Telemetry`.
pub(crate) struct BuildContext {
    pub(crate) config_path: PathBuf,
    pub(crate) session_id: String,
    pub(crate) sinks: SinkContext,
    /// The console's default when `[telemetry.console] enabled` is unset: on with `init`.
    pub(crate) console_on_by_default: bool,
}

/// Everything a reload changes, built and ready: one optional new value per provider. Committing it cannot
/// fail. A signal added later (console, logs, metrics) adds its field here and its slice comparison in
/// [`prepare`].
pub(crate) struct Activation {
    pub(crate) config: Arc<TelemetryConfig>,
    /// The vault's headers the config was built with.
    pub(crate) headers: Option<SecretHeaders>,
    /// The traces provider: a new generation (sinks reused where they can be), or `None` to keep the running
    /// one. Every applied config gets a new generation today: its id is what status counts.
    pub(crate) traces: Option<Arc<Generation>>,
}

/// Builds the activation for `next` against the running generation (`None` at start-up).
///
/// # Errors
/// A filter that does not parse, or a sink that cannot be built, with the key concerned (no position: the
/// caller places it in the file).
pub(crate) fn prepare(
    cx: &BuildContext,
    running: Option<&Generation>,
    next: TelemetryConfig,
    headers: Option<SecretHeaders>,
    id: u64,
) -> Result<Activation, ConfigError> {
    let generation = build_generation(cx, running, &next, headers.as_ref(), id)?;
    Ok(Activation {
        config: Arc::new(next),
        headers,
        traces: Some(Arc::new(generation)),
    })
}

fn build_generation(
    cx: &BuildContext,
    running: Option<&Generation>,
    next: &TelemetryConfig,
    headers: Option<&SecretHeaders>,
    id: u64,
) -> Result<Generation, ConfigError> {
    let input = SinkInput {
        config: next,
        headers,
        session_id: &cx.session_id,
    };
    let sinks = build_sinks(cx, running.map(|g| &g.sinks), &input)?;
    let filter = if sinks.records() {
        let parsed = validate::parse_filter(&next.filter).map_err(|e| {
            let message = format!("invalid filter: {e}");
            error(cx, "filter", ConfigErrorKind::InvalidValue { message })
        })?;
        Some(parsed)
    } else {
        None
    };
    let console = ConsoleSpec::build(
        &next.console,
        cx.console_on_by_default,
        running.and_then(|g| g.console.as_ref()),
        &cx.sinks.on_change,
    )
    .map_err(|(key, message)| error(cx, key, ConfigErrorKind::Build { message }))?;
    let logs_directives =
        (next.enabled && next.logs.enabled && sinks.takes_logs()).then(|| next.logs_filter());
    let logs_filter = match logs_directives {
        Some(d) => Some(validate::event_filter(d).map_err(|message| {
            let key = if next.logs.filter.is_some() {
                "logs.filter"
            } else {
                "console.filter"
            };
            error(cx, key, ConfigErrorKind::InvalidValue { message })
        })?),
        None => None,
    };
    let traces_directives = filter.is_some().then_some(next.filter.as_str());
    let console_directives = console.as_ref().map(|c| c.config.filter.as_str());
    let filters_differ = console_directives
        .into_iter()
        .chain(logs_directives)
        .any(|d| Some(d) != traces_directives);
    let console_sees_all = console_directives.is_some_and(|c| {
        traces_directives
            .into_iter()
            .chain(logs_directives)
            .all(|d| d == c)
    });
    Ok(Generation {
        id,
        // In EnvFilter's syntax every span directive is bracketed (`[span{field=value}]=level`).
        filter_tracks_spans: filter.is_some() && next.filter.contains('['),
        filter,
        console,
        logs_filter,
        filters_differ,
        console_sees_all,
        sampler: Sampler::of(next.sampling.strategy, next.sample_rate),
        tail: TailPolicy::of(&next.sampling),
        sinks,
        include_args: next.include_args,
        propagators: Propagators::of(&next.propagators),
        counters: Arc::clone(&cx.sinks.counters),
    })
}

/// One sink per backend the config names: the running one where it can serve the new config, else a new one.
fn build_sinks(
    cx: &BuildContext,
    old: Option<&SinkSet>,
    input: &SinkInput<'_>,
) -> Result<SinkSet, ConfigError> {
    let mut built: Vec<Arc<dyn Sink>> = Vec::new();
    for kind in sinks::kinds_for(input.config) {
        let reused = old
            .into_iter()
            .flat_map(SinkSet::iter)
            .find(|s| s.name() == kind.name() && s.reusable_for(input));
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
            sinks: SinkContext::new(Arc::new(Counters::default()), Arc::new(|| {})),
            console_on_by_default: false,
        }
    }

    /// The reload path asks each running sink, through the trait, whether it can serve the new config.
    fn rebuilt(running: &Arc<MemorySink>) -> SinkSet {
        let config = TelemetryConfig {
            backend: Backend::Otlp.into(),
            ..TelemetryConfig::default()
        };
        let input = SinkInput {
            config: &config,
            headers: None,
            session_id: "s",
        };
        let old = SinkSet::new([Arc::clone(running) as Arc<dyn Sink>]);
        build_sinks(&context(), Some(&old), &input).unwrap()
    }

    #[test]
    fn a_running_sink_is_reused_when_it_says_so_and_replaced_when_not() {
        let keeps = Arc::new(MemorySink::named("otlp", true));
        let set = rebuilt(&keeps);
        assert!(set.contains(&(Arc::clone(&keeps) as Arc<dyn Sink>)));

        let declines = Arc::new(MemorySink::named("otlp", false));
        let set = rebuilt(&declines);
        assert!(!set.contains(&(Arc::clone(&declines) as Arc<dyn Sink>)));
        let names: Vec<_> = set.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["otlp"], "a new OTLP sink was built instead");
    }
}
