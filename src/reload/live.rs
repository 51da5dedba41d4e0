//! The state the hot path reads: the current generation and the ones still draining. Lock-free reads.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

use crate::generation::Generation;

pub(crate) struct Live {
    current: ArcSwap<Generation>,
    draining: ArcSwap<Vec<Arc<Generation>>>,
    has_draining: AtomicBool,
}

impl Live {
    pub(crate) fn new(first: Arc<Generation>) -> Self {
        Live {
            current: ArcSwap::new(first),
            draining: ArcSwap::default(),
            has_draining: AtomicBool::new(false),
        }
    }

    /// The current generation, borrowed (no reference count change in the common case).
    #[inline]
    pub(crate) fn current(&self) -> Guard<Arc<Generation>> {
        self.current.load()
    }

    /// The current generation, owned: what a new root span pins.
    #[inline]
    pub(crate) fn current_full(&self) -> Arc<Generation> {
        self.current.load_full()
    }

    pub(crate) fn draining(&self) -> Guard<Arc<Vec<Arc<Generation>>>> {
        self.draining.load()
    }

    #[inline]
    pub(crate) fn has_draining(&self) -> bool {
        self.has_draining.load(Ordering::Acquire)
    }

    /// Makes `next` current and returns the generation it replaced. Infallible.
    pub(crate) fn swap(&self, next: Arc<Generation>) -> Arc<Generation> {
        self.current.swap(next)
    }

    /// Publishes the generations that may still take children of their open spans.
    pub(crate) fn set_draining(&self, gens: Vec<Arc<Generation>>) {
        self.has_draining.store(!gens.is_empty(), Ordering::Release);
        self.draining.store(Arc::new(gens));
    }
}
