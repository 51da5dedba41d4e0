//! Secrets from a store of your own: implement `livetel::vault::SecretSource`, give it to
//! `Builder::secret_source`, and set `[telemetry.vault] source = "custom"`. livetel asks the store on every
//! reload that needs the secret; rotate it in the store, reload, and the exporter uses the new value (the
//! value never appears in status, errors or `Debug`).
//!
//! ```sh
//! cargo run --example custom_vault      # exports to http://127.0.0.1:4317; counted as dropped if none listens
//! ```

use std::collections::HashMap;
use std::error::Error;
use std::sync::{Arc, Mutex};

use livetel::vault::{SecretSource, SecretString};

/// Stands for a cloud secret manager or a keyring: secrets by name, rotated by the app.
#[derive(Default)]
struct SecretManager {
    secrets: Mutex<HashMap<String, String>>,
}

impl SecretManager {
    fn rotate(&self, key: &str, value: &str) {
        let mut secrets = self
            .secrets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        secrets.insert(key.to_owned(), value.to_owned());
    }
}

impl SecretSource for SecretManager {
    fn read(&self, key: &str) -> Result<Option<SecretString>, String> {
        let secrets = self
            .secrets
            .lock()
            .map_err(|_| "the secret manager's cache is poisoned".to_owned())?;
        Ok(secrets.get(key).cloned().map(SecretString::from))
    }

    fn describe(&self, key: &str) -> String {
        format!("secret manager entry {key}")
    }
}

const CONFIG: &str = r#"[telemetry]
backend = "otlp"
service_name = "custom-vault"

[telemetry.otlp]
endpoint = "http://127.0.0.1:4317"
headers_vault_key = "OTLP_AUTH"     # the secret's name in the store
headers_required = true             # no secret: the config is rejected, at this key's line

[telemetry.vault]
source = "custom"
"#;

fn main() -> Result<(), Box<dyn Error>> {
    let store = Arc::new(SecretManager::default());
    // The value's form: `name=value` pairs (percent-encoded) or a JSON object of strings.
    store.rotate("OTLP_AUTH", "authorization=Bearer%20first-token,x-tenant=agents");

    let path = std::env::temp_dir().join(format!("livetel-custom-vault-{}.toml", std::process::id()));
    std::fs::write(&path, CONFIG)?;
    let telemetry = livetel::Builder::new(&path)
        .secret_source(Arc::clone(&store))
        .init()?;
    tracing::info_span!("with.first.token").in_scope(|| tracing::info!("exported with the first token"));
    let otlp = telemetry
        .refresh_status()
        .sinks
        .iter()
        .find_map(|s| s.otlp.clone());
    println!("headers sent: {:?}", otlp.map(|o| o.header_names)); // names only, never values

    store.rotate("OTLP_AUTH", "authorization=Bearer%20second-token,x-tenant=agents");
    let outcome = telemetry.reload_trigger().reload_blocking(); // or SIGHUP, or a file edit
    println!("after rotation: {outcome:?}");
    tracing::info_span!("with.second.token").in_scope(|| tracing::info!("exported with the second token"));

    drop(telemetry);
    std::fs::remove_file(&path)?;
    Ok(())
}
