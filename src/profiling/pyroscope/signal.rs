//! SIGPROF: the handler, its installation and restoration, and the process CPU-time timer that raises it.
//!
//! The timer is a POSIX timer of its own (`timer_create` on `CLOCK_PROCESS_CPUTIME_ID`), so the process's
//! `ITIMER_PROF` stays free for anyone else. It fires once per `1/hz` of CPU time used by the whole process,
//! and the kernel delivers the signal to a thread that is running, so busier threads are sampled more: each
//! sample stands for `1/hz` seconds of CPU.
//!
//! The handler reaches the sampler through one atomic pointer. It counts itself in flight before loading it;
//! `Installed::uninstall` clears the pointer and then waits until no handler is in flight, so the sampler's
//! memory is never freed under a running handler. It saves and restores `errno`.

use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

use super::ProfilingError;
use super::sample::Shared;

static SHARED: AtomicPtr<Shared> = AtomicPtr::new(ptr::null_mut());
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);

extern "C" fn on_sigprof(_sig: libc::c_int, _info: *mut libc::siginfo_t, ucontext: *mut libc::c_void) {
    // SAFETY: __errno_location returns this thread's errno slot.
    let errno = unsafe { *libc::__errno_location() };
    IN_FLIGHT.fetch_add(1, SeqCst);
    let shared = SHARED.load(SeqCst);
    if !shared.is_null() {
        // SAFETY: `Installed` holds an `Arc` of it until no handler is in flight after it cleared the pointer.
        unsafe { (*shared).sample(ucontext) };
    }
    IN_FLIGHT.fetch_sub(1, SeqCst);
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

fn sigaction(new: Option<&libc::sigaction>) -> Result<libc::sigaction, ProfilingError> {
    // SAFETY: a zeroed sigaction is a valid out-parameter; `new` is a valid action or null (query only).
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        let new_ptr = new.map_or(ptr::null(), |n| n as *const libc::sigaction);
        if libc::sigaction(libc::SIGPROF, new_ptr, &mut old) != 0 {
            return Err(ProfilingError::Signal(std::io::Error::last_os_error()));
        }
        Ok(old)
    }
}

/// The current SIGPROF handler address (`SIG_DFL` = 0, `SIG_IGN` = 1, else a function), as sigaction reports it.
pub fn current_disposition() -> usize {
    sigaction(None).map_or(usize::MAX, |a| a.sa_sigaction)
}

/// SIGPROF is ours while this lives; [`Installed::uninstall`] gives it back.
pub(crate) struct Installed {
    previous: libc::sigaction,
    timer: libc::timer_t,
    shared: Arc<Shared>,
}

// SAFETY: the timer id is only used by the owner, on whatever thread stops the sampler.
unsafe impl Send for Installed {}
// SAFETY: the only use through `&self` is `timer_settime`, a system call on the timer id, safe from any thread.
unsafe impl Sync for Installed {}

impl Installed {
    /// Publishes `shared` to the handler, installs the handler (refused when SIGPROF already has one: livetel
    /// never takes a signal from another profiler) and creates the timer, disarmed.
    pub(crate) fn install(shared: Arc<Shared>) -> Result<Installed, ProfilingError> {
        let existing = sigaction(None)?;
        if existing.sa_sigaction != libc::SIG_DFL && existing.sa_sigaction != libc::SIG_IGN {
            return Err(ProfilingError::SignalInUse);
        }
        let raw = Arc::as_ptr(&shared).cast_mut();
        if SHARED
            .compare_exchange(ptr::null_mut(), raw, SeqCst, SeqCst)
            .is_err()
        {
            return Err(ProfilingError::AlreadyRunning);
        }
        // SAFETY: a zeroed sigaction with our handler, SA_SIGINFO | SA_RESTART, and an empty mask.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = on_sigprof as *const () as usize;
        action.sa_flags = libc::SA_SIGINFO | libc::SA_RESTART;
        let installed = sigaction(Some(&action)).and_then(|previous| {
            let timer = create_timer().inspect_err(|_| drop(sigaction(Some(&previous))))?;
            Ok(Installed {
                previous,
                timer,
                shared,
            })
        });
        if installed.is_err() {
            SHARED.store(ptr::null_mut(), SeqCst);
            wait_handlers();
        }
        installed
    }

    /// Fires every `1/hz` of process CPU time; `hz = 0` disarms.
    pub(crate) fn set_rate(&self, hz: u32) -> Result<(), ProfilingError> {
        let period = if hz == 0 {
            Duration::ZERO
        } else {
            Duration::from_secs(1) / hz
        };
        let ts = libc::timespec {
            tv_sec: period.as_secs() as libc::time_t,
            tv_nsec: period.subsec_nanos() as libc::c_long,
        };
        let spec = libc::itimerspec {
            it_interval: ts,
            it_value: ts,
        };
        // SAFETY: `timer` was created by timer_create and not deleted yet.
        if unsafe { libc::timer_settime(self.timer, 0, &spec, ptr::null_mut()) } != 0 {
            return Err(ProfilingError::Timer(std::io::Error::last_os_error()));
        }
        Ok(())
    }

    /// Deletes the timer, discards a SIGPROF still pending (by ignoring it for a moment: the default action
    /// would end the process), restores the previous disposition, then frees the sampler state once no
    /// handler runs.
    pub(crate) fn uninstall(self) -> Result<(), ProfilingError> {
        // SAFETY: created by timer_create, deleted once, here.
        unsafe { libc::timer_delete(self.timer) };
        // SAFETY: a zeroed sigaction is SIG_DFL; set to SIG_IGN below.
        let mut ignore: libc::sigaction = unsafe { std::mem::zeroed() };
        ignore.sa_sigaction = libc::SIG_IGN;
        let ignored = sigaction(Some(&ignore));
        let restored = sigaction(Some(&self.previous));
        SHARED.store(ptr::null_mut(), SeqCst);
        wait_handlers();
        drop(self.shared);
        ignored.and(restored).map(drop)
    }
}

fn wait_handlers() {
    while IN_FLIGHT.load(SeqCst) != 0 {
        std::thread::yield_now();
    }
}

fn create_timer() -> Result<libc::timer_t, ProfilingError> {
    // SAFETY: zeroed sigevent, then the fields SIGEV_SIGNAL needs; timer_create writes the id.
    unsafe {
        let mut event: libc::sigevent = std::mem::zeroed();
        event.sigev_notify = libc::SIGEV_SIGNAL;
        event.sigev_signo = libc::SIGPROF;
        let mut timer: libc::timer_t = std::mem::zeroed();
        if libc::timer_create(libc::CLOCK_PROCESS_CPUTIME_ID, &mut event, &mut timer) != 0 {
            return Err(ProfilingError::Timer(std::io::Error::last_os_error()));
        }
        Ok(timer)
    }
}
