//! The budgets' hook on the hot path: a budgeted span's duration against its budget.

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use tracing_core::Level;

use crate::config::BudgetsConfig;
use crate::counters::{BudgetCount, Counters};
use crate::traces::hooks::{ClosedSpan, FieldsRead, SpanHook, Verdict};

/// Slots of the callsite table (a power of two), and how many are probed before the map by name is used.
const SLOTS: usize = 512;
const PROBES: usize = 8;

/// A callsite table slot: the callsite pointer, and the index of its entry (none: its name has no budget).
type Slot = (usize, Option<u32>);

/// One budgeted span name.
pub(crate) struct Entry {
    pub(crate) name: String,
    pub(crate) budget_ns: u64,
    /// Past this, a WARN event.
    pub(crate) soft_ns: u64,
    count: Arc<BudgetCount>,
}

/// The running part of the budgets signal.
pub(crate) struct BudgetsHook {
    /// Callsite pointer → its entry (an index into `entries`, or none: not budgeted). Claimed once, never freed.
    callsites: Box<[OnceLock<Slot>]>,
    by_name: HashMap<String, u32>,
    pub(crate) entries: Box<[Entry]>,
    pub(crate) soft_limit_pct: u32,
}

impl BudgetsHook {
    /// A hook for the budgets of `cfg`, counting into `counters` (which outlive every reload).
    pub(crate) fn new(cfg: &BudgetsConfig, counters: &Counters) -> BudgetsHook {
        let pct = u128::from(cfg.soft_limit_pct);
        let entries: Box<[Entry]> = cfg
            .spans
            .iter()
            .map(|(name, budget)| {
                let budget_ns = u64::try_from(budget.as_nanos()).unwrap_or(u64::MAX);
                let soft_ns = u64::try_from(u128::from(budget_ns) * pct / 100).unwrap_or(u64::MAX);
                Entry {
                    name: name.clone(),
                    budget_ns,
                    soft_ns,
                    count: counters.budgets.of(name),
                }
            })
            .collect();
        let by_name = entries
            .iter()
            .enumerate()
            .filter_map(|(i, e)| Some((e.name.clone(), u32::try_from(i).ok()?)))
            .collect();
        BudgetsHook {
            callsites: (0..SLOTS).map(|_| OnceLock::new()).collect(),
            by_name,
            entries,
            soft_limit_pct: cfg.soft_limit_pct,
        }
    }

    /// The entry of the span's callsite, if its name is budgeted.
    #[inline]
    fn entry(&self, meta: &'static tracing_core::Metadata<'static>) -> Option<&Entry> {
        let callsite = std::ptr::from_ref(meta) as usize;
        let start = (callsite as u64 >> 4).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 55;
        let found = (0..PROBES).find_map(|i| {
            let slot = &self.callsites[(start as usize + i) & (SLOTS - 1)];
            let (at, index) = slot.get_or_init(|| (callsite, self.by_name.get(meta.name()).copied()));
            (*at == callsite).then_some(*index)
        });
        let index = match found {
            Some(index) => index,
            None => self.by_name.get(meta.name()).copied(),
        };
        index.and_then(|i| self.entries.get(i as usize))
    }
}

impl SpanHook for BudgetsHook {
    #[inline]
    fn on_close(&self, span: &ClosedSpan<'_>) -> Verdict {
        let Some(entry) = self.entry(span.meta) else {
            return Verdict::Pass;
        };
        if span.duration_ns <= entry.soft_ns {
            return Verdict::Pass;
        }
        over(entry, span, self.soft_limit_pct);
        Verdict::KeepTrace
    }

    fn fields_read(&self) -> FieldsRead {
        FieldsRead::Nothing
    }
}

thread_local! {
    /// Set while this thread emits a budget event: a span closed meanwhile counts, but emits nothing more.
    static EMITTING: Cell<bool> = const { Cell::new(false) };
}

/// The span is past its soft limit: count it, and say so in an event.
#[cold]
#[inline(never)]
fn over(entry: &Entry, span: &ClosedSpan<'_>, pct: u32) {
    use std::sync::atomic::Ordering::Relaxed;
    let exceeded = span.duration_ns > entry.budget_ns;
    if exceeded {
        entry.count.exceeded.fetch_add(1, Relaxed);
    } else {
        entry.count.soft.fetch_add(1, Relaxed);
    }
    if EMITTING.with(|e| e.replace(true)) {
        return;
    }
    emit(entry, span, exceeded, pct);
    EMITTING.with(|e| e.set(false));
}

/// The WARN or ERROR event: an explicit root, so that no layer looks up the closing span (see the module doc).
fn emit(entry: &Entry, span: &ClosedSpan<'_>, exceeded: bool, pct: u32) {
    let ms = |ns: u64| ns as f64 / 1e6;
    let (duration_ms, budget_ms) = (ms(span.duration_ns), ms(entry.budget_ns));
    let trace_id = format_args!("{:032x}", span.ids.trace_id);
    let span_id = format_args!("{:016x}", span.ids.span_id);
    let name = entry.name.as_str();
    // `Duration`'s `Debug` writes each in its own unit: `59.252µs`, `1ns`, `50ms`.
    let (took, budget) = (
        std::time::Duration::from_nanos(span.duration_ns),
        std::time::Duration::from_nanos(entry.budget_ns),
    );
    if exceeded {
        tracing::event!(
            target: "livetel::budget",
            parent: None,
            Level::ERROR,
            span.name = name,
            duration_ms,
            budget_ms,
            trace_id = %trace_id,
            span_id = %span_id,
            "span `{name}` took {took:?}, over its budget of {budget:?}"
        );
    } else {
        tracing::event!(
            target: "livetel::budget",
            parent: None,
            Level::WARN,
            span.name = name,
            duration_ms,
            budget_ms,
            trace_id = %trace_id,
            span_id = %span_id,
            "span `{name}` took {took:?}, over {pct}% of its budget of {budget:?}"
        );
    }
}
