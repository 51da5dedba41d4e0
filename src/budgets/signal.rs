//! The budgets signal's reload half: what it reads of the config, how it builds its hook, and its status.
//! (`crate::reload::signal` plugs it into the reload path: this module never imports `reload`.)

use std::sync::{Arc, Mutex, PoisonError, Weak};

use super::hook::BudgetsHook;
use crate::config::{TelemetryConfig, format_duration};
use crate::counters::Counters;
use crate::status::{BudgetStatus, BudgetsStatus, TelemetryStatus};
use crate::traces::hooks::SpanHook;

/// The budgets signal: lives as long as the `Telemetry`; its counts live in the shared [`Counters`].
pub(crate) struct BudgetsSignal {
    counters: Arc<Counters>,
    /// Every hook built, while one lives: status finds the running one among them.
    hooks: Mutex<Vec<Weak<BudgetsHook>>>,
}

impl BudgetsSignal {
    /// Its name, in the activation and in each generation's hooks.
    pub(crate) const NAME: &'static str = "budgets";

    /// The keys it reads: its table, and the master switch.
    pub(crate) const READS: &'static [&'static str] = &["budgets", "enabled"];

    /// The signal, counting into `counters`.
    pub(crate) fn new(counters: Arc<Counters>) -> BudgetsSignal {
        BudgetsSignal {
            counters,
            hooks: Mutex::new(Vec::new()),
        }
    }

    /// Its hook for `cfg`: `None` when no span name has a budget (or telemetry is off). Cannot fail: the table
    /// was validated with the config.
    pub(crate) fn prepare(&self, cfg: &TelemetryConfig) -> Option<Arc<dyn SpanHook>> {
        if !cfg.enabled || cfg.budgets.spans.is_empty() {
            return None;
        }
        let hook = Arc::new(BudgetsHook::new(&cfg.budgets, &self.counters));
        let mut hooks = self.hooks.lock().unwrap_or_else(PoisonError::into_inner);
        hooks.retain(|h| h.strong_count() > 0);
        hooks.push(Arc::downgrade(&hook));
        Some(hook)
    }

    /// Fills `status.budgets`: the running budgets (when `running`, the current generation's budgets hook, is
    /// one of this signal's), and the counts of every name ever budgeted.
    pub(crate) fn report(&self, running: Option<&Arc<dyn SpanHook>>, status: &mut TelemetryStatus) {
        let hook = running.and_then(|running| {
            let hooks = self.hooks.lock().unwrap_or_else(PoisonError::into_inner);
            hooks
                .iter()
                .filter_map(Weak::upgrade)
                .find(|h| std::ptr::addr_eq(Arc::as_ptr(h), Arc::as_ptr(running)))
        });
        let counts = self.counters.budgets.snapshot();
        if hook.is_none() && counts.is_empty() {
            return;
        }
        let budget_of = |name: &str| {
            let entry = hook.as_ref()?.entries.iter().find(|e| e.name == name)?;
            Some(format_duration(std::time::Duration::from_nanos(entry.budget_ns)))
        };
        let spans = counts
            .into_iter()
            .map(|(name, soft_exceeded, exceeded)| BudgetStatus {
                budget: budget_of(&name),
                name,
                soft_exceeded,
                exceeded,
            })
            .collect();
        status.budgets = Some(BudgetsStatus {
            enabled: hook.is_some(),
            soft_limit_pct: hook.as_ref().map(|h| h.soft_limit_pct),
            spans,
        });
    }
}
