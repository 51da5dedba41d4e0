//! The control loop: every config change enters here, on livetel's own thread, and nowhere else. Start-up is
//! the first reload, run by the same code on the caller's thread before the loop starts. The loop's work besides
//! a reload itself (overrides, the admin endpoint, ticks, shutdown) is in [`housekeeping`].

mod housekeeping;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::activation::{Activation, Committed};
use super::admin_slot;
use super::command::{Command, ReloadOutcome, Source};
use super::inputs::admin::AdminServer;
use super::inputs::secret_files::SecretWatch;
use super::overrides::{OVERRIDE_LABEL, Overrides};
use super::plan::{self, BuildContext};
use super::report::View;
use super::retire::Retirer;
use super::secrets;
use crate::config::{self, ConfigDiff, TelemetryConfig, env::EnvOverrides};
use crate::counters::Counters;
use crate::error::{ConfigError, ConfigErrorKind};
use crate::sinks::SinkContext;
use crate::status::{LastError, ReloadOutcomeKind, TelemetryStatus, Trigger};
use crate::traces::Placement;
use crate::traces::generation::Generation;
use crate::traces::live::Live;
use crate::vault::SecretHeaders;

/// How often draining generations are checked while any exist.
const RETIRE_TICK: Duration = Duration::from_millis(20);
/// How long after a callsite was answered outside a rebuild the interest cache is rebuilt: time for
/// tracing-core to store that answer first (it does so right after asking), so the rebuild is the last word.
const SETTLE_DELAY: Duration = Duration::from_millis(20);

/// How errors in a config given through a handle name their origin.
const HANDLE_LABEL: &str = "<handle>";

/// Status facts about a config being reloaded, held back until it is applied or found unchanged.
struct Pending {
    env_overrides: Vec<(&'static str, &'static str)>,
    restart_required: Vec<&'static str>,
    warnings: Vec<String>,
}

/// The applied config and what it was built from.
struct Applied {
    config: Arc<TelemetryConfig>,
    /// The secret headers the running generation was built with.
    headers: Option<SecretHeaders>,
    /// The raw bytes' hash of the source it came from.
    content_hash: u64,
    /// The overrides' version it was built under ([`Overrides::version`]).
    overrides: u64,
}

/// What a `Control` is made of; everything else it builds itself.
pub(crate) struct Parts {
    pub(crate) config_path: PathBuf,
    pub(crate) session_id: String,
    pub(crate) env: EnvOverrides,
    pub(crate) counters: Arc<Counters>,
    /// The control loop's own command channel, for sinks and the layer to ask for status or a settle.
    pub(crate) commands: mpsc::UnboundedSender<Command>,
    /// Raw file events (the secret's file), debounced into reloads.
    pub(crate) raw_events: mpsc::UnboundedSender<()>,
    pub(crate) placement: Placement,
    /// The console's default when the config leaves `console.enabled` unset.
    pub(crate) console_on_by_default: bool,
    /// The signals besides traces, console and logs ([`super::signal::builtin`]).
    pub(crate) signals: Vec<Arc<dyn super::signal::Signal>>,
    /// The backends that can be built ([`crate::sinks::REGISTRY`]).
    pub(crate) sink_registry: &'static [&'static dyn crate::sinks::SinkKind],
    /// The admin endpoint's address while the config sets none ([`crate::Builder::admin_listen`]).
    pub(crate) admin_listen: Option<String>,
    /// The user's secret source for `[telemetry.vault] source = "custom"` ([`crate::Builder::secret_source`]).
    pub(crate) secret_source: crate::vault::CustomSource,
}

pub(crate) struct Control {
    cx: BuildContext,
    live: Arc<Live>,
    /// `None` until the first config is applied.
    running: Option<Applied>,
    /// The first applied config: restart-only fields keep its values.
    startup: Option<Arc<TelemetryConfig>>,
    env: EnvOverrides,
    retirer: Retirer,
    /// Created by the first publication.
    status: Option<watch::Sender<Arc<TelemetryStatus>>>,
    pub(crate) view: View,
    debounce_ms: Arc<AtomicU64>,
    secrets: SecretWatch,
    /// When to rebuild the interest cache for callsites answered outside a rebuild ([`Command::Settle`]).
    settle_at: Option<Instant>,
    /// The last config read or given that took effect, before the environment and the overrides.
    base: Option<TelemetryConfig>,
    /// Temporary overrides laid over `base`.
    overrides: Overrides,
    /// The admin endpoint, while `[telemetry.admin] listen` is set.
    admin: Option<AdminServer>,
    /// The loop's own command channel, for the admin endpoint's requests.
    commands: mpsc::UnboundedSender<Command>,
    /// The admin endpoint's address while the config sets none.
    admin_listen: Option<String>,
    secret_source: crate::vault::CustomSource,
}

