//! P4_token: the admin endpoint's answer to a wrong bearer token takes as long as to no token, and as long
//! whichever byte of the token differs (the comparison is `subtle`'s constant-time one). Wall time of one
//! `POST /reload` answered 401, over loopback, in interleaved rounds; a timing, so it lives here and not in a
//! test.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Instant;

use crate::measure::{Figure, ab, median};
use crate::stacks::Livetel;

const TOKEN: &str = "0123456789abcdef0123456789abcdef";
const REQUESTS: usize = 200;

/// The two figures: a wrong token (first byte differs) / no token, and first byte differs / last byte differs.
pub fn token_timing(rounds: usize) -> Vec<Figure> {
    let secrets = tempfile::tempdir().expect("temp dir");
    std::fs::write(secrets.path().join("ADMIN_TOKEN"), TOKEN).expect("token file");
    let body = format!(
        "admin.listen = \"127.0.0.1:0\"\nadmin.token_vault_key = \"ADMIN_TOKEN\"\nvault.source = \"dir\"\nvault.dir = {:?}",
        secrets.path().display().to_string()
    );
    let l = Livetel::start(&body, false);
    let addr: SocketAddr = l
        .tel
        .refresh_status()
        .admin
        .as_ref()
        .and_then(|a| a.address.parse().ok())
        .expect("the admin endpoint is up");
    let first = format!("x{}", &TOKEN[1..]);
    let last = format!("{}x", &TOKEN[..TOKEN.len() - 1]);
    let none = ab(
        rounds,
        || micros_per_401(addr, Some(&first)),
        || micros_per_401(addr, None),
    );
    let position = ab(
        rounds,
        || micros_per_401(addr, Some(&first)),
        || micros_per_401(addr, Some(&last)),
    );
    vec![
        Figure::paired(
            "P4_token_wrong",
            none,
            "µs/401",
            "~1.0",
            "a wrong token / no token, POST /reload over loopback".into(),
        ),
        Figure::paired(
            "P4_token_bytes",
            position,
            "µs/401",
            "~1.0",
            "first byte wrong / last byte wrong".into(),
        ),
    ]
}

/// Median wall microseconds of `REQUESTS` requests answered 401.
fn micros_per_401(addr: SocketAddr, token: Option<&str>) -> f64 {
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let request =
        format!("POST /reload HTTP/1.1\r\nHost: x\r\n{auth}Content-Length: 0\r\nConnection: close\r\n\r\n");
    let times = (0..REQUESTS)
        .map(|_| {
            let t = Instant::now();
            let mut s = TcpStream::connect(addr).expect("connect");
            s.write_all(request.as_bytes()).expect("request");
            let mut answer = String::new();
            s.read_to_string(&mut answer).expect("answer");
            assert!(answer.starts_with("HTTP/1.1 401"), "{answer}");
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    median(times)
}
