//! The control loop: every config change enters here, on livetel's own thread, and nowhere else.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};

use crate::config::{self, env::EnvOverrides, TelemetryConfig};
use crate::error::{ConfigError, ConfigErrorKind};
use crate::generation::Generation;
use crate::reload::live::Live;
use crate::reload::prepare::{self, BuildContext, Prepared};
use crate::reload::retire::Retirer;
use crate::reload::secrets::{self, SecretWatch};
use crate::reload::trigger::ReloadOutcome;
use crate::status::{self, LastError, Trigger};
use crate::vault::{self, SecretHeaders};

/// How often draining generations are checked while any exist.
const RETIRE_TICK: Duration = Duration::from_millis(20);
/// How long after a callsite was answered outside a rebuild the interest cache is rebuilt: time for
/// tracing-core to store that answer first (it does so right after asking), so the rebuild is the last word.
const SETTLE_DELAY: Duration = Duration::from_millis(20);

pub(crate) enum Command {
    Reload {
        trigger: Trigger,
        source: Source,
        reply: Option<oneshot::Sender<ReloadOutcome>>,
    },
    /// A sink's state changed (an I/O error): publish status again.
    SinkChanged,
    /// A callsite was answered `sometimes` outside livetel's rebuild: rebuild soon to cache its exact interest.
    Settle,
    /// Publish status with fresh counters, then answer.
    Refresh { reply: std::sync::mpsc::Sender<()> },
    Shutdown {
        drain: Duration,
        reply: std::sync::mpsc::Sender<()>,
    },
}

/// Where the config of a reload comes from.
pub(crate) enum Source {
    /// The config file, read again.
    File,
    /// A config document held in memory ([`crate::reload::Handle::apply_toml`]).
    Toml(String),
    /// A change to the running config ([`crate::reload::Handle::modify`]).
    Modify(Box<dyn FnOnce(&mut TelemetryConfig) + Send>),
}

/// How errors in a config given through a handle name their origin.
const HANDLE_LABEL: &str = "<handle>";

/// Status facts about a config being reloaded, held back until it is applied or found unchanged.
struct Pending {
    env_overrides: Vec<(&'static str, &'static str)>,
    restart_required: Vec<&'static str>,
    warnings: Vec<String>,
}

/// `true` while `include_args` is on in the current generation; read by `#[livetel::instrument]`.
pub(crate) static INCLUDE_ARGS: AtomicBool = AtomicBool::new(false);

pub(crate) struct Control {
    pub(crate) cx: BuildContext,
    pub(crate) live: Arc<Live>,
    pub(crate) running: Arc<TelemetryConfig>,
    /// The config at start-up: restart-only fields keep these values.
    pub(crate) startup: Arc<TelemetryConfig>,
    pub(crate) env: EnvOverrides,
    pub(crate) retirer: Retirer,
    pub(crate) status: watch::Sender<Arc<status::TelemetryStatus>>,
    pub(crate) view: super::view::View,
    pub(crate) last_hash: u64,
    pub(crate) debounce_ms: Arc<AtomicU64>,
    /// The secret headers the running generation was built with.
    pub(crate) running_headers: Option<SecretHeaders>,
    pub(crate) secrets: SecretWatch,
    /// When to rebuild the interest cache for callsites answered outside a rebuild ([`Command::Settle`]).
    pub(crate) settle_at: Option<Instant>,
}

