//! Property test of the config loader over generated inputs: malformed TOML, wrong types, out-of-range values,
//! unknown keys, deeply nested tables, huge files, invalid UTF-8, binary garbage, empty files. It never panics,
//! every rejection says where, and through a live reload only valid inputs ever take effect.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::Fixture;
use common::seed::Rng;
use livetel::{ConfigErrorKind, ReloadOutcome};

/// Generated inputs: 2,000 in CI (a fixed seed), 12,000 under `LIVETEL_SOAK=1` (a fresh seed). A tenth of
/// them are 1.1 MB files, which is most of the time spent.
fn inputs() -> u64 {
    common::seed::length(2_000, 12_000)
}
const LIVE: u64 = 400;

/// Keys that are not valid: near misses (for hints), a secret-looking key (rejected), junk.
const BAD_KEYS: &[&str] = &[
    "sampel_rate",
    "backnd",
    "otlp_headers",
    "x",
    "",
    "\"quoted key\"",
    "a.b.c",
];

/// The deprecated flat keys, still accepted.
const FLAT_KEYS: &[&str] = &[
    "trace_dir",
    "otlp_endpoint",
    "otlp_protocol",
    "otlp_timeout_ms",
    "otlp_headers_vault_key",
    "otlp_headers_required",
];

/// Every key the loader knows (read from the config type's serialized default: each field by its name and by
/// its dotted path from `[telemetry]`), the deprecated ones, and the bad ones: new keys are covered without
/// touching this test.
fn keys() -> Vec<String> {
    fn walk(value: &serde_json::Value, prefix: &str, out: &mut Vec<String>) {
        let serde_json::Value::Object(fields) = value else {
            return;
        };
        for (name, field) in fields {
            let dotted = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}.{name}")
            };
            walk(field, &dotted, out);
            out.push(name.clone());
            out.push(dotted);
        }
    }
    let default = serde_json::to_value(livetel::config::TelemetryConfig::default()).unwrap();
    let mut keys = Vec::new();
    walk(&default, "", &mut keys);
    keys.extend(FLAT_KEYS.iter().chain(BAD_KEYS).map(|k| (*k).to_owned()));
    keys.sort();
    keys.dedup();
    keys
}
const VALUES: &[&str] = &[
    "true",
    "false",
    "0",
    "1",
    "-1",
    "0.5",
    "1.5",
    "-0.0",
    "nan",
    "inf",
    "1e309",
    "18446744073709551616",
    "\"none\"",
    "\"local\"",
    "\"otlp\"",
    "\"grpc\"",
    "\"http/protobuf\"",
    "\"info\"",
    "\"debug,x=trace\"",
    "\"[{=\"",
    "\"http://127.0.0.1:4317\"",
    "\"localhost\"",
    "\"\"",
    "[]",
    "[1, \"a\"]",
    "{}",
    "{ a = 1 }",
    "1979-05-27T07:32:00Z",
    "\"\\u0000\"",
    "'''multi\nline'''",
    "\"héllo ✓\"",
];
const TABLES: &[&str] = &[
    "[telemetry]",
    "[telemetry.local]",
    "[telemetry.otlp]",
    "[telemetry.otlp.batch]",
    "[telemetry.resource]",
    "[telemetry.vault]",
    "[[telemetry]]",
    "[observability]",
    "[debug.traces]",
    "[server]",
];

fn generate(rng: &mut Rng) -> Vec<u8> {
    match rng.below(10) {
        0 => Vec::new(),
        1 => (0..rng.below(400)).map(|_| rng.next() as u8).collect(),
        2 => {
            // Deeply nested tables and inline tables.
            let depth = 1 + rng.below(200) as usize;
            let mut s = String::from("[telemetry]\nresource = ");
            s.push_str(&"{ a = ".repeat(depth));
            s.push('1');
            s.push_str(&" }".repeat(depth));
            s.into_bytes()
        }
        3 => {
            let mut v = b"[telemetry]\nservice_name = \"".to_vec();
            v.extend(std::iter::repeat_n(b'a', 1_100_000));
            v.push(b'"');
            v
        }
        4 => {
            let mut v = lines(rng);
            let at = rng.below(v.len() as u64 + 1) as usize;
            v.insert(at.min(v.len()), 0xff);
            v
        }
        5 => {
            let mut v = lines(rng);
            let cut = rng.below(v.len() as u64 + 1) as usize;
            v.truncate(cut);
            v
        }
        6 => {
            let mut v = lines(rng);
            for _ in 0..1 + rng.below(4) {
                if !v.is_empty() {
                    let i = rng.below(v.len() as u64) as usize;
                    v[i] = *rng.pick(b"[]{}=\"'\n,.#\\ \t\0");
                }
            }
            v
        }
        _ => lines(rng),
    }
}