impl Control {
    /// A control with nothing applied yet: its generation 0 records nothing until [`Control::start`].
    pub(crate) fn new(parts: Parts) -> Self {
        let send = |tx: &mpsc::UnboundedSender<Command>, make: fn() -> Command| {
            let tx = tx.clone();
            Arc::new(move || drop(tx.send(make()))) as Arc<dyn Fn() + Send + Sync>
        };
        let on_change = send(&parts.commands, || Command::SinkChanged);
        let on_unsettled = send(&parts.commands, || Command::Settle);
        let off = Arc::new(Generation::off(0, Arc::clone(&parts.counters)));
        Control {
            cx: BuildContext {
                config_path: parts.config_path,
                session_id: parts.session_id,
                sinks: SinkContext::new(parts.counters, Arc::clone(&on_change), parts.sink_registry),
                console_on_by_default: parts.console_on_by_default,
                signals: parts.signals,
            },
            live: Arc::new(Live::new(off, on_change, on_unsettled)),
            running: None,
            startup: None,
            env: parts.env,
            retirer: Retirer::default(),
            status: None,
            view: View::new(parts.placement),
            debounce_ms: Arc::new(AtomicU64::new(100)),
            secrets: SecretWatch::new(parts.raw_events),
            settle_at: None,
            base: None,
            overrides: Overrides::default(),
            admin: None,
            commands: parts.commands,
            admin_listen: parts.admin_listen,
            secret_source: parts.secret_source,
        }
    }

    /// Applies the config file for the first time, through the same path as every later reload, and returns
    /// a receiver of status.
    ///
    /// # Errors
    /// Why the file cannot take effect: at start-up there is no last good config to keep.
    pub(crate) fn start(&mut self) -> Result<watch::Receiver<Arc<TelemetryStatus>>, ConfigError> {
        // The caller's thread builds the first exporters and writers: nothing made meanwhile is recorded.
        let outcome = {
            let _own = crate::threads::untraced_while();
            self.reload(Trigger::Init, Source::File)
        };
        if let ReloadOutcome::Rejected { error } = outcome {
            return Err(Arc::unwrap_or_clone(error));
        }
        // Applied: its publication created the channel.
        self.status.as_ref().map(watch::Sender::subscribe).ok_or_else(|| {
            let message = "no config was applied at start-up".to_owned();
            ConfigError::unplaced(&self.cx.config_path, ConfigErrorKind::Build { message })
        })
    }

    /// The state the layer reads.
    pub(crate) fn live(&self) -> Arc<Live> {
        Arc::clone(&self.live)
    }

    /// The debounce delay of the running config, shared with the file watcher's debounce.
    pub(crate) fn debounce_ms(&self) -> Arc<AtomicU64> {
        Arc::clone(&self.debounce_ms)
    }

    /// True when the running config asks for the file to be watched.
    pub(crate) fn watches_file(&self) -> bool {
        self.running.as_ref().is_some_and(|r| r.config.watch)
    }

