//! The console's `fmt` layers, built for the subscriber type `S` the recorder lives in.
//!
//! A [`ConsoleSpec`] knows nothing of `S`; the recorder does. [`ConsoleSlot`] builds the `fmt` layers for the
//! current spec on first use after a reload and keeps them in the spec itself (type-erased: one livetel instance
//! has one subscriber type), so finding them costs no second atomic load per event.
//!
//! Span fields are formatted when a span begins, for the format in force then (tracing-subscriber's `fmt`
//! layer keeps them in the span's extensions per field formatter). A span that began under another format, or
//! that the console's filter left out, has none for the current one; the `pretty` and `json` formatters would
//! panic on such a span (they `expect` its fields), so before each of their lines the slot gives every span they
//! may read (the event's scope, and the current span's, which they fall back to) an empty set. Such a span
//! shows in the line by its name, without fields: the console's context is the subscriber's, not a per-layer
//! filtered one.

use std::sync::Arc;

use tracing_core::span::{Attributes, Id, Record as SpanRecord};
use tracing_core::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{DefaultFields, Format, Json, JsonFields};
use tracing_subscriber::fmt::writer::MakeWriter;
use tracing_subscriber::fmt::{self, FormattedFields};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::ConsoleSpec;
use crate::config::{ConsoleFormat, ConsoleWriter};

/// The layers of one spec: the terminal's `fmt` layer in the spec's format (one virtual call per callback, next
/// to the formatting it leads to), and the file's.
struct Built<S> {
    format: ConsoleFormat,
    terminal: Box<dyn Layer<S> + Send + Sync>,
    file: Option<fmt::Layer<S, JsonFields, Format<Json>, tracing_appender::non_blocking::NonBlocking>>,
}

/// Builds and finds the console's layers for the subscriber type `S`.
pub(crate) struct ConsoleSlot<S> {
    _subscriber: std::marker::PhantomData<fn(S)>,
}

impl<S> Default for ConsoleSlot<S> {
    fn default() -> Self {
        ConsoleSlot {
            _subscriber: std::marker::PhantomData,
        }
    }
}

impl<S> ConsoleSlot<S>
where
    S: Subscriber + for<'a> LookupSpan<'a> + 'static,
{
    /// Runs `f` with the layers for `spec`, built on first use.
    #[inline]
    fn with_layers(&self, spec: &ConsoleSpec, f: impl FnOnce(&Built<S>)) {
        let built = spec.layers.get_or_init(|| Box::new(Built::<S>::new(spec)));
        // Always `Built<S>`: a spec belongs to one livetel instance, whose recorder has one subscriber type.
        if let Some(b) = built.downcast_ref::<Built<S>>() {
            f(b);
        }
    }

    /// A new span the console's filter wants: its fields, formatted for the current format (and the file's).
    pub(crate) fn on_new_span(
        &self,
        spec: &Arc<ConsoleSpec>,
        attrs: &Attributes<'_>,
        id: &Id,
        ctx: &Context<'_, S>,
    ) {
        if !wants(&spec.filter, attrs.metadata(), ctx) {
            return;
        }
        self.with_layers(spec, |b| {
            b.terminal.on_new_span(attrs, id, ctx.clone());
            if let Some(f) = &b.file {
                f.on_new_span(attrs, id, ctx.clone());
            }
        });
    }

    /// Fields recorded on a span after it began.
    pub(crate) fn on_record(
        &self,
        spec: &Arc<ConsoleSpec>,
        id: &Id,
        values: &SpanRecord<'_>,
        ctx: &Context<'_, S>,
    ) {
        let Some(span) = ctx.span(id) else { return };
        if !wants(&spec.filter, span.metadata(), ctx) {
            return;
        }
        self.with_layers(spec, |b| {
            b.terminal.on_record(id, values, ctx.clone());
            if let Some(f) = &b.file {
                f.on_record(id, values, ctx.clone());
            }
        });
    }

    /// An event: one line to the terminal (and one to the file) when the console's filter wants it (`wanted`:
    /// known to, without asking).
    pub(crate) fn on_event(
        &self,
        spec: &Arc<ConsoleSpec>,
        wanted: bool,
        event: &Event<'_>,
        ctx: &Context<'_, S>,
    ) {
        if !wanted && !wants(&spec.filter, event.metadata(), ctx) {
            return;
        }
        self.with_layers(spec, |b| {
            if b.file.is_some() || b.format == ConsoleFormat::Json {
                give_fields::<JsonFields, S>(event, ctx, "{}");
            }
            if b.format == ConsoleFormat::Pretty {
                give_fields::<DefaultFields, S>(event, ctx, "");
            }
            b.terminal.on_event(event, ctx.clone());
            if let Some(f) = &b.file {
                f.on_event(event, ctx.clone());
            }
        });
    }
}

