//! `Telemetry::handle()`: configs held in memory go through the same validate → prepare → activate → retire
//! path as the file. Applied, rejected with a location, unchanged, and the file winning on its next reload.

mod common;

use common::{Fixture, span_names};
use livetel::ReloadOutcome;
use livetel::config::Backend;
use livetel::status::Trigger;

#[test]
fn modify_applies_and_rejects_without_touching_what_runs() {
    let f = Fixture::new("watch = false\nsample_rate = 1.0");
    let t = f.start();
    let handle = t.handle();

    assert_eq!(
        handle.modify_blocking(|cfg| cfg.sample_rate = 0.25),
        ReloadOutcome::Applied { generation: 2 }
    );
    let s = t.status().borrow().clone();
    assert_eq!((s.sample_rate, s.trigger), (0.25, Trigger::Handle));
    assert_eq!(
        handle.modify_blocking(|cfg| cfg.sample_rate = 0.25),
        ReloadOutcome::Unchanged { generation: 2 }
    );

    let ReloadOutcome::Rejected { error } = handle.modify_blocking(|cfg| cfg.sample_rate = 7.0) else {
        panic!("an out-of-range sample rate was applied")
    };
    assert_eq!(error.key.as_deref(), Some("telemetry.sample_rate"));
    let s = t.status().borrow().clone();
    assert_eq!(
        (s.generation, s.sample_rate),
        (2, 0.25),
        "the last good config keeps running"
    );
    let last = s.last_error.as_ref().expect("status shows the error");
    assert_eq!(
        (last.trigger, last.key.as_deref()),
        (Trigger::Handle, Some("telemetry.sample_rate"))
    );
}

#[test]
fn apply_toml_errors_have_line_and_column() {
    let f = Fixture::new("watch = false");
    let t = f.start();
    let handle = t.handle();
    let ReloadOutcome::Rejected { error } = handle.apply_toml_blocking("[telemetry]\nbackend = \"locl\"\n")
    else {
        panic!("an unknown backend was applied")
    };
    let pos = error.position.expect("a position in the document");
    assert_eq!((pos.line, pos.column), (2, 11), "{error}");
    assert!(error.to_string().starts_with("<handle>:2:11"), "{error}");
    assert_eq!(t.status().borrow().generation, 1);

    let ReloadOutcome::Rejected { error } = handle.apply_toml_blocking("[telemetry]\nsampel_rate = 0.5\n")
    else {
        panic!("an unknown key was applied")
    };
    assert_eq!(error.key.as_deref(), Some("telemetry.sampel_rate"));
    assert!(
        error.to_string().contains("sample_rate"),
        "a did-you-mean hint: {error}"
    );
}

/// The last writer wins: a handle's config runs until the file is reloaded, which applies the file again.
#[test]
fn the_file_wins_on_its_next_reload() {
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let t = f.start();
    let d = t.dispatch().expect("own subscriber").clone();
    let span = |name: &'static str| {
        tracing::dispatcher::with_default(&d, || tracing::info_span!("x", which = name).in_scope(|| {}));
    };
    span("file-1");
    let doc = f.section("watch = false\nbackend = \"none\"");
    assert!(t.handle().apply_toml_blocking(doc).is_applied());
    assert_eq!(t.status().borrow().backend, Backend::None);
    span("handle");
    // The file did not change, yet a reload (SIGHUP, or a trigger) applies it over the handle's config.
    assert!(t.reload_trigger().reload_blocking().is_applied());
    let s = t.status().borrow().clone();
    assert_eq!(
        (s.backend.clone(), s.trigger),
        (Backend::Local.into(), Trigger::Manual)
    );
    span("file-2");
    let c = t.shutdown();
    assert_eq!((c.started, c.exported, c.dropped), (2, 2, 0), "{c:?}");
    assert_eq!(span_names(&f.traces).get("x"), Some(&2));
}

/// A document without a `[telemetry]` table is refused (a misspelt table must not reset every setting), and
/// an error found while building names the handle, not the config file.
#[test]
fn apply_toml_needs_the_table_and_its_build_errors_name_the_handle() {
    let f = Fixture::new("watch = false\nsample_rate = 0.5");
    let t = f.start();
    let handle = t.handle();
    let ReloadOutcome::Rejected { error } = handle.apply_toml_blocking("[telemetery]\nsample_rate = 0.1\n")
    else {
        panic!("a document without [telemetry] was applied")
    };
    assert_eq!(error.key.as_deref(), Some("telemetry"), "{error}");
    assert_eq!(t.status().borrow().sample_rate, 0.5);

    let not_a_dir = f.dir.path().join("a-file");
    std::fs::write(&not_a_dir, "x").expect("write");
    let doc = format!(
        "[telemetry]\nwatch = false\n[telemetry.local]\ntrace_dir = {:?}\n",
        not_a_dir.display().to_string()
    );
    let ReloadOutcome::Rejected { error } = handle.apply_toml_blocking(doc) else {
        panic!("a trace dir that is a file was applied")
    };
    assert_eq!(error.path, std::path::PathBuf::from("<handle>"), "{error}");
    assert_eq!(error.key.as_deref(), Some("telemetry.local.trace_dir"));
    assert_eq!(error.position.map(|p| p.line), Some(4), "{error}");
}
