//! A user crate with a `profiling` feature that is off: `#[livetel::instrument]` must leave nothing behind.

/// An instrumented function; without the `profiling` feature it is just the function.
#[livetel::instrument(name = "feature_off.work", skip(secret))]
pub fn work(model: &str, secret: &str) -> usize {
    model.len() + secret.len()
}

/// An instrumented async function.
#[livetel::instrument(name = "feature_off.work_async")]
pub async fn work_async(n: u64) -> u64 {
    n * 2
}
