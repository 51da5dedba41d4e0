//! The console: event lines for people, formatted by tracing-subscriber's own `fmt` layer, and optionally
//! JSON lines to a daily-rolling file ([`file`]).
//!
//! A reload builds a [`ConsoleSpec`] (off the hot path, in `reload::plan`) and the new generation carries it;
//! the recorder hands each event to the current generation's console ([`layer::ConsoleSlot`]), which builds its
//! `fmt` layers once per spec. Format and writer switch between two lines: each line is formatted into one
//! buffer and written with one `write_all` under the writer's lock, so no line is interleaved or cut.
//!
//! The console's filter is part of what livetel admits (the gate asks the union of its consumers), so the
//! console sees what it wants even when traces record nothing.

pub(crate) mod file;
pub(crate) mod layer;

use std::io::IsTerminal;
use std::sync::Arc;

use tracing_subscriber::EnvFilter;

use crate::config::{Ansi, ConsoleConfig, ConsoleFormat, ConsoleWriter};
use crate::counters::Counters;
use file::LogFile;

/// One applied `[telemetry.console]`: immutable, shared by the generations whose console config is the same.
pub(crate) struct ConsoleSpec {
    /// The config it was built from (after env overrides).
    pub(crate) config: ConsoleConfig,
    pub(crate) filter: EnvFilter,
    pub(crate) ansi: bool,
    pub(crate) file: Option<Arc<LogFile>>,
    /// The `fmt` layers built from this spec for the recorder's subscriber type, on first use (see
    /// `layer::ConsoleSlot`).
    pub(crate) layers: std::sync::OnceLock<Box<dyn std::any::Any + Send + Sync>>,
}

impl ConsoleSpec {
    /// The console for `cfg`, or `None` when it is off. The running one is reused as it is when its config is
    /// the same, and its log file when the path is.
    ///
    /// # Errors
    /// The key concerned and what went wrong: a filter that does not parse, a file that cannot be opened.
    pub(crate) fn build(
        cfg: &ConsoleConfig,
        on_by_default: bool,
        running: Option<&Arc<ConsoleSpec>>,
        on_change: &Arc<dyn Fn() + Send + Sync>,
        counters: &Arc<Counters>,
    ) -> Result<Option<Arc<ConsoleSpec>>, (&'static str, String)> {
        if !cfg.is_enabled(on_by_default) {
            return Ok(None);
        }
        if let Some(r) = running.filter(|r| r.config == *cfg) {
            return Ok(Some(Arc::clone(r)));
        }
        let filter = crate::config::validate::event_filter(&cfg.filter).map_err(|e| ("console.filter", e))?;
        let reusable = running
            .and_then(|r| r.file.as_ref())
            .filter(|f| Some(&f.path) == cfg.file.as_ref());
        let file = match (reusable, &cfg.file) {
            (Some(f), _) => Some(Arc::clone(f)),
            (None, Some(path)) => Some(Arc::new(
                LogFile::open(path, Arc::clone(on_change), Some(Arc::clone(counters)))
                    .map_err(|e| ("console.file", e))?,
            )),
            (None, None) => None,
        };
        Ok(Some(Arc::new(ConsoleSpec {
            ansi: resolve_ansi(cfg.ansi, cfg.writer),
            config: cfg.clone(),
            filter,
            file,
            layers: std::sync::OnceLock::new(),
        })))
    }

    /// The line format.
    pub(crate) fn format(&self) -> ConsoleFormat {
        self.config.format
    }
}

fn resolve_ansi(ansi: Ansi, writer: ConsoleWriter) -> bool {
    match ansi {
        Ansi::On => true,
        Ansi::Off => false,
        Ansi::Auto => match writer {
            ConsoleWriter::Stderr => std::io::stderr().is_terminal(),
            ConsoleWriter::Stdout => std::io::stdout().is_terminal(),
        },
    }
}
