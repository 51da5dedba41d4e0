//! The vault tests' config and canary check, shared by `vault.rs` and `vault_env.rs`.

use std::os::unix::fs::PermissionsExt;

use super::Fixture;
use super::receiver::Receiver;

pub const BATCH: &str = "[telemetry.otlp.batch]\nscheduled_delay_ms = 20";

pub fn otlp(protocol: &str, endpoint: &str, vault: &str) -> String {
    format!(
        "watch = false\nbackend = \"otlp\"\n[telemetry.otlp]\nprotocol = \"{protocol}\"\nendpoint = \"{endpoint}\"\n\
         headers_vault_key = \"OTLP_AUTH\"\nheaders_required = true\n{BATCH}\n{vault}"
    )
}

pub fn secret_file(dir: &std::path::Path, name: &str, value: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, value).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
    p
}

/// Exports one span and checks the canary arrived, and that nothing livetel shows holds it.
pub fn exports_canary(f: &Fixture, rx: &Receiver, canary: &str) {
    let t = f.start();
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("authed").in_scope(|| {})
    });
    let status = t.refresh_status();
    let shown = [
        serde_json::to_string(&*status).unwrap(),
        format!("{status:?}"),
        format!("{t:?}"),
        format!("{:?}", livetel::config::read_file(&f.config)),
    ];
    for text in &shown {
        assert!(!text.contains(canary), "the secret leaked: {text}");
    }
    assert_eq!(
        status.sinks[0].otlp.as_ref().unwrap().header_names,
        ["authorization", "x-tenant"]
    );
    drop(t);
    let spans = rx.wait_spans(1);
    let headers = &spans[0]["headers"];
    assert_eq!(headers["authorization"], format!("Bearer {canary}"), "{headers}");
    assert_eq!(headers["x-tenant"], "agents");
}
