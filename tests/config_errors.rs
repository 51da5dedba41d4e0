//! Config validation: every error names file, line, column and key.

use livetel::ConfigErrorKind;
use livetel::config::{self, Backend, EnvOverrides};

fn err(text: &str) -> livetel::ConfigError {
    config::parse_str("app.toml", text).expect_err("config should be rejected")
}

#[test]
fn other_tables_are_ignored() {
    let cfg = config::parse_str(
        "app.toml",
        "[server]\nport = 1\n[telemetry]\nbackend = \"none\"\n[db]\nurl = \"x\"\n",
    )
    .unwrap();
    assert_eq!(cfg.backend, Backend::None);
}

#[test]
fn unknown_key_has_a_hint_and_a_place() {
    let e = err("[telemetry]\nbackend = \"local\"\n  sampel_rate = 0.5\n");
    assert_eq!(
        e.kind,
        ConfigErrorKind::UnknownKey {
            hint: Some("sample_rate".into())
        }
    );
    let p = e.position.unwrap();
    assert_eq!((p.line, p.column), (3, 3));
    assert_eq!(e.key.as_deref(), Some("telemetry.sampel_rate"));
    assert!(
        e.to_string()
            .starts_with("app.toml:3:3: `telemetry.sampel_rate`: unknown key; did you mean `sample_rate`?"),
        "{e}"
    );
}

#[test]
fn unknown_key_far_from_any_gets_no_hint() {
    let e = err("[telemetry]\nzzz = 1\n");
    assert_eq!(e.kind, ConfigErrorKind::UnknownKey { hint: None });
}

#[test]
fn wrong_type_names_key_line_and_column() {
    let e = err("[telemetry]\nsample_rate = \"half\"\n");
    assert_eq!(e.key.as_deref(), Some("telemetry.sample_rate"));
    let p = e.position.unwrap();
    assert_eq!((p.line, p.column), (2, 15));
    assert!(matches!(e.kind, ConfigErrorKind::InvalidValue { .. }), "{e}");
}

#[test]
fn bad_enum_value_is_located() {
    let e = err("[telemetry]\n\nbackend = \"jaeger\"\n");
    assert_eq!(e.position.unwrap().line, 3);
    assert_eq!(e.key.as_deref(), Some("telemetry.backend"));
    assert!(e.to_string().contains("jaeger"), "{e}");
}

#[test]
fn out_of_range_is_located() {
    let e = err("[telemetry]\nsample_rate = 1.5\n");
    assert_eq!(e.key.as_deref(), Some("telemetry.sample_rate"));
    let p = e.position.unwrap();
    assert_eq!((p.line, p.column), (2, 15));
    assert!(e.to_string().contains("between 0.0 and 1.0"), "{e}");
}

#[test]
fn bad_filter_directive_is_located() {
    let e = err("[telemetry]\nfilter = \"info,my_crate=loud\"\n");
    assert_eq!(e.key.as_deref(), Some("telemetry.filter"));
    assert_eq!(e.position.unwrap().line, 2);
}

#[test]
fn syntax_error_is_located() {
    let e = err("[telemetry]\nbackend = \"local\n");
    assert!(matches!(e.kind, ConfigErrorKind::Syntax { .. }), "{e}");
    assert_eq!(e.position.unwrap().line, 2);
}

#[test]
fn telemetry_must_be_a_table() {
    let e = err("telemetry = 3\n");
    assert_eq!(e.position.unwrap().line, 1);
}

#[test]
fn legacy_sections_migrate_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("old.toml");
    std::fs::write(
        &p,
        "[observability]\nexporter = \"none\"\nsample_rate = 0.5\n[debug.traces]\noutput_dir = \"/tmp/x\"\ninclude_args = true\n",
    )
    .unwrap();
    let cfg = config::read_file(&p).unwrap();
    assert_eq!(cfg.backend, Backend::None);
    assert_eq!(cfg.sample_rate, 0.5);
    assert_eq!(cfg.local.trace_dir, std::path::PathBuf::from("/tmp/x"));
    assert!(cfg.include_args);
    let t = livetel::Builder::new(&p)
        .env_overrides(EnvOverrides::from_lookup(|_| None))
        .reload_on_sighup(false)
        .build()
        .unwrap();
    let warnings = t.status().borrow().warnings.clone();
    assert!(warnings.iter().any(|w| w.contains("deprecated")), "{warnings:?}");
}

#[test]
fn legacy_debug_traces_turns_local_on() {
    let cfg = config::parse_str("a.toml", "[debug.traces]\nenabled = true\n").unwrap();
    assert_eq!(cfg.backend, Backend::Local);
}

#[test]
fn legacy_bad_exporter_is_located() {
    let e = err("[observability]\nexporter = \"zipkin\"\n");
    assert_eq!(e.position.unwrap().line, 2);
    assert_eq!(e.key.as_deref(), Some("observability.exporter"));
}

#[test]
fn missing_file_says_missing() {
    let e = config::read_file("/nonexistent/livetel.toml").unwrap_err();
    assert!(e.is_missing());
}

