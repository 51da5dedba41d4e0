//! The hook alone, on spans of exact durations: which closes warn, which exceed, and what is counted.

use super::hook::BudgetsHook;
use crate::config::parse_str;
use crate::counters::Counters;
use crate::sinks::record::{Fields, SpanIds};
use crate::traces::hooks::{ClosedSpan, FieldsRead, SpanHook, Verdict};

struct Cs;
impl tracing_core::callsite::Callsite for Cs {
    fn set_interest(&self, _: tracing_core::subscriber::Interest) {}
    fn metadata(&self) -> &tracing_core::Metadata<'_> {
        &TURN
    }
}

static TURN: tracing_core::Metadata<'static> = tracing_core::metadata! {
    name: "agent.turn",
    target: "budget_tests",
    level: tracing_core::Level::INFO,
    fields: &[],
    callsite: &Cs,
    kind: tracing_core::metadata::Kind::SPAN,
};

static OTHER: tracing_core::Metadata<'static> = tracing_core::metadata! {
    name: "other",
    target: "budget_tests",
    level: tracing_core::Level::INFO,
    fields: &[],
    callsite: &Cs,
    kind: tracing_core::metadata::Kind::SPAN,
};

fn close(hook: &BudgetsHook, meta: &'static tracing_core::Metadata<'static>, ns: u64) -> Verdict {
    hook.on_close(&ClosedSpan {
        meta,
        duration_ns: ns,
        ids: SpanIds::default(),
        sampled: false,
        error: false,
        fields: &Fields::new(),
        #[cfg(feature = "profiling")]
        meters: None,
    })
}

#[test]
fn soft_limit_and_budget_split_closes_exactly() {
    let cfg = parse_str("t.toml", "[telemetry.budgets]\n\"agent.turn\" = \"50ms\"\n").unwrap();
    let counters = Counters::default();
    let hook = BudgetsHook::new(&cfg.budgets, &counters);
    assert_eq!(hook.fields_read(), FieldsRead::Nothing);
    let ms = 1_000_000;
    // At the soft limit (40 ms) nothing; past it a warning; at the budget still a warning; past it exceeded.
    for (ns, verdict) in [
        (10 * ms, Verdict::Pass),
        (40 * ms, Verdict::Pass),
        (40 * ms + 1, Verdict::KeepTrace),
        (50 * ms, Verdict::KeepTrace),
        (50 * ms + 1, Verdict::KeepTrace),
        (900 * ms, Verdict::KeepTrace),
    ] {
        assert_eq!(close(&hook, &TURN, ns), verdict, "{ns} ns");
    }
    assert_eq!(close(&hook, &OTHER, 900 * ms), Verdict::Pass);
    assert_eq!(counters.budgets.snapshot(), [("agent.turn".to_owned(), 2, 2)]);
}
