//! Time budgets (`[telemetry.budgets]`): a span that closes past its soft limit is a WARN event, past its whole
//! budget an ERROR event; both are counted by span name and keep their trace at the tail.
//!
//! ```toml
//! [telemetry.budgets]
//! "agent.turn" = "50ms"
//! "llm.call" = "2s"
//! soft_limit_pct = 80   # the default
//! ```
//!
//! # What happens when a budgeted span closes
//! - Within `soft_limit_pct` of its budget (or at it): nothing.
//! - Past the soft limit, within the budget: a WARN event, target `livetel::budget`; counted in
//!   `livetel_budget_soft_exceeded_total{span_name}`.
//! - Past the budget: an ERROR event, target `livetel::budget`; counted in `livetel_budget_exceeded_total{span_name}`.
//!
//! The events carry `span.name`, `duration_ms`, `budget_ms`, `trace_id` and `span_id` (hex). The counts are in
//! status (`budgets.spans`) and, when the metrics signal is on, on `/metrics`. They are never reset: a reload
//! that changes or drops a budget keeps every name's counts (`crate::counters::BudgetCounters`).
//!
//! When tail sampling is on (`always_sample_errors` or `always_sample_slow_seconds`) and the head dropped the
//! trace, a span past its soft limit keeps its whole trace: the hook answers
//! [`Verdict::KeepTrace`](crate::traces::hooks::Verdict), and the trace counts as kept for latency.
//!
//! # The events, and why they do not loop
//! The hook runs on the thread that closes the span, inside livetel's `on_close`, while livetel holds the
//! closing span's extensions. The event is emitted there, through the thread's current dispatcher, as an
//! **explicit root** (`parent: None`): no layer then looks up the closing span (whose extensions are locked) or
//! its parents, so the user's `fmt` layer, livetel's console and livetel's logs all get it as any other event,
//! filtered by their own filters (`livetel::budget=warn` and so on). It cannot recurse: an event closes no span,
//! and only a span's close reaches the hook; should a layer close a span while handling the event, a
//! thread-local guard lets the nested close count but emit nothing. Emitting through the current dispatcher
//! reaches the span's own subscriber whenever the span closes on a thread where it is the default (the global
//! default, or a scoped default that made the span): a span moved to a thread with another scoped default
//! sends its event there.
//!
//! # Hot path
//! [`hook::BudgetsHook::on_close`]: one probe of a table keyed by the callsite pointer (slots claimed once, no
//! lock, no string hashing; a full probe sequence falls back to a map by name), and for a budgeted span one
//! compare of its duration. The hook reads no fields, so a generation whose only hook is the budgets' keeps
//! none for unsampled spans. Nothing more unless the span is over its soft limit.
//!
//! # Limits
//! At `backend = "none"` budgeted spans are still measured and counted, as every hook sees the spans the filter
//! admits ([`crate::traces::hook_span`]); they belong to no trace, so their events carry zero ids and there is
//! no trace to keep.

pub(crate) mod hook;
pub(crate) mod signal;
#[cfg(test)]
mod tests;

pub(crate) use signal::BudgetsSignal;
