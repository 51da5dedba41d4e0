//! A toy signal, plugged in through the seams every new signal uses, and nothing else: its own slice of the
//! config (`[telemetry.resource] "toy.label"`), its own entry in the activation (a [`Signal`] the reload path
//! asks only when that slice changes), its own sink capability ([`TOY`]: it is on only while a sink takes it),
//! and its own hook on the hot path ([`SpanHook`]). It flips live beside traces and logs through the real
//! reload path (`Control::reload`); this file is the whole of it: no line of traces, console or logs knows it.

use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::mpsc;
use tracing_subscriber::Registry;
use tracing_subscriber::layer::SubscriberExt;

use super::command::{ReloadOutcome, Source};
use super::control::{Control, Parts};
use super::signal::{Signal, SignalError, SignalInput};
use crate::config::{Backend, EnvOverrides};
use crate::counters::Counters;
use crate::sinks::memory::MemorySink;
use crate::sinks::{BuildError, Sink, SinkContext, SinkInput, SinkKind, Takes};
use crate::status::Trigger;
use crate::traces::hooks::{ClosedSpan, SpanHook};
use crate::traces::{Placement, Recorder};

/// The toy's capability: a sink that takes it lets the toy run.
const TOY: Takes = Takes::bit(16);

/// What the toy's hooks saw: the label each was built with, the span that closed, and whether it ended in error.
type Seen = Arc<Mutex<Vec<(String, &'static str, bool)>>>;

/// The signal: its slice of the config, and how to build its hook.
struct Toy {
    seen: Seen,
}

impl Signal for Toy {
    fn name(&self) -> &'static str {
        "toy"
    }

    fn reads(&self) -> &'static [&'static str] {
        &["resource.toy.label", "backend", "enabled"]
    }

    fn prepare(&self, input: &SignalInput<'_>) -> Result<Option<Arc<dyn SpanHook>>, SignalError> {
        let Some(label) = input.config.resource.get("toy.label") else {
            return Ok(None);
        };
        if label.is_empty() {
            let message = "the toy needs a label".to_owned();
            return Err(SignalError {
                key: "resource.toy.label".to_owned(),
                message,
            });
        }
        let on = input.sinks.takes(TOY);
        Ok(on.then(|| {
            Arc::new(ToyHook {
                label: label.clone(),
                seen: Arc::clone(&self.seen),
            }) as Arc<dyn SpanHook>
        }))
    }
}

/// The toy's running part: it notes every span that closes, with its label.
struct ToyHook {
    label: String,
    seen: Seen,
}

impl SpanHook for ToyHook {
    fn on_close(&self, span: &ClosedSpan<'_>) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push((self.label.clone(), span.meta.name(), span.error));
        }
    }
}

/// `backend = "local"`, served by one memory sink that takes spans, logs and the toy's items.
struct ToyBackend;

fn the_sink() -> &'static Arc<MemorySink> {
    static SINK: OnceLock<Arc<MemorySink>> = OnceLock::new();
    SINK.get_or_init(|| Arc::new(MemorySink::taking(Takes::SPANS.and(Takes::LOGS).and(TOY))))
}

impl SinkKind for ToyBackend {
    fn backend(&self) -> Backend {
        Backend::Local
    }

    fn reads(&self) -> &'static [&'static str] {
        &["local"]
    }

    fn build(&self, _: &SinkInput<'_>, _: &SinkContext) -> Result<Arc<dyn Sink>, BuildError> {
        Ok(Arc::clone(the_sink()) as Arc<dyn Sink>)
    }
}

const CONFIG: &str = "[telemetry]\nbackend = \"local\"\nfilter = \"trace\"\n";

fn control(path: &std::path::Path, seen: &Seen) -> Control {
    let (commands, _) = mpsc::unbounded_channel();
    let (raw_events, _) = mpsc::unbounded_channel();
    Control::new(Parts {
        config_path: path.to_owned(),
        session_id: "toy".to_owned(),
        env: EnvOverrides::default(),
        counters: Arc::new(Counters::default()),
        commands,
        raw_events,
        placement: Placement::Alone,
        console_on_by_default: false,
        signals: vec![Arc::new(Toy {
            seen: Arc::clone(seen),
        })],
        sink_registry: &[&ToyBackend],
        admin_listen: None,
        secret_source: crate::vault::CustomSource::default(),
    })
}

fn reload_to(control: &mut Control, path: &std::path::Path, text: &str) {
    std::fs::write(path, text).unwrap();
    let outcome = control.reload(Trigger::Manual, Source::File);
    assert!(matches!(outcome, ReloadOutcome::Applied { .. }), "{outcome:?}");
}

#[test]
fn a_toy_signal_flips_live_beside_traces_and_logs_through_its_own_seams() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    std::fs::write(
        &path,
        format!("{CONFIG}[telemetry.resource]\n\"toy.label\" = \"a\"\n"),
    )
    .unwrap();
    let seen = Seen::default();
    let mut control = control(&path, &seen);
    control.start().unwrap();
    let live = control.live();
    let dispatch =
        tracing::Dispatch::new(Registry::default().with(Recorder::new(Arc::clone(&live), Placement::Alone)));
    let traffic = |name: &'static str| {
        tracing::dispatcher::with_default(&dispatch, || match name {
            "one" => tracing::info_span!("one").in_scope(|| tracing::info!("in one")),
            "two" => tracing::info_span!("two").in_scope(|| tracing::error!("in two")),
            _ => tracing::info_span!("three").in_scope(|| tracing::info!("in three")),
        })
    };
    traffic("one");
    let logs_before = live.current().logs_filter.clone().map(|d| d.text);

    // Its slice changes: a new hook; the logs' part, whose slice did not change, is carried over untouched.
    reload_to(
        &mut control,
        &path,
        &format!("{CONFIG}[telemetry.resource]\n\"toy.label\" = \"b\"\n"),
    );
    let logs_after = live.current().logs_filter.clone().map(|d| d.text);
    assert!(matches!((&logs_before, &logs_after), (Some(a), Some(b)) if Arc::ptr_eq(a, b)));
    traffic("two");

    // A bad slice is rejected at its key; the running toy keeps running.
    std::fs::write(
        &path,
        format!("{CONFIG}[telemetry.resource]\n\"toy.label\" = \"\"\n"),
    )
    .unwrap();
    let rejected = control.reload(Trigger::Manual, Source::File);
    assert!(
        matches!(&rejected, ReloadOutcome::Rejected { error } if error.to_string().contains("toy.label")),
        "{rejected:?}"
    );
    assert_eq!(live.current().hooks.len(), 1);

    // Off: no hook, while traces and logs go on.
    reload_to(&mut control, &path, CONFIG);
    assert!(live.current().hooks.is_empty());
    traffic("three");

    let seen = seen.lock().unwrap().clone();
    let seen: Vec<(&str, &str, bool)> = seen.iter().map(|(l, n, e)| (l.as_str(), *n, *e)).collect();
    assert_eq!(seen, [("a", "one", false), ("b", "two", true)]);
    assert_eq!(the_sink().span_names(), ["one", "two", "three"]);
    assert_eq!(the_sink().logs.lock().unwrap().len(), 3);
}
