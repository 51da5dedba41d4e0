//! Side-by-side measurement: interleaved A/B rounds in one run, medians, and the report line of a figure.

use std::time::Instant;

/// What a stack did with the spans it was given: made on the traced thread, delivered to its output (the sink
/// received them, or they are in its file), dropped (made − delivered, read after the stack flushed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    pub made: u64,
    pub delivered: u64,
    pub dropped: u64,
}

impl Delivery {
    /// `made` spans of which `delivered` arrived; the rest were dropped.
    pub fn of(made: u64, delivered: u64) -> Delivery {
        Delivery {
            made,
            delivered,
            dropped: made.saturating_sub(delivered),
        }
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({ "made": self.made, "delivered": self.delivered, "dropped": self.dropped })
    }
}

impl std::ops::Add for Delivery {
    type Output = Delivery;

    fn add(self, o: Delivery) -> Delivery {
        Delivery {
            made: self.made + o.made,
            delivered: self.delivered + o.delivered,
            dropped: self.dropped + o.dropped,
        }
    }
}

impl std::fmt::Display for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}/{}", self.made, self.delivered, self.dropped)
    }
}

/// One reported figure. `baseline` is absent for absolute figures (latency, throughput, RSS); the ratio is
/// present only for A/B figures (a count such as spans lost has a baseline but no meaningful ratio).
#[derive(Debug, Clone)]
pub struct Figure {
    pub name: &'static str,
    pub livetel: f64,
    pub baseline: Option<f64>,
    pub unit: &'static str,
    pub goal: &'static str,
    pub note: String,
    /// The paired ratio of an A/B figure.
    pub paired: Option<f64>,
    /// Made/delivered/dropped of livetel and of the baseline, for figures whose stacks deliver spans.
    pub delivery: Option<[Delivery; 2]>,
}

impl Figure {
    /// A figure from an A/B measurement: the two medians and their paired ratio.
    pub fn paired(name: &'static str, m: Ab, unit: &'static str, goal: &'static str, note: String) -> Figure {
        Figure {
            name,
            livetel: m.a,
            baseline: Some(m.b),
            unit,
            goal,
            note,
            paired: Some(m.ratio),
            delivery: None,
        }
    }

    /// An absolute figure (latency, throughput, RSS): no baseline, no ratio.
    pub fn absolute(
        name: &'static str,
        value: f64,
        unit: &'static str,
        goal: &'static str,
        note: String,
    ) -> Figure {
        Figure {
            name,
            livetel: value,
            baseline: None,
            unit,
            goal,
            note,
            paired: None,
            delivery: None,
        }
    }

    /// A count of both stacks (spans lost, say): a baseline but no ratio.
    pub fn counts(
        name: &'static str,
        (livetel, baseline): (u64, u64),
        unit: &'static str,
        goal: &'static str,
        note: String,
    ) -> Figure {
        Figure {
            baseline: Some(baseline as f64),
            ..Figure::absolute(name, livetel as f64, unit, goal, note)
        }
    }

    /// The same figure with what each stack made, delivered and dropped.
    pub fn with_delivery(self, livetel: Delivery, baseline: Delivery) -> Figure {
        Figure {
            delivery: Some([livetel, baseline]),
            ..self
        }
    }

    pub fn ratio(&self) -> Option<f64> {
        self.paired
    }

    /// The note, followed by made/delivered/dropped of both stacks when the figure has them.
    fn full_note(&self) -> String {
        match &self.delivery {
            Some([l, b]) => format!("made/delivered/dropped: livetel {l}, baseline {b}; {}", self.note),
            None => self.note.clone(),
        }
    }

    pub fn json(&self) -> String {
        serde_json::json!({
            "figure": self.name,
            "livetel": round(self.livetel),
            "baseline": self.baseline.map(round),
            "ratio": self.ratio().map(|r| (r * 1000.0).round() / 1000.0),
            "unit": self.unit,
            "goal": self.goal,
            "note": self.note,
            "delivery": self.delivery.map(|[l, b]| serde_json::json!({ "livetel": l.json(), "baseline": b.json() })),
        })
        .to_string()
    }

    pub fn row(&self) -> String {
        let base = self
            .baseline
            .map_or_else(|| "-".to_owned(), |b| format!("{:.2}", b));
        let ratio = self.ratio().map_or_else(|| "-".to_owned(), |r| format!("{r:.3}"));
        format!(
            "{:<20} {:>12.2} {:>12} {:>8} {:<14} {:<14} {}",
            self.name,
            self.livetel,
            base,
            ratio,
            self.unit,
            self.goal,
            self.full_note()
        )
    }
}

fn round(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

pub fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return f64::NAN;
    }
    let i = ((v.len() - 1) as f64 * p).round() as usize;
    v[i.min(v.len() - 1)]
}

/// The medians of an A/B measurement, and the median of the per-round ratios a/b.
#[derive(Debug, Clone, Copy)]
pub struct Ab {
    pub a: f64,
    pub b: f64,
    /// Median of a/b over rounds. Each round's pair runs back to back, so a slow spell of a shared machine
    /// hits both sides of a ratio; this is steadier than the ratio of the two medians.
    pub ratio: f64,
}

/// Runs `a` and `b` in alternating order for `rounds` rounds.
pub fn ab(rounds: usize, mut a: impl FnMut() -> f64, mut b: impl FnMut() -> f64) -> Ab {
    let (mut xs, mut ys, mut rs) = (Vec::new(), Vec::new(), Vec::new());
    for r in 0..rounds {
        let (x, y) = if r % 2 == 0 {
            let x = a();
            (x, b())
        } else {
            let y = b();
            (a(), y)
        };
        xs.push(x);
        ys.push(y);
        rs.push(x / y);
    }
    Ab {
        a: median(xs),
        b: median(ys),
        ratio: median(rs),
    }
}

/// CPU nanoseconds the calling thread spent per unit of `f`, which does `units` units of work. Thread CPU time,
/// not wall time: background writers of either stack (on a 2-core machine) cannot inflate the other's figure.
pub fn ns_per(units: u64, f: impl FnOnce()) -> f64 {
    cpu_ns(f) as f64 / units as f64
}

/// CPU nanoseconds the calling thread spent in `f` (wall nanoseconds where the thread clock is unavailable).
pub fn cpu_ns(f: impl FnOnce()) -> u64 {
    let start = thread_cpu_ns();
    let t = Instant::now();
    f();
    match (start, thread_cpu_ns()) {
        (Some(a), Some(b)) => b - a,
        _ => t.elapsed().as_nanos() as u64,
    }
}

/// This thread's CPU time in ns (`CLOCK_THREAD_CPUTIME_ID`).
pub fn thread_cpu_ns() -> Option<u64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
}
