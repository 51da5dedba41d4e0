//! [`LabelLayer`]: a tracing layer that writes each entered span into its thread's label slot.

use tracing_core::span::Id;
use tracing_core::{Subscriber, span};
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use super::labels::{self, Label};

/// Labels samples with the span entered on their thread: its name, and its tracing span id as `span_id`.
/// On exit the thread gets the label of the span still entered below it (or none).
///
/// It keeps no state of its own: enter and exit each write one fixed-size slot (no allocation, no lock).
#[derive(Debug, Clone, Copy, Default)]
pub struct LabelLayer;

fn label_of<S: Subscriber + for<'a> LookupSpan<'a>>(ctx: &Context<'_, S>, id: &Id) -> Option<Label> {
    let span = ctx.span(id)?;
    Some(Label {
        name: span.metadata().name(),
        span_id: id.into_u64(),
        trace_id: 0,
    })
}

impl<S> tracing_subscriber::Layer<S> for LabelLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, _attrs: &span::Attributes<'_>, _id: &Id, _ctx: Context<'_, S>) {}

    fn on_enter(&self, id: &Id, ctx: Context<'_, S>) {
        if let Some(label) = label_of(&ctx, id) {
            let _previous = labels::enter(label);
        }
    }

    fn on_exit(&self, _id: &Id, ctx: Context<'_, S>) {
        // The registry has popped `id` already: the current span is the one below it.
        match ctx.current_span().id().and_then(|id| label_of(&ctx, id)) {
            Some(label) => drop(labels::enter(label)),
            None => labels::clear(),
        }
    }
}
