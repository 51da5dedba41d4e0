//! OTLP auth headers from the vault: a canary secret reaches the collector through file and directory sources
//! and both protocols (the environment source: `vault_env.rs`), and appears nowhere else. Rotation needs no restart and loses no batch.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use common::receiver::Receiver;
use common::vault::{exports_canary, otlp, secret_file};
use common::{Fixture, trace_files, wait_status};
use livetel::{ConfigErrorKind, ReloadOutcome};

#[test]
fn canary_from_file_over_http() {
    let rx = Receiver::start();
    let canary = "canary-file-22c0de";
    let f = Fixture::new("");
    let path = secret_file(
        f.dir.path(),
        "otlp.secret",
        &format!(r#"{{"Authorization": "Bearer {canary}", "x-tenant": "agents"}}"#),
    );
    let vault = format!(
        "[telemetry.vault]\nsource = \"file\"\npath = {:?}",
        path.display().to_string()
    );
    f.write(&otlp("http/protobuf", &rx.http_endpoint(), &vault));
    exports_canary(&f, &rx, canary);
}

#[test]
fn canary_from_dir_over_grpc() {
    let rx = Receiver::start();
    let canary = "canary-dir-9b1e44";
    let f = Fixture::new("");
    let secrets = f.dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    secret_file(
        &secrets,
        "OTLP_AUTH",
        &format!("authorization=Bearer%20{canary},x-tenant=agents\n"),
    );
    let vault = format!(
        "[telemetry.vault]\nsource = \"dir\"\ndir = {:?}",
        secrets.display().to_string()
    );
    f.write(&otlp("grpc", &rx.grpc_endpoint(), &vault));
    exports_canary(&f, &rx, canary);
}

#[test]
fn header_values_in_the_config_file_are_rejected() {
    for (line, body) in [
        (2, "otlp_headers = { authorization = \"Bearer s3cr3t\" }"),
        (3, "[telemetry.otlp]\nheaders = \"authorization=s3cr3t\""),
    ] {
        let e = livetel::config::parse_str("a.toml", &format!("[telemetry]\n{body}\n")).unwrap_err();
        assert!(matches!(e.kind, ConfigErrorKind::SecretInConfig { .. }), "{e}");
        assert_eq!(e.position.map(|p| p.line), Some(line));
        assert!(
            e.to_string()
                .contains("`headers_vault_key` in `[telemetry.otlp]`"),
            "{e}"
        );
        assert!(!e.to_string().contains("s3cr3t") && !format!("{e:?}").contains("s3cr3t"));
    }
}

#[test]
fn missing_secret_required_rejects_optional_warns() {
    let rx = Receiver::start();
    let f =
        Fixture::new(&otlp("grpc", &rx.grpc_endpoint(), "").replace("OTLP_AUTH", "LIVETEL_TEST_NEVER_SET"));
    let err = f.builder().build().unwrap_err();
    assert!(err.to_string().contains("required but missing"), "{err}");
    assert!(
        err.to_string().contains(":9:"),
        "located at headers_vault_key: {err}"
    );
    f.write(
        &otlp("grpc", &rx.grpc_endpoint(), "")
            .replace("OTLP_AUTH", "LIVETEL_TEST_NEVER_SET")
            .replace("required = true", "required = false"),
    );
    let t = f.start();
    let s = t.status().borrow().clone();
    assert!(
        s.warnings.iter().any(|w| w.contains("without auth")),
        "{:?}",
        s.warnings
    );
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("unauthed").in_scope(|| {})
    });
    drop(t);
    assert!(rx.wait_spans(1)[0]["headers"].get("authorization").is_none());
}

#[test]
fn open_permissions_warn_or_refuse() {
    let rx = Receiver::start();
    let f = Fixture::new("");
    let path = f.dir.path().join("otlp.secret");
    std::fs::write(&path, "authorization=x").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let vault = format!(
        "[telemetry.vault]\nsource = \"file\"\npath = {:?}",
        path.display().to_string()
    );
    f.write(&otlp("grpc", &rx.grpc_endpoint(), &vault));
    let t = f.start();
    assert!(
        t.status()
            .borrow()
            .warnings
            .iter()
            .any(|w| w.contains("mode 0644"))
    );
    f.write(&otlp(
        "grpc",
        &rx.grpc_endpoint(),
        &format!("{vault}\nstrict_permissions = true"),
    ));
    let ReloadOutcome::Rejected { error } = t.reload_trigger().reload_blocking() else {
        panic!("accepted a 0644 secret")
    };
    assert!(error.to_string().contains("strict_permissions"), "{error}");
}

