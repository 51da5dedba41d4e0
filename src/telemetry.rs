//! Start-up: [`Builder`] and the [`Telemetry`] guard.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tracing::Dispatch;
use tracing_core::Subscriber;
use tracing_subscriber::Registry;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;

use crate::config::env::EnvOverrides;
use crate::counters::{Counters, SpanCounts};
use crate::error::InitError;
use crate::reload::command::Command;
use crate::reload::control::{Control, Parts};
use crate::reload::inputs::{signal, watcher};
use crate::reload::{Handle, ReloadTrigger};
use crate::status::TelemetryStatus;
use crate::traces::live::Live;
use crate::traces::{LiveLayer, Placement, Recorder};

/// Configures livetel before it starts. [`crate::init`] is `Builder::new(path).init()`.
///
/// ```no_run
/// let telemetry = livetel::Builder::new("config/telemetry.toml")
///     .session_id("conversation-42")
///     .shutdown_drain(std::time::Duration::from_millis(500))
///     .init()?;
/// # Ok::<(), livetel::InitError>(())
/// ```
#[derive(Debug)]
pub struct Builder {
    path: PathBuf,
    session_id: Option<String>,
    env: Option<EnvOverrides>,
    sighup: bool,
    shutdown_drain: Duration,
    admin_listen: Option<String>,
    secret_source: crate::vault::CustomSource,
}

impl Builder {
    /// livetel for the config file at `path`.
    pub fn new(path: impl AsRef<Path>) -> Self {
        Builder {
            path: path.as_ref().to_path_buf(),
            session_id: None,
            env: None,
            sighup: true,
            shutdown_drain: Duration::from_secs(1),
            admin_listen: None,
            secret_source: crate::vault::CustomSource::default(),
        }
    }

    /// The session id that starts every trace file name (default: derived from the time and process id).
    pub fn session_id(mut self, id: impl Into<String>) -> Self {
        self.session_id = Some(id.into());
        self
    }

    /// Uses these `OTEL_*` overrides instead of reading the process environment.
    pub fn env_overrides(mut self, env: EnvOverrides) -> Self {
        self.env = Some(env);
        self
    }

    /// Serves the admin endpoint on `listen` (`"127.0.0.1:9465"`) while the file's `[telemetry.admin]` sets no
    /// `listen` of its own: for a command-line flag. The rules of the file's key apply (a non-loopback address
    /// needs `token_vault_key`).
    pub fn admin_listen(mut self, listen: impl Into<String>) -> Self {
        self.admin_listen = Some(listen.into());
        self
    }

    /// Reads secrets through `source` where the config says `[telemetry.vault] source = "custom"`: a secret
    /// manager or keyring of your own (see [`crate::vault::SecretSource`]). The same source serves every reload.
    pub fn secret_source(mut self, source: impl crate::vault::SecretSource) -> Self {
        self.secret_source = crate::vault::CustomSource::new(std::sync::Arc::new(source));
        self
    }

    /// Reload on SIGHUP (default `true`, unix only).
    pub fn reload_on_sighup(mut self, on: bool) -> Self {
        self.sighup = on;
        self
    }

    /// How long shutdown waits for open spans to close before it finalizes (default 1 s).
    pub fn shutdown_drain(mut self, drain: Duration) -> Self {
        // Longer waits than an hour are taken as an hour: `Instant` arithmetic must not overflow.
        self.shutdown_drain = drain.min(Duration::from_secs(3600));
        self
    }

    /// Starts livetel and installs it as the global default subscriber.
    ///
    /// # Errors
    /// [`InitError::Config`] when the file is missing or invalid (with file, line, column and key),
    /// [`InitError::SubscriberAlreadySet`], or an error starting the watcher or the control thread.
    pub fn init(self) -> Result<Telemetry, InitError> {
        let (telemetry, dispatch) = self.build_alone(true)?;
        tracing::dispatcher::set_global_default(dispatch).map_err(|_| InitError::SubscriberAlreadySet)?;
        Ok(telemetry)
    }

