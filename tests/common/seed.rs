//! Seeded randomness and run length for fault, soak and fuzz tests.
//!
//! By default (CI) every seeded test runs short with a fixed seed, so two runs of the same commit do the same
//! thing. `LIVETEL_SOAK=1` runs the soaks at full length with a fresh seed from the clock. Either way the seed
//! is printed, and `LIVETEL_FAULT_SEED=N` replays a run exactly (combine it with `LIVETEL_SOAK=1` to replay a
//! soak).

/// True when `LIVETEL_SOAK` is set to anything but `0` or the empty string: soaks run at full length.
pub fn soak() -> bool {
    std::env::var("LIVETEL_SOAK").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `short` in CI, `full` under `LIVETEL_SOAK=1`.
pub fn length<T>(short: T, full: T) -> T {
    if soak() { full } else { short }
}

pub struct Rng(u64);

impl Rng {
    /// From `LIVETEL_FAULT_SEED`; else, under `LIVETEL_SOAK=1`, from the clock; else a seed fixed per test
    /// (derived from `test`). Prints the seed so a failing run can be replayed exactly.
    pub fn from_env(test: &str) -> Rng {
        let (seed, from) = match std::env::var("LIVETEL_FAULT_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
        {
            Some(s) => (s, "LIVETEL_FAULT_SEED"),
            None if soak() => (
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(1, |d| d.as_nanos() as u64),
                "clock, LIVETEL_SOAK",
            ),
            None => (fixed_seed(test), "fixed"),
        };
        let mode = if soak() { "soak length" } else { "CI length" };
        println!("{test}: seed {seed} ({from}; replay with LIVETEL_FAULT_SEED={seed}), {mode}");
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.0) * u128::from(self.0 ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) as u64) ^ (t as u64)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() as f64 / u64::MAX as f64) < p
    }
}

/// FNV-1a of the test's name: a different fixed stream per test, the same on every run.
fn fixed_seed(test: &str) -> u64 {
    test.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
