//! Status `last_reload`: how the last reload ended, and the dotted keys it changed. A sample-rate edit, an
//! endpoint edit, a backend added to the list, a console format change, a no-op save, a rejected edit, a
//! handle's change, a rotated secret, and start-up (what the file sets away from the defaults).

mod common;

use common::{Fixture, wait_status};
use livetel::ReloadOutcome;
use livetel::status::{LastReload, ReloadOutcomeKind, Trigger};

/// Loopback ports nothing answers on: an OTLP sink is built for them, and no span is made for it to export.
const NOWHERE: &str = "otlp.endpoint = \"http://127.0.0.1:9\"";
const NOWHERE_ELSE: &str = "otlp.endpoint = \"http://127.0.0.1:10\"";

/// The last reload as status shows it.
fn last_reload(t: &livetel::Telemetry) -> LastReload {
    let status = t.status().borrow().clone();
    status.last_reload.clone().expect("status shows the last reload")
}

/// Writes `lines` as the file's `[telemetry]` body, reloads, and returns what the reload answered and what
/// status says of it (the trigger answers after status is published).
fn save(f: &Fixture, t: &livetel::Telemetry, lines: &[&str]) -> (ReloadOutcome, LastReload) {
    f.write(&lines.join("\n"));
    let outcome = t.reload_trigger().reload_blocking();
    (outcome, last_reload(t))
}

#[test]
fn each_reload_names_the_keys_it_changed() {
    let f = Fixture::new(&["watch = false", "sample_rate = 1.0", NOWHERE].join("\n"));
    let t = f.start();
    // Each step's file, and the keys that differ from the step before.
    let steps: [(&[&str], &[&str]); 4] = [
        (
            &["watch = false", "sample_rate = 0.5", NOWHERE],
            &["sampling.probability"],
        ),
        (
            &["watch = false", "sample_rate = 0.5", NOWHERE_ELSE],
            &["otlp.endpoint"],
        ),
        (
            &[
                "watch = false",
                "sample_rate = 0.5",
                NOWHERE_ELSE,
                "backend = [\"local\", \"otlp\"]",
            ],
            &["backend"],
        ),
        (
            &[
                "watch = false",
                "sample_rate = 0.5",
                NOWHERE_ELSE,
                "backend = [\"local\", \"otlp\"]",
                "console.format = \"json\"",
            ],
            &["console.format"],
        ),
    ];
    let mut last_file: &[&str] = &[];
    for (generation, (file, changed)) in (2..).zip(steps) {
        let (outcome, last) = save(&f, &t, file);
        assert_eq!(outcome, ReloadOutcome::Applied { generation }, "{file:?}");
        assert_eq!(last.changed, changed, "after {file:?}");
        assert_eq!(
            (last.outcome, last.trigger, last.generation),
            (ReloadOutcomeKind::Applied, Trigger::Manual, generation)
        );
        last_file = file;
    }

    // Saving the same file again: unchanged, no key.
    let (outcome, last) = save(&f, &t, last_file);
    assert_eq!(outcome, ReloadOutcome::Unchanged { generation: 5 });
    assert_eq!((last.outcome, last.generation), (ReloadOutcomeKind::Unchanged, 5));
    assert!(last.changed.is_empty(), "{:?}", last.changed);

    // A rejected edit changes nothing that runs: no key either.
    let (outcome, last) = save(&f, &t, &["watch = false", "sample_rate = 7"]);
    assert!(matches!(outcome, ReloadOutcome::Rejected { .. }), "{outcome:?}");
    assert_eq!((last.outcome, last.generation), (ReloadOutcomeKind::Rejected, 5));
    assert!(last.changed.is_empty(), "{:?}", last.changed);
}

#[test]
fn start_up_lists_what_the_file_sets_away_from_the_defaults() {
    let f = Fixture::new("watch = false\nsample_rate = 0.5\nconsole.format = \"json\"");
    let t = f.start();
    let last = last_reload(&t);
    assert_eq!(
        (last.outcome, last.trigger, last.generation),
        (ReloadOutcomeKind::Applied, Trigger::Init, 1)
    );
    // The fixture writes `local.trace_dir` and `service_name` too.
    assert_eq!(
        last.changed,
        [
            "console.format",
            "local.trace_dir",
            "sampling.probability",
            "service_name",
            "watch"
        ]
    );
    assert_eq!(t.status().borrow().applied_at, last.at);
}

#[test]
fn a_handle_change_names_its_keys() {
    let f = Fixture::new("watch = false");
    let t = f.start();
    let outcome = t.handle().modify_blocking(|cfg| {
        cfg.sample_rate = 0.1;
        cfg.filter = "debug".into();
    });
    assert_eq!(outcome, ReloadOutcome::Applied { generation: 2 });
    let last = last_reload(&t);
    assert_eq!(last.trigger, Trigger::Handle);
    assert_eq!(last.changed, ["filter", "sampling.probability"]);
}

#[test]
fn a_rotated_secret_is_the_headers_key_and_never_its_value() {
    let f = Fixture::new("watch = false");
    let secret = common::vault::secret_file(f.dir.path(), "otlp_auth", "authorization=Bearer%20first-canary");
    f.write(&format!(
        "watch = false\nbackend = \"otlp\"\n{NOWHERE}\notlp.headers_vault_key = \"OTLP_AUTH\"\n\
         otlp.headers_required = true\nvault.source = \"file\"\nvault.path = {:?}",
        secret.display().to_string()
    ));
    let t = f.start();
    assert!(last_reload(&t).changed.iter().any(|k| k == "otlp.headers"));

    // The secret's file is followed: its change reloads by itself, with the file unchanged.
    std::fs::write(&secret, "authorization=Bearer%20second-canary").unwrap();
    let status = wait_status(&t, "the rotation applied", |s| s.reloads.applied == 1);
    let last = status.last_reload.clone().expect("status shows the last reload");
    assert_eq!(
        (last.outcome, last.trigger, last.changed.as_slice()),
        (
            ReloadOutcomeKind::Applied,
            Trigger::Watcher,
            ["otlp.headers".to_owned()].as_slice()
        )
    );
    let shown = serde_json::to_string(&*status).unwrap();
    assert!(!shown.contains("canary"), "{shown}");
}