    /// Starts livetel as a subscriber of its own without installing it globally: use [`Telemetry::dispatch`]
    /// with `tracing::dispatcher::with_default` (tests, or several subscribers in one process).
    ///
    /// # Errors
    /// As [`Builder::init`], except [`InitError::SubscriberAlreadySet`].
    pub fn build(self) -> Result<Telemetry, InitError> {
        self.build_alone(false).map(|(telemetry, _)| telemetry)
    }

    /// livetel's own subscriber: a `Registry` and the recorder, whose decisions are the subscriber's. The
    /// console is on unless the config says otherwise when `console_on` (with `init`).
    fn build_alone(self, console_on: bool) -> Result<(Telemetry, Dispatch), InitError> {
        let (live, mut telemetry) = self.start(Placement::Alone, console_on)?;
        let recorder = Recorder::new(live, Placement::Alone);
        // Registering the dispatcher hands it to the layer (`on_register_dispatch`), which reloads rebuild in.
        let dispatch = Dispatch::new(Registry::default().with(recorder));
        telemetry.dispatch = Some(dispatch.clone());
        Ok((telemetry, dispatch))
    }

    /// Starts livetel as a layer for your own subscriber, beside your `fmt` layer and the rest of your stack.
    /// Nothing is recorded until the layer is added to a subscriber; status says so meanwhile. Everything live
    /// works as with [`Builder::init`]: watcher, SIGHUP, reload trigger and handle, status, drain, shutdown.
    ///
    /// ```no_run
    /// use tracing_subscriber::filter::LevelFilter;
    /// use tracing_subscriber::prelude::*;
    ///
    /// let (layer, telemetry) = livetel::Builder::new("config/telemetry.toml").build_layer()?;
    /// tracing_subscriber::registry()
    ///     .with(tracing_subscriber::fmt::layer().with_filter(LevelFilter::INFO))
    ///     .with(layer)
    ///     .init();
    /// # drop(telemetry);
    /// # Ok::<(), livetel::InitError>(())
    /// ```
    ///
    /// # Errors
    /// As [`Builder::build`].
    pub fn build_layer<S>(self) -> Result<(LiveLayer<S>, Telemetry), InitError>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let (live, telemetry) = self.start(Placement::Shared, false)?;
        Ok((LiveLayer::new(live), telemetry))
    }

    /// Applies the config through the reload path (the same as every later change) and starts the
    /// control thread.
    fn start(self, placement: Placement, console_on: bool) -> Result<(Arc<Live>, Telemetry), InitError> {
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (raw_tx, raw_rx) = mpsc::unbounded_channel();
        let counters = Arc::new(Counters::default());
        let mut control = Control::new(Parts {
            config_path: self.path.clone(),
            session_id: self.session_id.unwrap_or_else(default_session_id),
            env: self.env.unwrap_or_else(EnvOverrides::from_env),
            counters: Arc::clone(&counters),
            commands: commands.clone(),
            raw_events: raw_tx.clone(),
            placement,
            console_on_by_default: console_on,
            signals: crate::reload::signal::builtin(&counters),
            sink_registry: crate::sinks::REGISTRY,
            admin_listen: self.admin_listen,
            secret_source: self.secret_source,
        });
        let status = control.start()?;
        let watcher = if control.watches_file() {
            Some(watcher::watch(&self.path, raw_tx)?)
        } else {
            None
        };
        let live = control.live();
        let debouncer = watcher::Debouncer {
            raw: raw_rx,
            commands: commands.clone(),
            debounce_ms: control.debounce_ms(),
            config: self.path.clone(),
        };
        let thread = spawn_control(control, command_rx, debouncer, commands.clone(), self.sighup)?;
        let telemetry = Telemetry {
            commands,
            status,
            dispatch: None,
            counters,
            thread: Some(thread),
            watcher,
            shutdown_drain: self.shutdown_drain,
        };
        Ok((live, telemetry))
    }
}

