//! The trigger's outcome for applied / unchanged / rejected, and a bad config never taking effect.

mod common;

use common::{Fixture, wait_status};
use livetel::ReloadOutcome;
use livetel::config::Backend;

#[test]
fn applied_unchanged_rejected() {
    let f = Fixture::new("watch = false\nsample_rate = 1.0");
    let t = f.start();
    let trigger = t.reload_trigger();

    assert_eq!(
        trigger.reload_blocking(),
        ReloadOutcome::Unchanged { generation: 1 }
    );

    f.write("watch = false\nsample_rate = 0.5");
    assert_eq!(
        trigger.reload_blocking(),
        ReloadOutcome::Applied { generation: 2 }
    );
    assert_eq!(t.status().borrow().sample_rate, 0.5);

    // Other tables and comments changing is not a reload.
    std::fs::write(
        &f.config,
        format!(
            "# comment\n[server]\nport = 9\n{}",
            f.section("watch = false\nsample_rate = 0.5")
        ),
    )
    .unwrap();
    assert_eq!(
        trigger.reload_blocking(),
        ReloadOutcome::Unchanged { generation: 2 }
    );

    f.write("watch = false\nsample_rate = 7");
    let ReloadOutcome::Rejected { error } = trigger.reload_blocking() else {
        panic!("bad config applied")
    };
    let pos = error.position.expect("position");
    assert_eq!(
        (pos.line, error.key.as_deref()),
        (5, Some("telemetry.sample_rate"))
    );
    let s = t.status().borrow().clone();
    assert_eq!(s.generation, 2, "a rejected config must not create a generation");
    assert_eq!(s.sample_rate, 0.5, "the last good config keeps running");
    let last = s.last_error.as_ref().expect("status shows the error");
    assert_eq!((last.line, last.column), (Some(5), Some(15)));
    assert_eq!(last.key.as_deref(), Some("telemetry.sample_rate"));

    // Saving the same bad file again is still rejected, not "unchanged".
    assert!(matches!(
        trigger.reload_blocking(),
        ReloadOutcome::Rejected { .. }
    ));

    // Fixing the file clears the error.
    f.write("watch = false\nsample_rate = 0.5");
    assert_eq!(
        trigger.reload_blocking(),
        ReloadOutcome::Unchanged { generation: 2 }
    );
    assert!(t.status().borrow().last_error.is_none());
}

#[tokio::test]
async fn async_trigger_and_stopped() {
    let f = Fixture::new("watch = false");
    let t = f.start();
    let trigger = t.reload_trigger();
    f.write("watch = false\nfilter = \"debug\"");
    assert_eq!(trigger.reload().await, ReloadOutcome::Applied { generation: 2 });
    drop(t);
    assert_eq!(trigger.reload().await, ReloadOutcome::Stopped);
}

#[test]
fn vanished_file_keeps_last_good_and_says_so() {
    let f = Fixture::new("watch = false\nbackend = \"none\"");
    let t = f.start();
    std::fs::remove_file(&f.config).unwrap();
    let ReloadOutcome::Rejected { error } = t.reload_trigger().reload_blocking() else {
        panic!("applied a missing file")
    };
    assert!(error.is_missing());
    let s = wait_status(&t, "the missing file", |s| s.last_error.is_some());
    assert_eq!(s.backend, Backend::None);
    assert!(s.last_error.as_ref().unwrap().message.contains("missing"));
}

#[test]
fn missing_trace_dir_is_created() {
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    assert!(!f.traces.exists());
    let t = f.start();
    assert!(f.traces.is_dir());
    assert!(
        t.status()
            .borrow()
            .trace_file
            .as_ref()
            .unwrap()
            .starts_with(&f.traces)
    );
}

#[test]
fn restart_only_field_is_listed_not_ignored() {
    let f = Fixture::new("watch = false");
    let t = f.start();
    f.write("watch = true");
    let outcome = t.reload_trigger().reload_blocking();
    assert_eq!(outcome, ReloadOutcome::Unchanged { generation: 1 });
    assert_eq!(t.status().borrow().restart_required, vec!["watch".to_owned()]);
}

#[test]
fn env_overrides_win_and_are_listed() {
    let f = Fixture::new("watch = false\nsample_rate = 1.0");
    let env = livetel::config::EnvOverrides::from_lookup(|k| match k {
        "OTEL_TRACES_SAMPLER" => Some("parentbased_traceidratio".into()),
        "OTEL_TRACES_SAMPLER_ARG" => Some("0.25".into()),
        "OTEL_SERVICE_NAME" => Some("from-env".into()),
        "OTEL_EXPORTER_OTLP_ENDPOINT" => Some("http://127.0.0.1:4317".into()),
        _ => None,
    });
    let t = f.builder().env_overrides(env).build().unwrap();
    let s = t.status().borrow().clone();
    assert_eq!((s.sample_rate, s.service_name.as_str()), (0.25, "from-env"));
    // `field` keeps the names status always used; `key` is the dotted key of the nested tables.
    let fields: Vec<_> = s.env_overrides.iter().map(|o| (o.field, o.key)).collect();
    assert_eq!(
        fields,
        [
            ("service_name", "service_name"),
            ("sample_rate", "sample_rate"),
            ("sampling.strategy", "sampling.strategy"),
            ("otlp_endpoint", "otlp.endpoint")
        ]
    );
}

#[test]
fn bad_config_at_start_is_an_error() {
    let f = Fixture::new("sample_rate = -1");
    let err = f.builder().build().unwrap_err();
    assert!(err.to_string().contains(":4:"), "{err}");
}