/// True when the console's filter takes `meta` (its directives are static: validation rejects span ones).
#[inline]
fn wants<S: Subscriber>(filter: &EnvFilter, meta: &tracing_core::Metadata<'_>, ctx: &Context<'_, S>) -> bool {
    <EnvFilter as Layer<S>>::enabled(filter, meta, ctx.clone())
}

/// Gives every span a formatter may read for `event` a field set for the formatter `N` (`empty` when it has
/// none): the spans of the event's scope, and those of the span the formatters fall back to (the event's explicit
/// parent, else the current span), which a root event inside a span does not have in its scope.
fn give_fields<N: 'static, S>(event: &Event<'_>, ctx: &Context<'_, S>, empty: &str)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let fallback = event
        .parent()
        .and_then(|id| ctx.span(id))
        .or_else(|| ctx.lookup_current());
    let spans = ctx
        .event_scope(event)
        .into_iter()
        .flatten()
        .chain(fallback.into_iter().flat_map(|s| s.scope()));
    for span in spans {
        let mut ext = span.extensions_mut();
        if ext.get_mut::<FormattedFields<N>>().is_none() {
            ext.insert(FormattedFields::<N>::new(empty.to_owned()));
        }
    }
}

impl<S> Built<S>
where
    S: Subscriber + for<'a> LookupSpan<'a> + 'static,
{
    fn new(spec: &ConsoleSpec) -> Self {
        let base = fmt::layer()
            .with_ansi(spec.ansi)
            .with_writer(StdStream(spec.config.writer));
        let terminal: Box<dyn Layer<S> + Send + Sync> = match spec.format() {
            ConsoleFormat::Compact => Box::new(base.compact()),
            ConsoleFormat::Pretty => Box::new(base.pretty().fmt_fields(DefaultFields::new())),
            ConsoleFormat::Json => Box::new(base.json()),
        };
        let file = spec
            .file
            .as_ref()
            .map(|f| fmt::layer().with_ansi(false).with_writer(f.writer()).json());
        Built {
            format: spec.format(),
            terminal,
            file,
        }
    }
}

/// Standard error or standard output, chosen per spec without boxing a writer per line (`BoxMakeWriter` would
/// allocate one for every event).
#[derive(Clone, Copy)]
struct StdStream(ConsoleWriter);

/// The stream's handle for one line: `write_all` on it takes the stream's lock once, so lines never interleave.
enum StdHandle {
    Stderr(std::io::Stderr),
    Stdout(std::io::Stdout),
}

impl std::io::Write for StdHandle {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            StdHandle::Stderr(w) => w.write(buf),
            StdHandle::Stdout(w) => w.write(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            StdHandle::Stderr(w) => w.write_all(buf),
            StdHandle::Stdout(w) => w.write_all(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            StdHandle::Stderr(w) => w.flush(),
            StdHandle::Stdout(w) => w.flush(),
        }
    }
}

impl<'a> MakeWriter<'a> for StdStream {
    type Writer = StdHandle;

    fn make_writer(&'a self) -> StdHandle {
        match self.0 {
            ConsoleWriter::Stderr => StdHandle::Stderr(std::io::stderr()),
            ConsoleWriter::Stdout => StdHandle::Stdout(std::io::stdout()),
        }
    }
}
