//! SIGHUP reloads the file. Its own test binary: the signal goes to the whole process.

mod common;

use common::{Fixture, wait_status};
use livetel::status::Trigger;

#[test]
fn sighup_reloads() {
    let f = Fixture::new("watch = false\nsample_rate = 1.0");
    let t = f.builder().reload_on_sighup(true).build().expect("starts");
    f.write("watch = false\nsample_rate = 0.5");
    // The handler is installed before `build` returns, so the first signal already counts; the loop only waits
    // for the reload to show in status.
    let pid = std::process::id().to_string();
    let mut seen = false;
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while std::time::Instant::now() < deadline {
        let ok = std::process::Command::new("kill")
            .args(["-s", "HUP", &pid])
            .status();
        assert!(ok.is_ok_and(|s| s.success()));
        std::thread::sleep(std::time::Duration::from_millis(50));
        if t.status().borrow().generation == 2 {
            seen = true;
            break;
        }
    }
    assert!(seen, "SIGHUP never reloaded");
    let s = wait_status(&t, "the signal trigger", |s| s.sample_rate == 0.5);
    assert_eq!(s.trigger, Trigger::Signal);
}