    /// Runs until shutdown. Everything here may block briefly (file I/O, joining a writer); none of it runs on a
    /// thread that traces.
    pub(crate) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        // One interval for the loop's whole life: a sleep created per iteration would never fire while
        // commands keep arriving (a reload storm), and retired generations would pile up meanwhile.
        let mut tick = tokio::time::interval(RETIRE_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                cmd = commands.recv() => match cmd {
                    Some(Command::Reload { trigger, source, reply }) => {
                        let outcome = self.reload(trigger, source);
                        if let Some(reply) = reply {
                            let _ = reply.send(outcome);
                        }
                    }
                    Some(Command::SinkChanged) => self.publish(),
                    Some(Command::Settle) => {
                        self.settle_at.get_or_insert_with(|| Instant::now() + SETTLE_DELAY);
                    }
                    Some(Command::Refresh { reply }) => {
                        self.publish();
                        let _ = reply.send(());
                    }
                    Some(Command::Override { change, reply }) => {
                        let _ = reply.send(self.change_override(change));
                    }
                    Some(Command::Shutdown { drain, reply }) => {
                        self.shutdown(drain);
                        let _ = reply.send(());
                        return;
                    }
                    None => {
                        self.shutdown(Duration::ZERO);
                        return;
                    }
                },
                _ = tick.tick(), if !self.retirer.is_idle() || self.settle_at.is_some() || self.overrides.any() => {
                    self.tick()
                }
            }
        }
    }

    /// read → validate → (unchanged?) → prepare → activate. Any failure leaves the running config untouched.
    pub(crate) fn reload(&mut self, trigger: Trigger, source: Source) -> ReloadOutcome {
        // What errors name: the file, or `<handle>` for a config given in code.
        let origin = match source {
            Source::File => self.cx.config_path.clone(),
            Source::Toml(_) | Source::Modify(_) => PathBuf::from(HANDLE_LABEL),
            Source::Base => PathBuf::from(OVERRIDE_LABEL),
        };
        let loaded = match self.read(source) {
            Ok(l) => l,
            Err(e) => return self.reject(e, trigger),
        };
        let mut next = loaded.config.clone();
        if next.admin.listen.is_none() {
            next.admin.listen.clone_from(&self.admin_listen);
        }
        next.vault.custom.clone_from(&self.secret_source);
        let env_overrides = self.env.apply(&mut next);
        let mut next = match self.overrides.lay_over(next) {
            Ok(next) => next,
            Err(e) => return self.reject(e, trigger),
        };
        // What status will say about the new config: committed only if it is applied or unchanged, so a
        // rejected file never changes what status says about the running one.
        let mut pending = Pending {
            env_overrides,
            restart_required: Vec::new(),
            warnings: loaded
                .warnings
                .iter()
                .chain(&self.env.warnings)
                .cloned()
                .collect(),
        };
        // Compared once, after the overrides: every "did this change" question below reads it.
        let mut diff = ConfigDiff::between(self.running.as_ref().map(|r| &*r.config), &next);
        if let Some(startup) = &self.startup {
            pending.restart_required = diff.split_restart_required();
            next.watch = startup.watch;
            next.metrics.buckets.clone_from(&startup.metrics.buckets);
        }
        let secret_target = secrets::watch_target(&next);
        let resolved = match secrets::resolve(&next, &loaded, &origin) {
            Ok(r) => r,
            Err(e) => {
                // Watch where the secret should appear, so that creating or fixing it reloads by itself.
                self.view.warnings.extend(self.secrets.follow(secret_target));
                return self.reject(e, trigger);
            }
        };
        pending.warnings.extend(resolved.warnings);
        let admin = match admin_slot::plan(self.admin.as_ref(), &next, &loaded, &origin) {
            Ok(plan) => plan,
            Err(e) => return self.reject(e, trigger),
        };
        let running_headers = self.running.as_ref().and_then(|r| r.headers.as_ref());
        let diff = diff.with_headers_changed(resolved.headers.as_ref() != running_headers);
        if let Some(generation) = self.unchanged(&loaded, &next, &diff) {
            if let Some(r) = self.running.as_mut() {
                r.content_hash = loaded.content_hash;
                r.overrides = self.overrides.version();
            }
            self.base = Some(loaded.config.clone());
            self.install_admin(admin);
            self.commit(pending, secret_target);
            self.view.last_error = None;
            self.view.reloads.unchanged += 1;
            self.cx.sinks.counters.reloads.unchanged.add(1);
            self.view.not_applied(ReloadOutcomeKind::Unchanged, trigger);
            self.publish();
            return ReloadOutcome::Unchanged { generation };
        }
        let changed = self.changed_for_status(&diff, &next, resolved.headers.is_some());
        let current = self.live.current_full();
        let running = self.running.as_ref().map(|_| plan::Running {
            generation: &current,
            diff: &diff,
        });
        let id = self.view.generation + 1;
        match plan::prepare(&self.cx, running, next, resolved.headers, id) {
            Ok(activation) => {
                self.base = Some(loaded.config.clone());
                self.commit(pending, secret_target);
                let generation = self.activate(activation, loaded.content_hash, trigger, changed);
                self.install_admin(admin);
                self.publish();
                ReloadOutcome::Applied { generation }
            }
            Err(mut e) => {
                if let (None, Some(key)) = (e.position, &e.key) {
                    e.position = loaded.locate(key);
                }
                e.path = origin;
                self.reject(e, trigger)
            }
        }
    }

    /// The running generation, when `next` (with its secret: `diff`) is what is running already.
    fn unchanged(
        &self,
        loaded: &config::load::Loaded,
        next: &TelemetryConfig,
        diff: &ConfigDiff,
    ) -> Option<u64> {
        let running = self.running.as_ref()?;
        // A secret can change while the file does not: the byte-hash shortcut is only for configs without one.
        let content_same = loaded.content_hash == running.content_hash
            && running.overrides == self.overrides.version()
            && self.view.last_error.is_none()
            && next.otlp.headers_vault_key.is_none();
        let same = content_same || diff.is_empty();
        same.then_some(self.view.generation)
    }

    /// The keys status lists for an applied reload: the diff's, or at start-up what `next` sets away from the
    /// defaults (`has_headers`: its secret resolved to headers).
    fn changed_for_status(
        &self,
        diff: &ConfigDiff,
        next: &TelemetryConfig,
        has_headers: bool,
    ) -> Vec<String> {
        if self.running.is_some() {
            return diff.changed().to_vec();
        }
        let from_defaults = ConfigDiff::between(Some(&TelemetryConfig::default()), next);
        from_defaults.with_headers_changed(has_headers).changed().to_vec()
    }

    /// Reads and validates the config a reload asks for.
    fn read(&self, source: Source) -> Result<config::load::Loaded, ConfigError> {
        let label = Path::new(HANDLE_LABEL);
        match source {
            Source::File => config::load_file(&self.cx.config_path),
            Source::Toml(text) => config::load::from_text(label, text),
            Source::Base => config::load::from_config(label, self.base.clone().unwrap_or_default()),
            Source::Modify(change) => {
                let mut next = self.base.clone().unwrap_or_default();
                // The caller's closure runs here, on the control thread: a panic in it must not end the loop.
                let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| change(&mut next)));
                if applied.is_err() {
                    let message =
                        "the change given to `Handle::modify` panicked; nothing was applied".to_owned();
                    return Err(ConfigError::unplaced(label, ConfigErrorKind::Build { message }));
                }
                config::load::from_config(label, next)
            }
        }
    }

    /// Takes what status says about a config that is now running, and follows its secret's file.
    fn commit(&mut self, pending: Pending, secret_target: Option<(PathBuf, std::ffi::OsString)>) {
        self.view.env_overrides = pending.env_overrides;
        self.view.restart_required = pending.restart_required;
        self.view.warnings = pending.warnings;
        self.view.warnings.extend(self.secrets.follow(secret_target));
    }

    /// Commits a prepared activation. Cannot fail: everything fallible happened in prepare.
    fn activate(
        &mut self,
        activation: Activation,
        content_hash: u64,
        trigger: Trigger,
        changed: Vec<String>,
    ) -> u64 {
        let Committed {
            generation,
            config,
            headers,
        } = activation.commit(&self.live.current_full());
        self.debounce_ms
            .store(config.reload_debounce_ms, Ordering::Relaxed);
        self.view.generation = generation.id;
        match &self.running {
            // Nothing ran before: the placeholder generation recorded nothing and holds no span.
            None => self.live.install_first(generation),
            Some(old) => {
                let drain = Duration::from_millis(old.config.drain_timeout_ms);
                self.retirer.hand_over(&self.live, generation, drain);
            }
        }
        self.startup.get_or_insert_with(|| Arc::clone(&config));
        self.running = Some(Applied {
            config,
            headers,
            content_hash,
            overrides: self.overrides.version(),
        });
        self.view.applied(trigger, changed);
        // Status counts reloads since start-up: the start itself is not one.
        if trigger != Trigger::Init {
            self.view.reloads.applied += 1;
            self.cx.sinks.counters.reloads.applied.add(1);
        }
        self.publish();
        self.view.generation
    }

    fn reject(&mut self, e: ConfigError, trigger: Trigger) -> ReloadOutcome {
        self.view.last_error = Some(LastError::new(&e, trigger));
        self.view.reloads.rejected += 1;
        self.cx.sinks.counters.reloads.rejected.add(1);
        self.view.not_applied(ReloadOutcomeKind::Rejected, trigger);
        self.publish();
        ReloadOutcome::Rejected { error: Arc::new(e) }
    }

    /// Renders status and publishes it (the first call creates the channel).
    pub(crate) fn publish(&mut self) {
        let Some(running) = &self.running else {
            // Nothing applied yet (a rejected first config): there is no status to show.
            return;
        };
        self.view.overrides = self.overrides.status();
        self.view.admin = self.admin.as_ref().map(AdminServer::status);
        let s = Arc::new(
            self.view
                .render(&running.config, &self.live, &self.retirer, &self.cx),
        );
        match &self.status {
            Some(tx) => {
                tx.send_replace(s);
            }
            None => self.status = Some(watch::channel(s).0),
        }
    }
}
