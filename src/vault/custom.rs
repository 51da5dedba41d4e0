//! A secret source of the user's own: `[telemetry.vault] source = "custom"` reads secrets through the
//! [`SecretSource`] given to [`crate::Builder::secret_source`].

use std::fmt;
use std::sync::Arc;

use secrecy::SecretString;

/// Where secrets come from when they live somewhere livetel does not read itself: a cloud secret manager, the OS
/// keyring, a cache your app already keeps.
///
/// livetel asks for a secret by its name (`[telemetry.otlp] headers_vault_key`, `[telemetry.admin]
/// token_vault_key`) on every reload that needs it, on its own control thread; after rotating a secret in your
/// store, call [`crate::ReloadTrigger::reload`] (or send SIGHUP) and the exporters are rebuilt with the new value
/// if it changed. Keep `read` quick: a reload waits for it.
///
/// # Examples
/// ```no_run
/// use livetel::vault::{SecretSource, SecretString};
///
/// struct FromMemory(std::collections::HashMap<String, String>);
///
/// impl SecretSource for FromMemory {
///     fn read(&self, key: &str) -> Result<Option<SecretString>, String> {
///         Ok(self.0.get(key).map(|v| SecretString::from(v.clone())))
///     }
/// }
///
/// // config: [telemetry.vault] source = "custom"
/// let source = FromMemory([("OTLP_AUTH".into(), "authorization=Bearer t0ken".into())].into());
/// let telemetry = livetel::Builder::new("config/telemetry.toml").secret_source(source).init()?;
/// # Ok::<(), livetel::InitError>(())
/// ```
pub trait SecretSource: Send + Sync + 'static {
    /// The secret named `key` as it is now; `Ok(None)` when there is none (an error only if the config says
    /// the secret is required).
    ///
    /// # Errors
    /// A sentence saying why the secret cannot be read (unreachable store, no permission). Never put the
    /// secret's value in it: it is shown in status.
    fn read(&self, key: &str) -> Result<Option<SecretString>, String>;

    /// Where the secret `key` lives, in words, for messages ("secret `prod/otlp` in the secret manager").
    fn describe(&self, key: &str) -> String {
        format!("entry {key} of the custom secret source")
    }
}

/// A shared source: keep one `Arc` to rotate secrets in it, hand a clone to the builder.
impl<T: SecretSource + ?Sized> SecretSource for Arc<T> {
    fn read(&self, key: &str) -> Result<Option<SecretString>, String> {
        (**self).read(key)
    }

    fn describe(&self, key: &str) -> String {
        (**self).describe(key)
    }
}

/// The source given to the builder, carried in [`super::VaultConfig`] (never serialized). Two are equal when
/// they are the same source, so handing the same one to every reload is no change.
#[derive(Clone, Default)]
pub(crate) struct CustomSource(Option<Arc<dyn SecretSource>>);

impl CustomSource {
    pub(crate) fn new(source: Arc<dyn SecretSource>) -> Self {
        CustomSource(Some(source))
    }

    pub(crate) fn get(&self) -> Option<&dyn SecretSource> {
        self.0.as_deref()
    }
}

impl PartialEq for CustomSource {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        }
    }
}

impl Eq for CustomSource {}

impl fmt::Debug for CustomSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "CustomSource(set)"
        } else {
            "CustomSource(none)"
        })
    }
}
