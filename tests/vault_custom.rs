//! `[telemetry.vault] source = "custom"`: secrets from a `SecretSource` of the user's own reach the collector,
//! a secret rotated in that store is used after a reload, and a config asking for a custom source that was never
//! given is rejected with a sentence that says how to give one.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::SeqCst};
use std::sync::{Arc, Mutex};

use common::Fixture;
use common::receiver::Receiver;
use common::vault::otlp;
use livetel::ReloadOutcome;
use livetel::vault::{SecretSource, SecretString};

/// A secret store of the app's own: a map it can rotate, and how often livetel asked.
#[derive(Default)]
struct Store {
    secrets: Mutex<HashMap<String, String>>,
    reads: AtomicU64,
}

impl Store {
    fn set(&self, key: &str, value: &str) {
        self.secrets
            .lock()
            .unwrap()
            .insert(key.to_owned(), value.to_owned());
    }
}

impl SecretSource for Store {
    fn read(&self, key: &str) -> Result<Option<SecretString>, String> {
        self.reads.fetch_add(1, SeqCst);
        Ok(self
            .secrets
            .lock()
            .unwrap()
            .get(key)
            .cloned()
            .map(SecretString::from))
    }

    fn describe(&self, key: &str) -> String {
        format!("test store entry {key}")
    }
}

fn one_span(t: &livetel::Telemetry, name: &'static str) {
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        tracing::info_span!("custom", which = name).in_scope(|| {})
    });
}

#[test]
fn custom_source_headers_reach_the_collector_and_rotate_on_reload() {
    let rx = Receiver::start();
    let store = Arc::new(Store::default());
    store.set("OTLP_AUTH", "authorization=Bearer%20first-c4nary");
    let f = Fixture::new(&otlp(
        "grpc",
        &rx.grpc_endpoint(),
        "[telemetry.vault]\nsource = \"custom\"",
    ));
    let t = f
        .builder()
        .secret_source(Arc::clone(&store))
        .build()
        .expect("livetel starts");
    let status = t.refresh_status();
    assert_eq!(
        status.sinks[0].otlp.as_ref().unwrap().header_names,
        ["authorization"]
    );
    assert!(!serde_json::to_string(&*status).unwrap().contains("c4nary"));
    one_span(&t, "first");
    rx.wait_spans(1);

    store.set("OTLP_AUTH", "authorization=Bearer%20second-c4nary");
    let outcome = t.reload_trigger().reload_blocking();
    assert!(matches!(outcome, ReloadOutcome::Applied { .. }), "{outcome:?}");
    one_span(&t, "second");
    drop(t);

    let spans = rx.wait_spans(2);
    let auth_of = |which: &str| {
        let span = spans
            .iter()
            .find(|s| s["attributes"]["which"] == which)
            .unwrap_or_else(|| panic!("span {which} not received: {spans:?}"));
        span["headers"]["authorization"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(auth_of("first"), "Bearer first-c4nary");
    assert_eq!(auth_of("second"), "Bearer second-c4nary");
    assert!(
        store.reads.load(SeqCst) >= 2,
        "the store is read at start and at the reload"
    );
}

#[test]
fn custom_source_missing_is_rejected_with_how_to_give_one() {
    let rx = Receiver::start();
    let f = Fixture::new(&otlp(
        "grpc",
        &rx.grpc_endpoint(),
        "[telemetry.vault]\nsource = \"custom\"",
    ));
    let err = f.builder().build().unwrap_err().to_string();
    assert!(err.contains("secret_source"), "{err}");
    assert!(err.contains("headers_vault_key"), "{err}");
}

#[test]
fn a_required_secret_the_store_lacks_names_the_store() {
    let rx = Receiver::start();
    let f = Fixture::new(&otlp(
        "grpc",
        &rx.grpc_endpoint(),
        "[telemetry.vault]\nsource = \"custom\"",
    ));
    let err = f
        .builder()
        .secret_source(Store::default())
        .build()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("required but missing (test store entry OTLP_AUTH)"),
        "{err}"
    );
}
