//! The watcher sees every way a file gets saved: in place, by rename, delete and recreate, and a Kubernetes
//! ConfigMap `..data` symlink swap. Debounced; identical content is not a reload.

mod common;

use std::os::unix::fs::symlink;
use std::sync::Arc;

use common::{Fixture, wait_status};
use livetel::status::TelemetryStatus;
use livetel::status::Trigger;

fn rate(s: &TelemetryStatus, r: f64) -> bool {
    s.sample_rate == r && s.trigger == Trigger::Watcher
}

#[test]
fn in_place_write() {
    let f = Fixture::new("backend = \"none\"\nsample_rate = 1.0");
    let t = f.start();
    f.write("backend = \"none\"\nsample_rate = 0.5");
    let s = wait_status(&t, "sample_rate 0.5 from the watcher", |s| rate(s, 0.5));
    assert_eq!(s.generation, 2);
}

#[test]
fn save_by_rename_twice() {
    let f = Fixture::new("backend = \"none\"\nsample_rate = 1.0");
    let t = f.start();
    for (i, r) in [0.25, 0.75].into_iter().enumerate() {
        // What vim and most IDEs do: write a temp file beside it, then rename over the original.
        let tmp = f.dir.path().join(".telemetry.toml.swp");
        std::fs::write(&tmp, f.section(&format!("backend = \"none\"\nsample_rate = {r}"))).unwrap();
        std::fs::rename(&tmp, &f.config).unwrap();
        let s = wait_status(&t, "the renamed file", |s| rate(s, r));
        assert_eq!(s.generation, 2 + i as u64, "the watch survives a rename");
    }
}

#[test]
fn delete_and_recreate() {
    let f = Fixture::new("backend = \"none\"\nsample_rate = 1.0");
    let t = f.start();
    std::fs::remove_file(&f.config).unwrap();
    let s = wait_status(&t, "the missing file", |s| s.last_error.is_some());
    assert_eq!(s.sample_rate, 1.0, "the last good config keeps running");
    f.write("backend = \"none\"\nsample_rate = 0.125");
    let s = wait_status(&t, "the recreated file", |s| rate(s, 0.125));
    assert!(s.last_error.is_none());
}

#[test]
fn kubernetes_configmap_symlink_swap() {
    // The layout kubelet makes: telemetry.toml -> ..data/telemetry.toml, ..data -> ..2024_01; an update writes
    // ..2024_02, points ..data_tmp at it and renames ..data_tmp over ..data.
    let f = Fixture::new("");
    std::fs::remove_file(&f.config).unwrap();
    let root = f.dir.path();
    let v1 = root.join("..2024_01");
    std::fs::create_dir(&v1).unwrap();
    std::fs::write(
        v1.join("telemetry.toml"),
        f.section("backend = \"none\"\nsample_rate = 1.0"),
    )
    .unwrap();
    symlink("..2024_01", root.join("..data")).unwrap();
    symlink("..data/telemetry.toml", &f.config).unwrap();
    let t = f.start();
    let v2 = root.join("..2024_02");
    std::fs::create_dir(&v2).unwrap();
    std::fs::write(
        v2.join("telemetry.toml"),
        f.section("backend = \"none\"\nsample_rate = 0.5"),
    )
    .unwrap();
    symlink("..2024_02", root.join("..data_tmp")).unwrap();
    std::fs::rename(root.join("..data_tmp"), root.join("..data")).unwrap();
    std::fs::remove_dir_all(&v1).unwrap();
    wait_status(&t, "the swapped ConfigMap", |s| rate(s, 0.5));
}

#[test]
fn identical_content_and_bursts_are_one_reload_at_most() {
    let f = Fixture::new("backend = \"none\"\nsample_rate = 1.0");
    let t = f.start();
    // Touching the file with the same bytes: seen by the watcher, and not a new generation.
    for _ in 0..5 {
        f.write("backend = \"none\"\nsample_rate = 1.0");
    }
    let s = wait_status(&t, "an unchanged reload", |s| s.reloads.unchanged >= 1);
    assert_eq!((s.generation, s.reloads.applied), (1, 0));
    // A burst of writes ending on one value: the last write wins.
    for i in 1..=50 {
        f.write(&format!(
            "backend = \"none\"\nsample_rate = {}",
            f64::from(i) / 100.0
        ));
    }
    let s: Arc<TelemetryStatus> = wait_status(&t, "the last write", |s| rate(s, 0.5));
    assert!(
        s.generation < 50,
        "a burst of 50 writes became {} generations: not debounced",
        s.generation
    );
    assert!(s.last_error.is_none());
    assert_eq!(s.reloads.rejected, 0);
}

#[test]
fn bad_edit_is_reported_with_line_and_column() {
    let f = Fixture::new("backend = \"none\"\nsample_rate = 1.0");
    let t = f.start();
    f.write("backend = \"none\"\nsample_rate = true");
    let s = wait_status(&t, "the error", |s| s.last_error.is_some());
    let e = s.last_error.as_ref().unwrap();
    assert_eq!(
        (e.line, e.column, e.trigger),
        (Some(5), Some(15), Trigger::Watcher)
    );
    assert_eq!(s.generation, 1);
    assert_eq!(s.sample_rate, 1.0);
}
