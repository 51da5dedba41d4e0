//! Temporary overrides: laid over the file's config until they expire, a file edit made meanwhile applying
//! under them, stacked in order, refused like a bad file, removed early; each reload with its own trigger.

mod common;

use std::time::Duration;

use common::{Fixture, wait_status};
use livetel::ReloadOutcome;
use livetel::status::Trigger;

const LONG: Duration = Duration::from_secs(600);

#[test]
fn an_override_applies_expires_and_leaves_a_file_edit_made_meanwhile_in_effect() {
    let f = Fixture::new("watch = false\nsample_rate = 0.5\nfilter = \"info\"");
    let t = f.start();
    let handle = t.handle();
    let o = handle.override_toml_blocking(
        "[telemetry]\nsample_rate = 1.0\nfilter = \"info,agent=debug\"\n",
        Duration::from_secs(2),
    );
    assert!(o.outcome.is_applied(), "{o:?}");
    let id = o.id.expect("an active override has an id");
    {
        let s = t.status().borrow().clone();
        assert_eq!((s.sample_rate, s.filter.as_str()), (1.0, "info,agent=debug"));
        assert_eq!((s.trigger, s.overrides.len()), (Trigger::Override, 1));
        assert_eq!(
            (s.overrides[0].id, s.overrides[0].keys.as_slice()),
            (id, &["filter".to_owned(), "sample_rate".to_owned()][..])
        );
    }

    // The file changes while the override is active: the edit applies under it.
    f.write("watch = false\nsample_rate = 0.5\nfilter = \"info\"\ninclude_args = true");
    assert!(t.reload_trigger().reload_blocking().is_applied());
    {
        let s = t.status().borrow().clone();
        assert!(s.include_args);
        assert_eq!((s.sample_rate, s.filter.as_str()), (1.0, "info,agent=debug"));
    }

    // It expires by itself: the file's config is back, its edit included.
    let s = wait_status(&t, "the override expired", |s| s.overrides.is_empty());
    assert_eq!(s.trigger, Trigger::OverrideExpired);
    assert_eq!(
        (s.sample_rate, s.filter.as_str(), s.include_args),
        (0.5, "info", true)
    );
}

#[test]
fn overrides_stack_in_order_and_one_removed_early_reveals_the_one_under_it() {
    let f = Fixture::new("watch = false\nsample_rate = 0.5");
    let t = f.start();
    let handle = t.handle();
    let first = handle.override_toml_blocking("[telemetry]\nsample_rate = 0.25\n", LONG);
    let second = handle.override_toml_blocking("[telemetry]\nsample_rate = 1.0\ninclude_args = true\n", LONG);
    assert!(first.outcome.is_applied() && second.outcome.is_applied());
    assert_eq!(t.status().borrow().sample_rate, 1.0);
    let removed = handle.remove_override_blocking(second.id.unwrap());
    assert!(removed.outcome.is_applied() && removed.id.is_none());
    let s = t.status().borrow().clone();
    assert_eq!(
        (s.sample_rate, s.include_args, s.overrides.len()),
        (0.25, false, 1)
    );
    // No such override: refused, nothing changes.
    let again = handle.remove_override_blocking(second.id.unwrap());
    assert!(matches!(again.outcome, ReloadOutcome::Rejected { .. }));
    assert!(
        handle
            .remove_override_blocking(first.id.unwrap())
            .outcome
            .is_applied()
    );
    assert_eq!(t.status().borrow().sample_rate, 0.5);
}

#[test]
fn a_bad_override_is_refused_like_a_bad_file_and_changes_nothing() {
    let f = Fixture::new("watch = false\nsample_rate = 0.5");
    let t = f.start();
    let generation = t.status().borrow().generation;
    let o = t
        .handle()
        .override_toml_blocking("[telemetry]\nsample_rate = 7\n", LONG);
    let ReloadOutcome::Rejected { error } = &o.outcome else {
        panic!("{o:?}");
    };
    assert_eq!(o.id, None);
    assert!(
        error
            .to_string()
            .starts_with("<override>:2:15: `telemetry.sample_rate`"),
        "{error}"
    );
    let s = t.status().borrow().clone();
    assert_eq!(
        (s.generation, s.sample_rate, s.overrides.len()),
        (generation, 0.5, 0)
    );
    assert!(s.last_error.is_some());
}

#[test]
fn a_handle_change_under_an_override_changes_the_base_not_the_override() {
    let f = Fixture::new("watch = false\nsample_rate = 0.5");
    let t = f.start();
    let handle = t.handle();
    let o = handle.override_toml_blocking("[telemetry]\nsample_rate = 1.0\n", LONG);
    assert!(handle.modify_blocking(|cfg| cfg.include_args = true).is_applied());
    let s = t.status().borrow().clone();
    assert_eq!((s.sample_rate, s.include_args), (1.0, true));
    assert!(
        handle
            .remove_override_blocking(o.id.unwrap())
            .outcome
            .is_applied()
    );
    let s = t.status().borrow().clone();
    assert_eq!((s.sample_rate, s.include_args), (0.5, true));
}
