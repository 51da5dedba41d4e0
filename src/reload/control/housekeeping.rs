//! The control loop's work besides a reload itself: temporary overrides added, removed and expired; the admin
//! endpoint installed as a reload planned it; the retirement and settle ticks; and shutdown.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::watch;

use super::Control;
use crate::error::{ConfigError, ConfigErrorKind};
use crate::reload::admin_slot;
use crate::reload::command::{OverrideChange, OverrideOutcome, ReloadOutcome, Source};
use crate::reload::overrides::OVERRIDE_LABEL;
use crate::reload::retire;
use crate::status::Trigger;
use crate::traces::generation::Generation;

impl Control {
    /// Adds or removes a temporary override and reloads the base under the overrides left; an override the
    /// reload rejects is taken back out.
    pub(super) fn change_override(&mut self, change: OverrideChange) -> OverrideOutcome {
        let rejected = |e: ConfigError| ReloadOutcome::Rejected { error: Arc::new(e) };
        match change {
            OverrideChange::Add { text, ttl } => match self.overrides.add(&text, ttl) {
                Err(e) => OverrideOutcome {
                    id: None,
                    outcome: self.reject_override(e),
                },
                Ok(id) => {
                    let outcome = self.reload(Trigger::Override, Source::Base);
                    let kept = !matches!(outcome, ReloadOutcome::Rejected { .. });
                    if !kept {
                        self.overrides.remove(id);
                        self.publish();
                    }
                    OverrideOutcome {
                        id: kept.then_some(id),
                        outcome,
                    }
                }
            },
            OverrideChange::Remove { id } if self.overrides.remove(id) => OverrideOutcome {
                id: None,
                outcome: self.reload(Trigger::Override, Source::Base),
            },
            OverrideChange::Remove { id } => {
                let message = format!("there is no active override {id}");
                let e = ConfigError::unplaced(OVERRIDE_LABEL, ConfigErrorKind::InvalidValue { message });
                OverrideOutcome {
                    id: None,
                    outcome: rejected(e),
                }
            }
        }
    }

    /// Starts, moves, stops or re-keys the admin endpoint as planned (a server that cannot start is a warning).
    pub(super) fn install_admin(&mut self, plan: admin_slot::AdminPlan) {
        let status = self.status.as_ref().map(watch::Sender::subscribe);
        let warning = admin_slot::install(&mut self.admin, plan, &self.commands, status);
        self.view.warnings.extend(warning);
    }

    /// An override refused on its own: status says why, as for a bad file.
    fn reject_override(&mut self, e: ConfigError) -> ReloadOutcome {
        self.reject(e, Trigger::Override)
    }

    pub(super) fn tick(&mut self) {
        let now = Instant::now();
        if self.overrides.expire(now) {
            self.reload(Trigger::OverrideExpired, Source::Base);
        }
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

    pub(super) fn shutdown(&mut self, drain: Duration) {
        // No more admin requests: the endpoint's thread is joined here.
        self.admin = None;
        let mut off = Generation::off(self.view.generation, Arc::clone(&self.cx.sinks.counters));
        // After shutdown, spans that only forward keep the header formats the last config chose.
        off.propagators = self.live.current().propagators;
        let off = Arc::new(off);
        self.retirer.hand_over(&self.live, off, drain);
        let deadline = Instant::now()
            .checked_add(drain)
            .unwrap_or_else(retire::far_future);
        while !self.retirer.is_idle() && Instant::now() < deadline {
            self.retirer.tick(&self.live, Instant::now());
            std::thread::sleep(Duration::from_millis(5));
        }
        self.retirer.close_all(&self.live, Duration::from_secs(5));
        self.live.stop();
        self.cx
            .sinks
            .wait_retired(Instant::now() + Duration::from_secs(6));
        self.view.trigger = Trigger::Shutdown;
        self.publish();
    }
}
