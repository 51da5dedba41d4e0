//! Delta temporality without resetting the store: per point, the cumulative figures of the last export the
//! collector accepted.
//!
//! The store only grows. A delta point is its cumulative figures now minus those the same point had at the last
//! accepted export, with that export's time as its start. The figures are remembered in both temporalities, so a
//! switch from cumulative to delta starts from the last export, whichever it was; and they are remembered only
//! when the collector accepts the export, so a failed export loses no increment: the next delta carries it.

use std::collections::HashMap;

/// The cumulative figures each point had at the last accepted export, and that export's time.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct Baseline {
    values: HashMap<String, Vec<u64>>,
    /// Unix nanoseconds of the last accepted export; `None` before the first.
    at_ns: Option<u64>,
}

impl Baseline {
    /// An empty baseline for an export made at `at_ns` (filled as its points are made).
    pub(crate) fn next(at_ns: u64) -> Baseline {
        Baseline {
            values: HashMap::new(),
            at_ns: Some(at_ns),
        }
    }

    /// The time of the last accepted export (the start of delta points), if there was one.
    pub(crate) fn at_ns(&self) -> Option<u64> {
        self.at_ns
    }

    /// `now` (the cumulative figures of the point `key`) minus what it had at the last accepted export, element
    /// by element (a point not exported then counts from zero); `now` is remembered in `next`.
    pub(crate) fn delta(&self, key: &str, now: &[u64], next: &mut Baseline) -> Vec<u64> {
        let before = self.values.get(key);
        let delta = now
            .iter()
            .enumerate()
            .map(|(i, n)| n.saturating_sub(before.and_then(|b| b.get(i)).copied().unwrap_or(0)))
            .collect();
        next.values.insert(key.to_owned(), now.to_vec());
        delta
    }
}

#[cfg(test)]
mod tests {
    use super::Baseline;

    #[test]
    fn deltas_follow_accepted_exports_and_a_failed_one_loses_nothing() {
        let mut accepted = Baseline::default();
        assert_eq!(accepted.at_ns(), None);
        // First export: everything since the start.
        let mut next = Baseline::next(100);
        assert_eq!(accepted.delta("calls", &[5], &mut next), [5]);
        assert_eq!(accepted.delta("hist", &[1, 2, 0, 30], &mut next), [1, 2, 0, 30]);
        accepted = next;
        assert_eq!(accepted.at_ns(), Some(100));
        // Second export, refused by the collector: its baseline is not kept.
        let mut refused = Baseline::next(200);
        assert_eq!(accepted.delta("calls", &[8], &mut refused), [3]);
        // Third export, accepted: the refused increment is in it, and a new point counts from zero.
        let mut next = Baseline::next(300);
        assert_eq!(accepted.delta("calls", &[10], &mut next), [5]);
        assert_eq!(accepted.delta("hist", &[1, 4, 1, 55], &mut next), [0, 2, 1, 25]);
        assert_eq!(accepted.delta("errors", &[2], &mut next), [2]);
        accepted = next;
        let mut next = Baseline::next(400);
        assert_eq!(accepted.delta("calls", &[10], &mut next), [0], "nothing new");
        assert_eq!(accepted.at_ns(), Some(300));
    }
}