#[test]
fn binary_and_huge_files_are_refused_without_panic() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bin.toml");
    std::fs::write(&p, [0xff, 0xfe, 0x00, 0x80]).unwrap();
    assert!(matches!(
        config::read_file(&p).unwrap_err().kind,
        ConfigErrorKind::NotUtf8 { offset: 0 }
    ));
    std::fs::write(&p, vec![b'#'; 2 << 20]).unwrap();
    assert!(matches!(
        config::read_file(&p).unwrap_err().kind,
        ConfigErrorKind::TooLarge { .. }
    ));
    std::fs::write(&p, "").unwrap();
    assert_eq!(config::read_file(&p).unwrap(), config::TelemetryConfig::default());
}

#[test]
fn otlp_keys_parse_with_defaults() {
    let cfg = config::parse_str(
        "a.toml",
        "[telemetry]\nbackend = \"otlp\"\n[telemetry.otlp]\nprotocol = \"http/protobuf\"\nendpoint = \"http://127.0.0.1:4318/\"\n\
         [telemetry.otlp.batch]\nmax_queue_size = 100\n[telemetry.resource]\n\"deployment.environment\" = \"prod\"\n",
    )
    .unwrap();
    assert_eq!(cfg.otlp.traces_url(), "http://127.0.0.1:4318/v1/traces");
    assert_eq!(cfg.otlp.batch.max_queue_size, 100);
    assert_eq!(cfg.resource["deployment.environment"], "prod");
    let grpc = config::parse_str("a.toml", "[telemetry]\nbackend = \"otlp\"\n").unwrap();
    assert_eq!(grpc.otlp.traces_url(), "http://localhost:4317");
}

#[test]
fn nested_unknown_key_has_a_hint() {
    let e = err("[telemetry]\n[telemetry.otlp.batch]\nmax_queue_sise = 10\n");
    assert_eq!(e.key.as_deref(), Some("telemetry.otlp.batch.max_queue_sise"));
    assert_eq!(
        e.kind,
        ConfigErrorKind::UnknownKey {
            hint: Some("max_queue_size".into())
        }
    );
    assert_eq!(e.position.unwrap().line, 3);
}

#[test]
fn bad_endpoint_and_batch_are_located() {
    let e = err("[telemetry]\n[telemetry.otlp]\nendpoint = \"localhost:4317\"\n");
    assert_eq!(
        (e.key.as_deref(), e.position.unwrap().line),
        (Some("telemetry.otlp.endpoint"), 3)
    );
    let e = err("[telemetry]\n[telemetry.otlp.batch]\nmax_queue_size = 10\nmax_export_batch_size = 0\n");
    assert_eq!(
        (e.key.as_deref(), e.position.unwrap().line),
        (Some("telemetry.otlp.batch.max_export_batch_size"), 4)
    );
    let e = err("[telemetry]\n[telemetry.otlp]\nprotocol = \"http/json\"\n");
    assert_eq!(e.key.as_deref(), Some("telemetry.otlp.protocol"));
    assert_eq!(e.position.map(|p| (p.line, p.column)), Some((3, 12)));
    let e = err("[telemetry]\notlp = { timeout_ms = 0 }\n");
    assert_eq!(e.key.as_deref(), Some("telemetry.otlp.timeout_ms"));
    assert_eq!(e.position.map(|p| (p.line, p.column)), Some((2, 23)));
}

#[test]
fn unknown_keys_in_nested_tables_have_hints_and_places() {
    for (text, key, hint, line) in [
        (
            "[telemetry]\n[telemetry.otlp]\nendpiont = \"http://a:1\"\n",
            "telemetry.otlp.endpiont",
            Some("endpoint"),
            3,
        ),
        (
            "[telemetry]\n\n[telemetry.local]\ntrace_dri = \"t\"\n",
            "telemetry.local.trace_dri",
            Some("trace_dir"),
            4,
        ),
        (
            "[telemetry]\n[telemetry.vault]\nsorce = \"env\"\n",
            "telemetry.vault.sorce",
            Some("source"),
            3,
        ),
        ("[telemetry]\notlp.zzz = 1\n", "telemetry.otlp.zzz", None, 2),
    ] {
        let e = err(text);
        assert_eq!(e.key.as_deref(), Some(key), "{e}");
        assert_eq!(
            e.kind,
            ConfigErrorKind::UnknownKey {
                hint: hint.map(str::to_owned)
            },
            "{e}"
        );
        assert_eq!(e.position.map(|p| p.line), Some(line), "{e}");
    }
}

#[test]
fn hints_for_flat_spellings_point_to_the_nested_keys() {
    for (typo, hint) in [
        ("otlp_endpiont", "otlp.endpoint"),
        ("otlp_protocl", "otlp.protocol"),
        ("trace_dri", "local.trace_dir"),
        ("endpoint", "otlp.endpoint"),
    ] {
        let e = err(&format!("[telemetry]\n{typo} = 1\n"));
        assert_eq!(
            e.kind,
            ConfigErrorKind::UnknownKey {
                hint: Some(hint.to_owned())
            },
            "{e}"
        );
    }
}

#[test]
fn resource_takes_any_key() {
    let cfg = config::parse_str(
        "a.toml",
        "[telemetry.resource]\n\"k8s.pod.name\" = \"p\"\nanything_at_all = \"x\"\n",
    )
    .unwrap();
    assert_eq!(cfg.resource.len(), 2);
}