fn spawn_control(
    mut control: Control,
    command_rx: mpsc::UnboundedReceiver<Command>,
    debouncer: watcher::Debouncer,
    commands: mpsc::UnboundedSender<Command>,
    sighup: bool,
) -> Result<JoinHandle<()>, InitError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(InitError::Runtime)?;
    // Installed here, not on the control thread: once `build` returns, a SIGHUP must reload, never kill.
    let hangup = sighup.then(|| {
        let _in_runtime = rt.enter();
        signal::install_sighup()
    });
    std::thread::Builder::new()
        .name("livetel-control".into())
        .spawn(move || {
            // Whatever the control thread builds (exporters, their clients) traces nowhere.
            crate::threads::mark_untraced();
            rt.block_on(async move {
                tokio::spawn(debouncer.run());
                match hangup {
                    Some(Ok(hup)) => {
                        tokio::spawn(signal::forward_sighup(hup, commands));
                    }
                    Some(Err(w)) => {
                        control.view.warnings.push(w);
                        control.publish();
                    }
                    None => {}
                }
                control.run(command_rx).await;
            });
        })
        .map_err(InitError::Runtime)
}

fn default_session_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{:08x}",
        (nanos as u64 ^ (u64::from(std::process::id()) << 32)) & 0xffff_ffff
    )
}

/// The running telemetry. Dropping it stops watching, lets open spans finish (up to the shutdown drain), and
/// finalizes every backend: trace files end with their closing bracket and are flushed.
#[must_use = "dropping the guard shuts telemetry down at once"]
pub struct Telemetry {
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<Arc<TelemetryStatus>>,
    dispatch: Option<Dispatch>,
    counters: Arc<Counters>,
    thread: Option<JoinHandle<()>>,
    watcher: Option<notify::RecommendedWatcher>,
    shutdown_drain: Duration,
}

impl Telemetry {
    /// A receiver of the active state; it sees every change from now on.
    pub fn status(&self) -> watch::Receiver<Arc<TelemetryStatus>> {
        self.status.clone()
    }

    /// A clonable handle that reloads the config now and tells what came of it.
    pub fn reload_trigger(&self) -> ReloadTrigger {
        ReloadTrigger {
            tx: self.commands.clone(),
        }
    }

    /// A clonable handle that applies a config held in memory (`modify`, `apply_toml`) through the same
    /// reload path as a file change.
    pub fn handle(&self) -> Handle {
        Handle {
            tx: self.commands.clone(),
        }
    }

    /// The subscriber livetel built, for `tracing::dispatcher::with_default`, when started with
    /// [`Builder::build`] or [`Builder::init`]; `None` for [`Builder::build_layer`], whose layer lives in your
    /// subscriber.
    pub fn dispatch(&self) -> Option<&Dispatch> {
        self.dispatch.as_ref()
    }

    /// Span counts right now (status carries them as of its last publication).
    pub fn counters(&self) -> SpanCounts {
        self.counters.snapshot()
    }

    /// Publishes status again with current counters and export figures, and returns it. Status is otherwise
    /// published on reloads and backend state changes, so its counters are as of then.
    pub fn refresh_status(&self) -> Arc<TelemetryStatus> {
        let (reply, done) = std::sync::mpsc::channel();
        if self.commands.send(Command::Refresh { reply }).is_ok() {
            let _ = done.recv_timeout(Duration::from_secs(5));
        }
        self.status.borrow().clone()
    }

    /// Shuts down now, as dropping the guard does, and returns the final counts: with nothing left in flight,
    /// `started == exported + dropped + sampled_out + dropped_by_bound` (unless a span outlived the shutdown drain).
    pub fn shutdown(mut self) -> SpanCounts {
        self.stop();
        self.counters.snapshot()
    }

    fn stop(&mut self) {
        if self.thread.is_none() {
            return;
        }
        self.watcher.take();
        let (reply, done) = std::sync::mpsc::channel();
        if self
            .commands
            .send(Command::Shutdown {
                drain: self.shutdown_drain,
                reply,
            })
            .is_ok()
        {
            let _ = done.recv_timeout(self.shutdown_drain.saturating_add(Duration::from_secs(10)));
        }
        if let Some(t) = self.thread.take()
            && done_within(&t)
        {
            let _ = t.join();
        }
    }
}

fn done_within(t: &JoinHandle<()>) -> bool {
    for _ in 0..100 {
        if t.is_finished() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        self.stop();
    }
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.status.borrow();
        f.debug_struct("Telemetry")
            .field("generation", &s.generation)
            .field("backend", &s.backend)
            .finish_non_exhaustive()
    }
}
