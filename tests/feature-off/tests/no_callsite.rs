//! Built without `profiling` (as `cargo test --workspace` builds it), an instrumented function registers no
//! callsite and creates no span; `--features profiling` runs the same test as its control.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tracing_core::span::{Attributes, Id, Record};
use tracing_core::subscriber::Interest;
use tracing_core::{Event, Metadata, Subscriber};

/// Records every callsite and span it is shown.
#[derive(Default, Clone)]
struct Recorder {
    callsites: Arc<Mutex<Vec<&'static str>>>,
    spans: Arc<AtomicUsize>,
}

impl Subscriber for Recorder {
    fn register_callsite(&self, meta: &'static Metadata<'static>) -> Interest {
        self.callsites.lock().unwrap().push(meta.name());
        Interest::always()
    }
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(self.spans.fetch_add(1, Ordering::SeqCst) as u64 + 1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, _: &Event<'_>) {}
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

#[test]
fn callsites_exist_only_with_the_feature() {
    let rec = Recorder::default();
    let dispatch = tracing_core::Dispatch::new(rec.clone());
    tracing_core::dispatcher::with_default(&dispatch, || {
        assert_eq!(livetel_feature_off::work("model", "secret"), 11);
        let fut = livetel_feature_off::work_async(21);
        // Poll the future to completion by hand: no runtime is needed for a future that never waits.
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let mut fut = std::pin::pin!(fut);
        assert_eq!(fut.as_mut().poll(&mut cx), std::task::Poll::Ready(42));
    });
    let callsites = rec.callsites.lock().unwrap().clone();
    let ours = callsites.iter().filter(|n| n.starts_with("feature_off")).count();
    let spans = rec.spans.load(Ordering::SeqCst);
    if cfg!(feature = "profiling") {
        // The control: the same test sees both callsites when the feature is on.
        assert_eq!((ours, spans), (2, 2), "callsites registered: {callsites:?}");
    } else {
        assert_eq!(
            (ours, spans),
            (0, 0),
            "callsites registered without the feature: {callsites:?}"
        );
    }
}
