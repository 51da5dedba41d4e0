//! The admin endpoint on loopback: bearer token on every write route, `/status`, `/reload` answering its
//! outcome, temporary overrides through `/overrides`, a live rebind, and hostile clients (a 10 MB body, 1,000
//! idle connections, a Slowloris head) that never hold the app, whose spans keep being recorded.

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::{Fixture, PATIENCE, wait_status};

const TOKEN: &str = "s3cret-token";

/// `[telemetry]` lines with the endpoint on `listen` and its token in a vault directory.
fn body(dir: &std::path::Path, listen: &str) -> String {
    format!(
        "watch = false\nsample_rate = 0.5\nadmin.listen = \"{listen}\"\nadmin.token_vault_key = \"ADMIN_TOKEN\"\n\
         vault.source = \"dir\"\nvault.dir = {:?}",
        dir.display().to_string()
    )
}

fn start(listen: &str) -> (Fixture, livetel::Telemetry, SocketAddr) {
    let f = Fixture::new("");
    let secrets = f.dir.path().join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("ADMIN_TOKEN"), TOKEN).unwrap();
    f.write(&body(&secrets, listen));
    let t = f.start();
    let addr = address(&t);
    (f, t, addr)
}

fn address(t: &livetel::Telemetry) -> SocketAddr {
    let s = wait_status(t, "the admin endpoint", |s| s.admin.is_some());
    s.admin.as_ref().unwrap().address.parse().unwrap()
}

/// One HTTP/1.1 request; the status code and the body.
fn http(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(PATIENCE)).unwrap();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let code = answer.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (code, body)
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[test]
fn writes_need_the_token_and_reload_answers_its_outcome() {
    let (_f, t, addr) = start("127.0.0.1:0");
    assert!(t.status().borrow().admin.as_ref().unwrap().token_required);
    assert_eq!(http(addr, "POST", "/reload", None, "").0, 401);
    assert_eq!(http(addr, "POST", "/reload", Some("s3cret-tokeX"), "").0, 401);
    assert_eq!(http(addr, "POST", "/overrides", Some("wrong"), "{}").0, 401);
    let (code, answer) = http(addr, "POST", "/reload", Some(TOKEN), "");
    assert_eq!(code, 200, "{answer}");
    assert_eq!(json(&answer)["outcome"], "unchanged");
    let (code, status) = http(addr, "GET", "/status", None, "");
    assert_eq!(code, 200);
    assert_eq!(json(&status)["sample_rate"], 0.5);
    assert_eq!(json(&status)["admin"]["address"], addr.to_string());
    assert_eq!(http(addr, "GET", "/nowhere", None, "").0, 404);
    assert_eq!(http(addr, "PUT", "/status", Some(TOKEN), "").0, 405);
}

#[test]
fn a_rejected_reload_answers_with_file_line_and_column() {
    let (f, t, addr) = start("127.0.0.1:0");
    let secrets = f.dir.path().join("secrets");
    f.write(&format!(
        "{}\nsample_rate = 7",
        body(&secrets, "127.0.0.1:0").replace("sample_rate = 0.5\n", "")
    ));
    let (code, answer) = http(addr, "POST", "/reload", Some(TOKEN), "");
    assert_eq!(code, 422, "{answer}");
    let answer = json(&answer);
    assert_eq!(answer["outcome"], "rejected");
    assert_eq!(answer["detail"]["key"], "telemetry.sample_rate");
    assert!(
        answer["detail"]["position"]["line"].as_u64().is_some(),
        "{answer}"
    );
    assert_eq!(t.status().borrow().sample_rate, 0.5);
}

