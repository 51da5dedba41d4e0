//! The `livetel` command against a running service's admin endpoint (feature `cli`): `status`, `reload`,
//! `override` (with `--filter`, `--sample-rate`, `--set`, `--ttl`, `--remove`) and `overrides`, the token from
//! `LIVETEL_ADMIN_TOKEN` or `--token-file`; exit 1 with the reason when the endpoint refuses.
#![cfg(feature = "cli")]

mod common;

use std::process::Output;

use common::{Fixture, wait_status};

const TOKEN: &str = "cli-token";

fn livetel(args: &[&str], token: Option<&str>) -> Output {
    common::cli::livetel_with_token(args, token)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

#[test]
fn the_command_reads_reloads_and_overrides_a_running_service() {
    let f = Fixture::new("");
    let secrets = f.dir.path().join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    std::fs::write(secrets.join("ADMIN_TOKEN"), TOKEN).unwrap();
    f.write(&format!(
        "watch = false\nsample_rate = 0.5\nadmin.listen = \"127.0.0.1:0\"\nadmin.token_vault_key = \"ADMIN_TOKEN\"\n\
         vault.source = \"dir\"\nvault.dir = {:?}",
        secrets.display().to_string()
    ));
    let t = f.start();
    let s = wait_status(&t, "the admin endpoint", |s| s.admin.is_some());
    let url = s.admin.as_ref().unwrap().address.clone();

    let status = livetel(&["status", &url], None);
    assert!(status.status.success());
    assert_eq!(json(&status)["sample_rate"], 0.5);

    let refused = livetel(&["reload", &url], None);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("401"));
    let reload = livetel(&["reload", &url], Some(TOKEN));
    assert!(
        reload.status.success(),
        "{}",
        String::from_utf8_lossy(&reload.stderr)
    );
    assert_eq!(json(&reload)["outcome"], "unchanged");

    let token_file = f.dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let args = [
        "override",
        &url,
        "--token-file",
        token_file.to_str().unwrap(),
        "--filter",
        "info,agent=debug",
        "--sample-rate",
        "1.0",
        "--set",
        "sampling.always_sample_errors=true",
        "--ttl",
        "10m",
    ];
    let added = livetel(&args, None);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let added = json(&added);
    assert_eq!(added["outcome"], "applied");
    let status = t.status().borrow().clone();
    assert_eq!(
        (status.sample_rate, status.filter.as_str()),
        (1.0, "info,agent=debug")
    );
    assert!(status.sampling.always_sample_errors);

    let listed = livetel(&["overrides", &url], None);
    let id = added["id"].as_u64().unwrap();
    assert_eq!(json(&listed)["overrides"][0]["id"], id);

    let bad = livetel(&["override", &url, "--sample-rate", "7"], Some(TOKEN));
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("telemetry.sample_rate"));

    let removed = livetel(&["override", &url, "--remove", &id.to_string()], Some(TOKEN));
    assert!(removed.status.success());
    assert_eq!(t.status().borrow().sample_rate, 0.5);

    let nobody = livetel(&["status", "127.0.0.1:9"], None);
    assert_eq!(nobody.status.code(), Some(1));
}
