//! Allocations per span (feature `profiling-alloc`): a global allocator wrapper that counts, per thread, what
//! it allocates and frees, while some live generation has `[telemetry.profiling] alloc = true`.
//!
//! The application declares it, once, in its binary:
//!
//! ```
//! #[global_allocator]
//! static ALLOC: livetel::profiling::CountingAllocator = livetel::profiling::CountingAllocator::system();
//! # fn main() {}
//! ```
//!
//! (`CountingAllocator::new(inner)` wraps any other allocator, jemalloc or mimalloc.) A span then carries what its
//! thread allocated and freed while it was entered: `alloc.count`, `alloc.bytes`, `dealloc.count`,
//! `dealloc.bytes` and `alloc.net_bytes` (bytes allocated minus bytes freed), summed over its entered periods.
//! Reallocation counts as one free and one allocation.
//!
//! # Why not `tracking-allocator`
//! The design card named it. Its last release is from 2022, and it puts a `usize` header in front of every
//! allocation — on or off — so every allocation of the process grows and is shifted from its natural alignment
//! class, for as long as the allocator is declared. This wrapper adds no header: with counting off it costs one
//! relaxed atomic load per allocation and per free; on, two thread-local additions. Measured on P10 (a
//! single-threaded allocation-heavy workload, `examples/bench`): see docs/PERFORMANCE.md.
//!
//! # Inside the allocator
//! Nothing here allocates or locks. The counters are a `const`-initialized thread-local of `Cell<u64>`s: no lazy
//! initialization and no destructor, so they stay readable while the thread's other thread-locals are torn down
//! (an allocation during TLS teardown is still counted; `try_with` guards the rest).
//!
//! # Caveats
//! - **Per thread, not per owner.** Memory allocated in a span on one thread and freed on another counts as an
//!   allocation in the first span and as a free in whatever span the other thread has entered (a channel's
//!   message, a buffer handed to a writer thread). `alloc.net_bytes` is what the span's thread allocated minus
//!   what it freed while the span was entered, not what the span leaked.
//! - A parent's figures include its children's (work done while both are entered), and what the tracing stack
//!   itself allocates for spans created inside it (the registry's slot, their fields).
//! - A span entered on two threads at once shares one set of readings: its figures are then mixed.
//! - `alloc = false` stops counting once no live generation counts (after the old one drains).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering::Relaxed};

/// Bit of [`STATE`]: some live generation counts allocations.
const ON: u8 = 1;
/// Bit of [`STATE`]: the allocator has been called (it is the global allocator).
const SEEN: u8 = 2;

/// [`ON`] and [`SEEN`]: one load per allocation serves both.
static STATE: AtomicU8 = AtomicU8::new(0);
/// How many live hooks count allocations ([`Counting`]); [`ON`] is changed under this lock only.
static USERS: Mutex<usize> = Mutex::new(0);

/// One thread's counts since it started (monotonic).
struct ThreadCounts {
    alloc_count: Cell<u64>,
    alloc_bytes: Cell<u64>,
    dealloc_count: Cell<u64>,
    dealloc_bytes: Cell<u64>,
}

thread_local! {
    static COUNTS: ThreadCounts = const {
        ThreadCounts {
            alloc_count: Cell::new(0),
            alloc_bytes: Cell::new(0),
            dealloc_count: Cell::new(0),
            dealloc_bytes: Cell::new(0),
        }
    };
}

/// A global allocator that counts per thread what `A` allocates and frees, while counting is on.
///
/// See the `livetel::profiling` module docs for the one line that declares it, and the caveats.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAllocator<A = System> {
    inner: A,
}

impl CountingAllocator<System> {
    /// Counting over the system allocator.
    pub const fn system() -> Self {
        CountingAllocator { inner: System }
    }
}

impl<A> CountingAllocator<A> {
    /// Counting over `inner`.
    pub const fn new(inner: A) -> Self {
        CountingAllocator { inner }
    }
}

#[inline(always)]
fn counting() -> bool {
    let state = STATE.load(Relaxed);
    if state & SEEN == 0 {
        STATE.fetch_or(SEEN, Relaxed);
    }
    state & ON != 0
}

#[inline(always)]
fn add(count: fn(&ThreadCounts) -> (&Cell<u64>, &Cell<u64>), size: usize) {
    let _ = COUNTS.try_with(|c| {
        let (n, bytes) = count(c);
        n.set(n.get().wrapping_add(1));
        bytes.set(bytes.get().wrapping_add(size as u64));
    });
}

#[inline(always)]
fn allocated(size: usize) {
    add(|c| (&c.alloc_count, &c.alloc_bytes), size);
}

#[inline(always)]
fn freed(size: usize) {
    add(|c| (&c.dealloc_count, &c.dealloc_bytes), size);
}

// SAFETY: every call is forwarded to `inner` with the same arguments; counting touches only this thread's cells.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAllocator<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `alloc`'s contract.
        let p = unsafe { self.inner.alloc(layout) };
        if counting() && !p.is_null() {
            allocated(layout.size());
        }
        p
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as `alloc`.
        let p = unsafe { self.inner.alloc_zeroed(layout) };
        if counting() && !p.is_null() {
            allocated(layout.size());
        }
        p
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller upholds `dealloc`'s contract.
        unsafe { self.inner.dealloc(ptr, layout) };
        if counting() {
            freed(layout.size());
        }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller upholds `realloc`'s contract.
        let p = unsafe { self.inner.realloc(ptr, layout, new_size) };
        if counting() && !p.is_null() {
            freed(layout.size());
            allocated(new_size);
        }
        p
    }
}

/// The calling thread's counts: allocations, bytes allocated, frees, bytes freed (0s during TLS teardown).
#[inline]
pub(crate) fn thread_counts() -> [u64; 4] {
    COUNTS
        .try_with(|c| {
            [
                c.alloc_count.get(),
                c.alloc_bytes.get(),
                c.dealloc_count.get(),
                c.dealloc_bytes.get(),
            ]
        })
        .unwrap_or_default()
}

/// True once a [`CountingAllocator`] has served an allocation: it is the global allocator.
pub fn allocator_installed() -> bool {
    STATE.load(Relaxed) & SEEN != 0
}

/// True while some live generation counts allocations (`alloc = true`; after `alloc = false`, until the
/// generation that counted has drained).
pub fn counting_now() -> bool {
    STATE.load(Relaxed) & ON != 0
}

/// Counting is on while one of these lives (each hook with `alloc = true` holds one).
#[derive(Debug)]
pub(crate) struct Counting(());

impl Counting {
    pub(crate) fn start() -> Counting {
        users(|n| *n += 1);
        Counting(())
    }
}

impl Drop for Counting {
    fn drop(&mut self) {
        users(|n| *n = n.saturating_sub(1));
    }
}

/// Changes the number of users, and switches counting to match, under one lock.
fn users(change: impl FnOnce(&mut usize)) {
    let mut n = USERS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    change(&mut n);
    if *n > 0 {
        STATE.fetch_or(ON, Relaxed);
    } else {
        STATE.fetch_and(!ON, Relaxed);
    }
}
