//! Retiring generations off the hot path.
//!
//! A replaced generation drains: spans that began in it (and their children) still finish there. It retires when
//! no span holds it any more, or when its drain timeout passes; then each of its sinks that no newer generation
//! shares is closed, flushed and dropped — here, on the control thread, never on a thread that traces.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::traces::generation::Generation;
use crate::traces::live::Live;

struct Retiring {
    generation: Arc<Generation>,
    deadline: Instant,
    /// Still published in [`Live::set_draining`], so children of its spans can join it.
    published: bool,
    /// Retired by its drain timeout with spans still open; its sink closes once nothing newer shares it.
    timed_out: bool,
}

/// What a tick did, for status.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TickReport {
    /// Generations that finished draining (or timed out) this tick.
    pub(crate) retired: Vec<u64>,
}

#[derive(Default)]
pub(crate) struct Retirer {
    retiring: Vec<Retiring>,
}

impl Retirer {
    /// Makes `next` current and retires the generation it replaces, which drains until `drain_timeout` has
    /// passed.
    ///
    /// The replaced generation is published as draining *before* the swap, so at every instant it is current
    /// or draining. Swapped first, it was neither for a moment: a child of one of its open spans made then, at a
    /// callsite whose interest is `sometimes`, was turned away by `enabled` — a trace torn on a flip out of a
    /// recording backend (`tests/handoff_window.rs` shows it with the old order). One interest rebuild, after
    /// the swap: before it, the union of the generations is what it was.
    pub(crate) fn hand_over(&mut self, live: &Live, next: Arc<Generation>, drain_timeout: Duration) {
        let deadline = Instant::now()
            .checked_add(drain_timeout)
            .unwrap_or_else(far_future);
        self.retiring.push(Retiring {
            generation: live.current_full(),
            deadline,
            published: true,
            timed_out: false,
        });
        self.publish_draining(live);
        live.swap(next);
        live.rebuild_interest();
    }

    pub(crate) fn is_idle(&self) -> bool {
        self.retiring.is_empty()
    }

    /// Ids of generations still draining.
    pub(crate) fn draining_ids(&self) -> Vec<u64> {
        self.retiring
            .iter()
            .filter(|r| r.published)
            .map(|r| r.generation.id)
            .collect()
    }

    /// Moves every generation one step toward retirement; returns what changed.
    pub(crate) fn tick(&mut self, live: &Live, now: Instant) -> TickReport {
        let mut report = TickReport::default();
        let mut unpublish = false;
        for r in self.retiring.iter_mut().filter(|r| r.published) {
            // Held only by us and by the published list: no span uses it, and none can join it.
            let idle = Arc::strong_count(&r.generation) <= 2;
            if idle || now >= r.deadline {
                r.timed_out = !idle;
                r.published = false;
                unpublish = true;
                report.retired.push(r.generation.id);
            }
        }
        if unpublish {
            self.publish(live);
        }
        self.close_unshared_timed_out(live);
        // Dropped here once nothing else holds them: the last reference to a sink finalizes its file.
        self.retiring
            .retain(|r| r.published || Arc::strong_count(&r.generation) > 1);
        report
    }

    /// Closes each sink of every timed-out generation that no other live generation shares: the current one, or
    /// one still draining (older or newer: each drains for the timeout of its own config). Checked on every
    /// tick: a sharer may retire later.
    fn close_unshared_timed_out(&self, live: &Live) {
        let current = live.current_full();
        for r in self.retiring.iter().filter(|r| r.timed_out) {
            for sink in r.generation.sinks.iter().filter(|s| !s.is_closed()) {
                let shared = current.sinks.contains(sink)
                    || self.retiring.iter().any(|o| {
                        o.published && o.generation.id != r.generation.id && o.generation.sinks.contains(sink)
                    });
                if !shared {
                    sink.close();
                }
            }
        }
    }

    /// Closes every sink and waits for queued records to be written.
    pub(crate) fn close_all(&mut self, live: &Live, timeout: Duration) {
        let deadline = Instant::now().checked_add(timeout).unwrap_or_else(far_future);
        for r in &mut self.retiring {
            for sink in r.generation.sinks.iter() {
                sink.close();
                sink.flush(deadline);
            }
            r.published = false;
        }
        self.publish(live);
        self.retiring.retain(|r| Arc::strong_count(&r.generation) > 1);
    }

    /// Publishes the draining set and rebuilds callsite interest for it.
    fn publish(&self, live: &Live) {
        self.publish_draining(live);
        live.rebuild_interest();
    }

    fn publish_draining(&self, live: &Live) {
        live.set_draining(
            self.retiring
                .iter()
                .filter(|r| r.published)
                .map(|r| r.generation.clone())
                .collect(),
        );
    }
}

/// An instant far enough ahead to stand for "never" (`Instant` has no maximum).
pub(crate) fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600)
}