#[test]
fn rotation_reaches_the_collector_without_restart_or_loss() {
    let rx = Receiver::start();
    let f = Fixture::new("");
    let path = secret_file(f.dir.path(), "otlp.secret", "authorization=old-value-1");
    let vault = format!(
        "[telemetry.vault]\nsource = \"file\"\npath = {:?}",
        path.display().to_string()
    );
    f.write(&otlp("grpc", &rx.grpc_endpoint(), &vault).replace("watch = false\n", ""));
    let t = f.start();
    let stop = Arc::new(AtomicBool::new(false));
    let made = Arc::new(AtomicU64::new(0));
    let worker = {
        let (d, s, m) = (
            t.dispatch().expect("own subscriber").clone(),
            Arc::clone(&stop),
            Arc::clone(&made),
        );
        std::thread::spawn(move || {
            tracing::dispatcher::with_default(&d, || {
                while !s.load(SeqCst) {
                    tracing::info_span!("steady").in_scope(|| {});
                    m.fetch_add(1, SeqCst);
                    std::thread::sleep(Duration::from_micros(300));
                }
            })
        })
    };
    rx.wait_spans(20);
    // Rotate as secret managers do: write a new file and rename it over the old one.
    let tmp = secret_file(f.dir.path(), ".otlp.secret.new", "authorization=new-value-2");
    std::fs::rename(&tmp, &path).unwrap();
    wait_status(&t, "the rotation applied by the watcher", |s| s.generation == 2);
    let after = made.load(SeqCst);
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while !rx
        .spans()
        .iter()
        .any(|s| s["headers"]["authorization"] == "new-value-2")
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the new secret never reached the collector"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, SeqCst);
    worker.join().unwrap();
    let c = t.shutdown();
    let spans = rx.spans();
    let old = spans
        .iter()
        .filter(|s| s["headers"]["authorization"] == "old-value-1")
        .count();
    let new = spans
        .iter()
        .filter(|s| s["headers"]["authorization"] == "new-value-2")
        .count();
    println!(
        "rotation: {} spans made ({after} before the swap), {old} sent with the old secret, {new} with the new, 0 lost",
        made.load(SeqCst)
    );
    assert_eq!(
        (old + new) as u64,
        made.load(SeqCst),
        "no batch lost across the rotation"
    );
    assert_eq!((c.exported, c.dropped), (made.load(SeqCst), 0));
}

#[test]
fn demo_output_and_traces_never_hold_the_secret() {
    let rx = Receiver::start();
    let canary = "canary-demo-5e5e5e";
    let f = Fixture::new(
        &otlp("grpc", &rx.grpc_endpoint(), "")
            .replace("OTLP_AUTH", "DEMO_AUTH")
            .replace("watch = false\n", ""),
    );
    let exe = std::env::current_exe().unwrap();
    let agent = exe
        .parent()
        .and_then(|d| d.parent())
        .unwrap()
        .join("examples/agent");
    let mut child = Command::new(agent)
        .arg("--config")
        .arg(&f.config)
        .args(["--rate", "50", "--status-json"])
        .env("DEMO_AUTH", format!("authorization={canary}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run the demo");
    // Stops the demo even if an assertion below fails first.
    struct Stop(std::process::Child);
    impl Drop for Stop {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let mut pipe = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let stdout_reader = std::thread::spawn(move || {
        let mut all = String::new();
        let mut line = String::new();
        while std::io::BufRead::read_line(&mut pipe, &mut line).is_ok_and(|n| n > 0) {
            all.push_str(&line);
            let _ = lines_tx.send(std::mem::take(&mut line));
        }
        all
    });
    let mut err_pipe = child.stderr.take().expect("stderr");
    let stderr_reader = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = std::io::Read::read_to_string(&mut err_pipe, &mut all);
        all
    });
    let mut demo = Stop(child);
    // The collector has the demo's spans (sent with the secret); then flip to local while it runs: the chrome
    // trace must not hold the secret either.
    rx.wait_spans(1);
    let local = f.section("backend = \"local\"\n[telemetry.otlp]\nheaders_vault_key = \"DEMO_AUTH\"");
    std::fs::write(&f.config, local).unwrap();
    let flipped = loop {
        let line = lines
            .recv_timeout(common::PATIENCE)
            .expect("a status line for the flip to local");
        if line.contains("\"generation\":2") {
            break line;
        }
    };
    // Some spans written under local before the demo stops.
    let deadline = std::time::Instant::now() + common::PATIENCE;
    while common::span_names(&f.traces).values().sum::<usize>() == 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no span written under local"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let pid = demo.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-s", "TERM", &pid])
            .status()
            .is_ok_and(|s| s.success())
    );
    let deadline = std::time::Instant::now() + common::PATIENCE;
    let status = loop {
        if let Some(status) = demo.0.try_wait().expect("wait for the demo") {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the demo did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    let (stdout, stderr) = (
        stdout_reader.join().expect("stdout reader"),
        stderr_reader.join().expect("stderr reader"),
    );
    assert!(status.success(), "{stderr}");
    assert!(
        flipped.contains("\"backend\":\"local\""),
        "the flip to local happened: {flipped}"
    );

    assert!(
        stdout.lines().filter(|l| l.contains("\"generation\":2")).count() >= 1,
        "the flip to local happened: {stdout}"
    );
    assert!(
        !stdout.contains(canary) && !stderr.contains(canary),
        "the secret reached the demo's output"
    );
    for (path, _) in trace_files(&f.traces) {
        assert!(
            !std::fs::read_to_string(&path).unwrap().contains(canary),
            "{}",
            path.display()
        );
    }
    assert!(
        rx.wait_spans(1)
            .iter()
            .all(|s| s["headers"]["authorization"] == canary),
        "the collector got it"
    );
}