#[test]
fn overrides_through_the_endpoint_apply_list_and_end() {
    let (_f, t, addr) = start("127.0.0.1:0");
    let (code, answer) = http(
        addr,
        "POST",
        "/overrides",
        Some(TOKEN),
        r#"{"filter": "info,agent=debug", "sample_rate": 1.0, "ttl": "10m"}"#,
    );
    assert_eq!(code, 200, "{answer}");
    let answer = json(&answer);
    assert_eq!(answer["outcome"], "applied");
    let changed: Vec<&str> = answer["changed"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(changed, ["filter", "sampling.probability"]);
    let id = answer["id"].as_u64().unwrap();
    assert_eq!(t.status().borrow().sample_rate, 1.0);
    let (_, listed) = http(addr, "GET", "/overrides", None, "");
    assert_eq!(json(&listed)["overrides"][0]["id"], id);
    // A bad one is refused like a bad file; a body without ttl is a bad request.
    let (code, bad) = http(
        addr,
        "POST",
        "/overrides",
        Some(TOKEN),
        r#"{"sample_rate": 7, "ttl": "1m"}"#,
    );
    assert_eq!(code, 422, "{bad}");
    assert_eq!(
        http(addr, "POST", "/overrides", Some(TOKEN), r#"{"sample_rate": 1}"#).0,
        400
    );
    assert_eq!(http(addr, "DELETE", &format!("/overrides/{id}"), None, "").0, 401);
    let (code, _) = http(addr, "DELETE", &format!("/overrides/{id}"), Some(TOKEN), "");
    assert_eq!(code, 200);
    assert_eq!(t.status().borrow().sample_rate, 0.5);
}

#[test]
fn a_new_address_rebinds_and_the_old_one_is_closed() {
    let (f, t, addr) = start("127.0.0.1:0");
    let secrets = f.dir.path().join("secrets");
    // A fixed port this test picks: bind it, free it, name it.
    let next = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    f.write(&body(&secrets, &next.to_string()));
    assert!(t.reload_trigger().reload_blocking().is_applied());
    assert_eq!(address(&t), next);
    assert_eq!(http(next, "GET", "/status", None, "").0, 200);
    assert!(TcpStream::connect(addr).is_err(), "the old address still accepts");
    // An address in use is rejected at its place; the endpoint keeps serving where it was.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    f.write(&body(&secrets, &busy.local_addr().unwrap().to_string()));
    let outcome = t.reload_trigger().reload_blocking();
    let livetel::ReloadOutcome::Rejected { error } = outcome else {
        panic!("{outcome:?}");
    };
    assert_eq!(error.key.as_deref(), Some("telemetry.admin.listen"));
    assert!(error.position.is_some());
    assert_eq!(http(next, "GET", "/status", None, "").0, 200);
}

#[test]
fn hostile_clients_never_hold_the_app() {
    let (_f, t, addr) = start("127.0.0.1:0");
    let app_spans = || {
        t.refresh_status();
        t.status().borrow().counters.started
    };
    // A 10 MB body: refused after 64 KiB (or the connection cut), never read whole.
    let mut big = TcpStream::connect(addr).unwrap();
    big.set_read_timeout(Some(PATIENCE)).unwrap();
    let head = format!(
        "POST /overrides HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Length: {}\r\n\r\n",
        10 << 20
    );
    big.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b'x'; 1 << 20];
    let sent = (0..10).take_while(|_| big.write_all(&chunk).is_ok()).count();
    let mut answer = String::new();
    let _ = big.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 413") || sent < 10,
        "{sent} MiB sent, answer {answer:?}"
    );

    // A Slowloris head, one byte every 50 ms: cut off by the header timeout, while the app records spans.
    let mut slow = TcpStream::connect(addr).unwrap();
    let before = app_spans();
    let deadline = Instant::now() + PATIENCE;
    let mut sent = 0;
    for (i, byte) in b"GET /status HTTP/1.1\r\nHost: x\r\nX-Slow: "
        .iter()
        .chain(std::iter::repeat(&b'y'))
        .enumerate()
    {
        // The app's own work goes on meanwhile, and no app call waits on the endpoint.
        common::app_makes(&t, i as u64, 10);
        if slow.write_all(&[*byte]).and_then(|()| slow.flush()).is_err() {
            break;
        }
        sent += 1;
        assert!(
            Instant::now() < deadline,
            "a Slowloris head was never cut off ({sent} bytes)"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // (The loop ended: the head was cut off by the header timeout, within the deadline.)
    assert!(app_spans() > before, "the app recorded spans meanwhile");

    // 1,000 idle connections: at most 64 are served, the rest closed at once; the app goes on.
    let idle: Vec<TcpStream> = (0..1000).filter_map(|_| TcpStream::connect(addr).ok()).collect();
    let before = app_spans();
    common::app_makes(&t, 1, 100);
    assert!(app_spans() >= before + 100);
    drop(idle);
    // The endpoint serves again once the idle connections are gone.
    let deadline = Instant::now() + PATIENCE;
    while http_status_ok(addr).is_none() {
        assert!(Instant::now() < deadline, "the endpoint never served again");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn http_status_ok(addr: SocketAddr) -> Option<()> {
    let mut stream = TcpStream::connect(addr).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    stream
        .write_all(b"GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.starts_with("HTTP/1.1 200").then_some(())
}