impl Control {
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
                _ = tick.tick(), if !self.retirer.is_idle() || self.settle_at.is_some() => self.tick(),
            }
        }
    }

    /// read → validate → (unchanged?) → prepare → activate. Any failure leaves the running config untouched.
    pub(crate) fn reload(&mut self, trigger: Trigger, source: Source) -> ReloadOutcome {
        // What errors name: the file, or `<handle>` for a config given in code.
        let origin = match source {
            Source::File => self.cx.config_path.clone(),
            Source::Toml(_) | Source::Modify(_) => std::path::PathBuf::from(HANDLE_LABEL),
        };
        let loaded = match self.read(source) {
            Ok(l) => l,
            Err(e) => return self.reject(e, trigger),
        };
        let mut next = loaded.config.clone();
        // What status will say about the new config: committed only if it is applied or unchanged, so a
        // rejected file never changes what status says about the running one.
        let mut pending = Pending {
            env_overrides: self.env.apply(&mut next),
            restart_required: self.startup.restart_required_changes(&next),
            warnings: loaded.warnings.clone(),
        };
        next.watch = self.startup.watch;
        let secret_target = vault::watch_target(&next);
        let resolved = match secrets::resolve(&next, &loaded, &origin) {
            Ok(r) => r,
            Err(e) => {
                // Watch where the secret should appear, so that creating or fixing it reloads by itself.
                self.view.warnings.extend(self.secrets.follow(secret_target));
                return self.reject(e, trigger);
            }
        };
        pending.warnings.extend(resolved.warnings);
        // A secret can change while the file does not: the byte-hash shortcut is only for configs without one.
        let content_same = loaded.content_hash == self.last_hash
            && self.view.last_error.is_none()
            && next.otlp_headers_vault_key.is_none();
        if content_same || (next == *self.running && resolved.headers == self.running_headers) {
            self.last_hash = loaded.content_hash;
            self.commit(pending, secret_target);
            self.view.last_error = None;
            self.view.reloads.unchanged += 1;
            self.publish();
            return ReloadOutcome::Unchanged {
                generation: self.view.generation,
            };
        }
        let old = Some((&*self.running, &**self.live.current()));
        let headers = resolved.headers.clone();
        match prepare::prepare(&self.cx, old, next, headers, self.view.generation + 1) {
            Ok(prepared) => {
                self.last_hash = loaded.content_hash;
                self.running_headers = resolved.headers;
                self.commit(pending, secret_target);
                let generation = self.activate(prepared, trigger);
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

    /// Reads and validates the config a reload asks for.
    fn read(&self, source: Source) -> Result<config::load::Loaded, ConfigError> {
        let label = std::path::Path::new(HANDLE_LABEL);
        match source {
            Source::File => config::load_file(&self.cx.config_path),
            Source::Toml(text) => config::load::from_text(label, text),
            Source::Modify(change) => {
                let mut next = (*self.running).clone();
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
    fn commit(&mut self, pending: Pending, secret_target: Option<(std::path::PathBuf, std::ffi::OsString)>) {
        self.view.env_overrides = pending.env_overrides;
        self.view.restart_required = pending.restart_required;
        self.view.warnings = pending.warnings;
        self.view.warnings.extend(self.secrets.follow(secret_target));
    }

    /// Swaps the prepared generation in. Cannot fail: everything fallible happened in prepare.
    pub(crate) fn activate(&mut self, prepared: Prepared, trigger: Trigger) -> u64 {
        let Prepared { gen, config } = prepared;
        let id = gen.id;
        INCLUDE_ARGS.store(gen.include_args, Ordering::Relaxed);
        self.debounce_ms
            .store(config.reload_debounce_ms, Ordering::Relaxed);
        let drain = Duration::from_millis(self.running.drain_timeout_ms);
        self.retirer.hand_over(&self.live, gen, drain);
        self.running = config;
        self.view.applied(id, trigger);
        self.view.reloads.applied += 1;
        self.publish();
        id
    }

    fn reject(&mut self, e: ConfigError, trigger: Trigger) -> ReloadOutcome {
        self.view.last_error = Some(LastError::new(&e, trigger));
        self.view.reloads.rejected += 1;
        self.publish();
        ReloadOutcome::Rejected { error: Arc::new(e) }
    }

    fn tick(&mut self) {
        let now = Instant::now();
        if self.settle_at.is_some_and(|at| at <= now) {
            self.settle_at = None;
            if self.live.take_unsettled() {
                self.live.rebuild_interest();
            }
        }
        let report = self.retirer.tick(&self.live, now);
        if !report.retired.is_empty() {
            self.publish();
        }
    }

    fn shutdown(&mut self, drain: Duration) {
        let off = Arc::new(Generation::off(
            self.view.generation,
            Arc::clone(&self.cx.counters),
        ));
        self.retirer.hand_over(&self.live, off, drain);
        let deadline = Instant::now()
            .checked_add(drain)
            .unwrap_or_else(super::retire::far_future);
        while !self.retirer.is_idle() && Instant::now() < deadline {
            self.retirer.tick(&self.live, Instant::now());
            std::thread::sleep(Duration::from_millis(5));
        }
        self.retirer.close_all(&self.live, Duration::from_secs(5));
        self.live.stop();
        self.wait_pending_exports(Instant::now() + Duration::from_secs(6));
        self.view.trigger = Trigger::Shutdown;
        self.publish();
    }

    /// Waits for retired OTLP workers to export what they hold and shut their exporters down.
    fn wait_pending_exports(&self, deadline: Instant) {
        let pending = self
            .cx
            .pending
            .lock()
            .map(|mut p| std::mem::take(&mut *p))
            .unwrap_or_default();
        for done in pending {
            let _ = done.recv_timeout(deadline.saturating_duration_since(Instant::now()));
        }
    }

    pub(crate) fn publish(&self) {
        let s = self
            .view
            .render(&self.running, &self.live, &self.retirer, &self.cx);
        self.status.send_replace(Arc::new(s));
    }
}