/// A plausible-looking file: tables with keys and values drawn from the lists above.
fn lines(rng: &mut Rng) -> Vec<u8> {
    let keys = keys();
    let mut s = String::new();
    for _ in 0..1 + rng.below(4) {
        let table: &&str = rng.pick(TABLES);
        s.push_str(table);
        s.push('\n');
        for _ in 0..rng.below(6) {
            s.push_str(&format!("{} = {}\n", rng.pick(&keys), rng.pick(VALUES)));
        }
    }
    s.into_bytes()
}

#[test]
fn loader_never_panics_and_always_says_where() {
    let mut rng = Rng::from_env("fuzz_config");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.toml");
    let (mut ok, mut rejected, mut crashes) = (0u64, 0u64, 0u64);
    let inputs = inputs();
    for i in 0..inputs {
        let input = generate(&mut rng);
        std::fs::write(&path, &input).unwrap();
        match catch_unwind(AssertUnwindSafe(|| livetel::config::read_file(&path))) {
            Err(_) => {
                crashes += 1;
                eprintln!("input {i} panicked: {:?}", String::from_utf8_lossy(&input));
            }
            Ok(Ok(_)) => ok += 1,
            Ok(Err(e)) => {
                rejected += 1;
                let placed = matches!(
                    e.kind,
                    ConfigErrorKind::Syntax { .. }
                        | ConfigErrorKind::UnknownKey { .. }
                        | ConfigErrorKind::SecretInConfig { .. }
                );
                assert!(
                    !placed || e.position.is_some(),
                    "input {i}: {e} has no line and column"
                );
                assert!(!e.to_string().is_empty());
            }
        }
    }
    println!(
        "fuzz_config: {inputs} inputs tried, {ok} valid, {rejected} rejected with a reason, {crashes} crashes"
    );
    assert_eq!(crashes, 0);
    // About 14 % of generated inputs are valid: both sides are well covered at either length.
    assert!(
        ok > inputs / 120 && rejected > inputs / 12,
        "the generator covers both sides"
    );
}

#[test]
fn live_reloads_apply_only_valid_inputs() {
    let mut rng = Rng::from_env("fuzz_config_live");
    let f = Fixture::new("watch = false\nbackend = \"none\"");
    let t = f.start();
    let trigger = t.reload_trigger();
    let (mut applied, mut rejected) = (0, 0);
    for _ in 0..LIVE {
        let input = if rng.chance(0.3) {
            f.section(&format!(
                "watch = false\nbackend = \"none\"\nsample_rate = {}",
                rng.below(100) as f64 / 100.0
            ))
            .into_bytes()
        } else {
            generate(&mut rng)
        };
        std::fs::write(&f.config, &input).unwrap();
        let before = t.status().borrow().clone();
        match trigger.reload_blocking() {
            ReloadOutcome::Applied { generation } => {
                applied += 1;
                assert_eq!(generation, before.generation + 1);
                assert!(livetel::config::read_file(&f.config).is_ok());
            }
            ReloadOutcome::Rejected { error } => {
                rejected += 1;
                let now = t.status().borrow().clone();
                assert_eq!(
                    now.generation, before.generation,
                    "a rejected input changed the generation"
                );
                assert_eq!(
                    now.sample_rate, before.sample_rate,
                    "a rejected input changed the running config"
                );
                assert!(now.last_error.is_some(), "{error}");
            }
            ReloadOutcome::Unchanged { .. } => {}
            ReloadOutcome::Stopped => panic!("livetel stopped"),
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    println!(
        "fuzz_config_live: {LIVE} live reloads: {applied} applied, {rejected} rejected, last good kept every time"
    );
    assert!(applied > 0 && rejected > 0);
}
