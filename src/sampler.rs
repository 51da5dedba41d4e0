//! Whole-trace sampling: decided once at the root span, inherited by every child.

use std::cell::Cell;

/// A ratio sampler; `sample` is a thread-local xorshift draw and a compare.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sampler {
    /// Keep when the draw is below this; `u64::MAX` with `all` keeps everything.
    threshold: u64,
    all: bool,
}

impl Sampler {
    pub(crate) fn new(ratio: f64) -> Self {
        let ratio = ratio.clamp(0.0, 1.0);
        // `as` saturates; 2^64 * ratio fits below u64::MAX for ratio < 1.
        Sampler {
            threshold: (ratio * 18_446_744_073_709_551_616.0) as u64,
            all: ratio >= 1.0,
        }
    }

    /// True when the trace rooted here is kept.
    #[inline]
    pub(crate) fn sample(&self) -> bool {
        self.all || (self.threshold != 0 && next_u64() < self.threshold)
    }
}

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let local = 0u8;
    let addr = std::ptr::addr_of!(local) as u64;
    (t ^ addr.rotate_left(32)) | 1
}

#[inline]
fn next_u64() -> u64 {
    STATE.with(|s| {
        // xorshift64*: fast, and plenty for a keep/drop draw.
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extremes_are_exact() {
        assert!((0..10_000).all(|_| Sampler::new(1.0).sample()));
        assert!((0..10_000).all(|_| !Sampler::new(0.0).sample()));
    }

    #[test]
    fn ratio_is_kept_within_two_percent() {
        for ratio in [0.1, 0.5, 0.9] {
            let s = Sampler::new(ratio);
            let kept = (0..100_000).filter(|_| s.sample()).count() as f64 / 100_000.0;
            assert!(
                (kept - ratio).abs() / ratio < 0.02,
                "ratio {ratio}: kept {kept}"
            );
        }
    }
}
