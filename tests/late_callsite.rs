//! A callsite used for the first time while a reload lands.
//!
//! tracing-core registers a callsite in two steps: it asks the subscriber for its interest, then stores the
//! answer in the callsite. A reload's interest rebuild that runs between the two steps is overwritten by the
//! answer computed before it, and that answer stays cached until the next rebuild. Had livetel answered `never`
//! there (it recorded nothing yet) and the reload turned recording on, the callsite would stay off while livetel
//! records — silently, until some later reload. livetel answers `sometimes` outside its own rebuilds and
//! settles the callsite to its exact interest soon after.

mod common;

use std::sync::Mutex;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::callsite::{ALWAYS, SOMETIMES};
use common::{Fixture, span_names, wait_status};

test_callsite!(LATE, "late.callsite", always_ask: false);
test_callsite!(PLAIN, "plain.callsite", always_ask: false);

/// The tests of this file run one at a time: an interest is combined over every live subscriber of the process,
/// so another test's subscriber (recording nothing) would change the answers this one expects.
static SERIAL: Mutex<()> = Mutex::new(());

/// The registration is held between its two steps while `none` → `local` is applied and every retire tick's
/// rebuild runs; once it finishes, the callsite must be recorded (before the fix: 0 of 3).
#[test]
fn a_callsite_registered_during_a_flip_into_recording_is_recorded() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let f = Fixture::new("watch = false\nbackend = \"none\"");
    let t = f.start();
    let d = t.dispatch().expect("own subscriber").clone();
    wait_status(&t, "nothing draining", |s| s.sinks.len() == 1);
    let (held_tx, held_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel();
    *LATE.hold.lock().expect("hold") = Some((held_tx, go_rx));

    let worker = std::thread::spawn(move || {
        tracing::dispatcher::with_default(&d, || {
            LATE.register();
            // Recording is on by now: every use must be recorded.
            (0..3)
                .map(|seq| {
                    std::thread::sleep(Duration::from_millis(50));
                    u32::from(LATE.span(seq))
                })
                .sum::<u32>()
        })
    });
    held_rx
        .recv()
        .expect("the registration is held between its two steps");
    f.write("watch = false\nbackend = \"local\"");
    assert!(t.reload_trigger().reload_blocking().is_applied());
    wait_status(&t, "the none generation retired", |s| s.sinks.len() == 1);
    std::thread::sleep(Duration::from_millis(100)); // every retire tick's rebuild has run
    go_tx.send(()).expect("release");
    let enabled = worker.join().expect("worker");
    let c = t.shutdown();
    let recorded = span_names(&f.traces).get("late.callsite").copied().unwrap_or(0);
    assert_eq!(
        (enabled, recorded),
        (3, 3),
        "a callsite registered during the flip stayed off while livetel recorded: {c:?}"
    );
}

/// A first use answers `sometimes` (right whatever a reload does meanwhile); the control loop then settles the
/// callsite to its exact interest, so it does not pay for `enabled` at every use from then on.
#[test]
fn a_first_use_is_settled_to_its_exact_interest() {
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let t = f.start();
    let d = t.dispatch().expect("own subscriber").clone();
    tracing::dispatcher::with_default(&d, || PLAIN.register());
    assert_eq!(PLAIN.cached(), SOMETIMES, "a first use is answered `sometimes`");
    let deadline = Instant::now() + common::PATIENCE;
    while PLAIN.cached() != ALWAYS {
        assert!(Instant::now() < deadline, "the callsite was never settled");
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(t);
}
