//! The flat keys of earlier versions (`otlp_endpoint`, `trace_dir`, ...) keep working as aliases of their nested
//! keys: a flat file loads to the same config as its nested twin, each alias used gives one warning in status,
//! a flat key next to its nested key is an error at the flat key's place, and errors found later (validation,
//! the trace dir, the vault) are placed at the flat spelling.

use livetel::config::{self, EnvOverrides};
use livetel::{Builder, ConfigErrorKind, InitError};

/// Every alias, with a value, at the top of `[telemetry]` (lines 5 to 12).
const FLAT: &str = r#"[telemetry]
watch = false
backend = "none"
sample_rate = 0.5
trace_dir = "/tmp/livetel-flat"
otlp_endpoint = "http://127.0.0.1:4318"
otlp_protocol = "http/protobuf"
otlp_timeout_ms = 2500
otlp_headers_vault_key = "LIVETEL_TEST_FLAT_AUTH"
otlp_headers_required = true
system_metrics_interval_secs = 30
pyroscope_endpoint = "http://127.0.0.1:4040"
[telemetry.otlp.batch]
max_queue_size = 100
"#;

const NESTED: &str = r#"[telemetry]
watch = false
backend = "none"
sample_rate = 0.5
[telemetry.local]
trace_dir = "/tmp/livetel-flat"
[telemetry.otlp]
endpoint = "http://127.0.0.1:4318"
protocol = "http/protobuf"
timeout_ms = 2500
headers_vault_key = "LIVETEL_TEST_FLAT_AUTH"
headers_required = true
[telemetry.otlp.batch]
max_queue_size = 100
[telemetry.profiling]
system_metrics_interval_secs = 30
pyroscope_endpoint = "http://127.0.0.1:4040"
"#;

/// (flat key, nested table, key there, a value).
const ALIASES: &[(&str, &str, &str, &str)] = &[
    ("trace_dir", "local", "trace_dir", "\"t\""),
    ("otlp_endpoint", "otlp", "endpoint", "\"http://a:1\""),
    ("otlp_protocol", "otlp", "protocol", "\"grpc\""),
    ("otlp_timeout_ms", "otlp", "timeout_ms", "10"),
    ("otlp_headers_vault_key", "otlp", "headers_vault_key", "\"K\""),
    ("otlp_headers_required", "otlp", "headers_required", "true"),
    // zeph's top-level spellings.
    (
        "system_metrics_interval_secs",
        "profiling",
        "system_metrics_interval_secs",
        "5",
    ),
    (
        "pyroscope_endpoint",
        "profiling",
        "pyroscope_endpoint",
        "\"http://a:1\"",
    ),
];

/// Starts livetel on `text`; the file lives as long as the returned dir.
fn build(text: &str) -> (tempfile::TempDir, Result<livetel::Telemetry, InitError>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("telemetry.toml");
    std::fs::write(&path, text).unwrap();
    let built = Builder::new(&path)
        .env_overrides(EnvOverrides::from_lookup(|_| None))
        .reload_on_sighup(false)
        .session_id("test")
        .build();
    (dir, built)
}

fn config_error(e: InitError) -> livetel::ConfigError {
    match e {
        InitError::Config(e) => e,
        other => panic!("not a config error: {other}"),
    }
}

#[test]
fn a_flat_file_loads_as_its_nested_twin() {
    let flat = config::parse_str("flat.toml", FLAT).unwrap();
    let nested = config::parse_str("nested.toml", NESTED).unwrap();
    assert_eq!(flat, nested);
    assert_eq!(flat.otlp.traces_url(), "http://127.0.0.1:4318/v1/traces");
    assert_eq!(flat.local.trace_dir, std::path::Path::new("/tmp/livetel-flat"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flat.toml");
    std::fs::write(&path, FLAT).unwrap();
    assert_eq!(config::read_file(&path).unwrap(), nested);
}

#[test]
fn each_alias_gives_its_warning_in_status() {
    let (_dir, t) = build(FLAT);
    let warnings = t.unwrap().status().borrow().warnings.clone();
    for (flat, table, key, _) in ALIASES {
        let want = format!("`telemetry.{flat}` is deprecated: write `{key}` in `[telemetry.{table}]`");
        assert_eq!(
            warnings.iter().filter(|w| **w == want).count(),
            1,
            "{want} in {warnings:#?}"
        );
    }
    // A build without `profiling-pyroscope` adds one line saying `pyroscope_endpoint` has no effect.
    let deprecations = warnings.iter().filter(|w| w.contains("is deprecated")).count();
    assert_eq!(deprecations, ALIASES.len(), "{warnings:#?}");
    let (_dir, t) = build(NESTED);
    let warnings = t.unwrap().status().borrow().warnings.clone();
    assert!(
        warnings.iter().all(|w| !w.contains("deprecated")),
        "{warnings:#?}"
    );
}

#[test]
fn flat_and_nested_both_set_is_an_error_at_the_flat_key() {
    for (flat, table, key, value) in ALIASES {
        let text = format!("[telemetry]\n  {flat} = {value}\n[telemetry.{table}]\n{key} = {value}\n");
        let e = config::parse_str("a.toml", &text).unwrap_err();
        assert!(matches!(e.kind, ConfigErrorKind::InvalidValue { .. }), "{e}");
        assert_eq!(e.key, Some(format!("telemetry.{flat}")));
        assert_eq!(e.position.map(|p| (p.line, p.column)), Some((2, 3)), "{e}");
        let both = format!("`telemetry.{flat}` and `telemetry.{table}.{key}` are both set");
        assert!(
            e.to_string()
                .starts_with(&format!("a.toml:2:3: `telemetry.{flat}`: {both}")),
            "{e}"
        );
    }
}

#[test]
fn errors_in_flat_values_are_placed_at_the_flat_spelling() {
    let e = config::parse_str("a.toml", "[telemetry]\notlp_endpoint = \"localhost:4317\"\n").unwrap_err();
    assert_eq!(e.key.as_deref(), Some("telemetry.otlp.endpoint"));
    assert_eq!(e.position.map(|p| (p.line, p.column)), Some((2, 17)), "{e}");

    let e = config::parse_str("a.toml", "[telemetry]\n\notlp_protocol = \"http/json\"\n").unwrap_err();
    assert_eq!(e.key.as_deref(), Some("telemetry.otlp.protocol"));
    assert_eq!(e.position.map(|p| (p.line, p.column)), Some((3, 17)), "{e}");
}

#[test]
fn errors_found_after_parsing_are_placed_at_the_flat_spelling() {
    // The trace dir cannot be created: it is a file.
    let file = tempfile::NamedTempFile::new().unwrap();
    let text = format!(
        "[telemetry]\nwatch = false\ntrace_dir = {:?}\n",
        file.path().display().to_string()
    );
    let e = config_error(build(&text).1.unwrap_err());
    assert_eq!(e.key.as_deref(), Some("telemetry.local.trace_dir"), "{e}");
    assert_eq!(e.position.map(|p| (p.line, p.column)), Some((3, 13)), "{e}");

    // The required secret is missing from the vault.
    let text = "[telemetry]\nwatch = false\nbackend = \"otlp\"\notlp_endpoint = \"http://127.0.0.1:9\"\n\
                otlp_headers_vault_key = \"LIVETEL_TEST_NEVER_SET_FLAT\"\notlp_headers_required = true\n";
    let e = config_error(build(text).1.unwrap_err());
    assert_eq!(e.key.as_deref(), Some("telemetry.otlp.headers_vault_key"), "{e}");
    assert_eq!(e.position.map(|p| (p.line, p.column)), Some((5, 26)), "{e}");
}
