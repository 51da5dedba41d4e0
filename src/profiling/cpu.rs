//! Thread CPU time: `clock_gettime(CLOCK_THREAD_CPUTIME_ID)`, the CPU the calling thread has used, user and
//! system, in nanoseconds. On Linux it is a system call (about 0.2–0.5 µs; the vDSO serves only wall clocks),
//! paid twice per entered period of a span while `cpu_time` is on.

/// The CPU time the calling thread has used, in nanoseconds; 0 when the clock cannot be read.
#[inline]
pub(crate) fn thread_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the clock id is a constant the kernel knows.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return 0;
    }
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let nanos = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(nanos)
}

#[cfg(test)]
mod tests {
    #[test]
    fn thread_cpu_time_moves_forward_with_work() {
        let before = super::thread_cpu_ns();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let after = super::thread_cpu_ns();
        assert!(after > before, "{before} -> {after} ({x})");
    }
}
