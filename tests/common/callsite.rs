//! Callsites of the tests' own, to reach the two steps of a registration and the `sometimes` path that
//! `info_span!` callsites take when their interest is not cached as `always`.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Mutex, mpsc};

use tracing_core::callsite::Callsite;
use tracing_core::subscriber::Interest;
use tracing_core::{Level, LevelFilter, Metadata};

/// Released by the test: (tell the test it is held, wait for the test's go).
pub type Hold = (mpsc::Sender<()>, mpsc::Receiver<()>);

pub const NEVER: u8 = 0;
pub const SOMETIMES: u8 = 1;
pub const ALWAYS: u8 = 2;

/// A callsite like the one `info_span!` makes, with two test knobs: its next `set_interest` can be held until
/// released, and it can ignore the interest it is given and ask `enabled` at every use.
pub struct TestCallsite {
    pub registered: std::sync::atomic::AtomicBool,
    pub interest: AtomicU8,
    pub hold: Mutex<Option<Hold>>,
    pub always_ask: bool,
    pub meta: &'static Metadata<'static>,
}

/// Declares `static $cs: TestCallsite` named `$name`, with its metadata.
#[macro_export]
macro_rules! test_callsite {
    ($cs:ident, $name:literal, always_ask: $ask:literal) => {
        static $cs: common::callsite::TestCallsite = {
            static META: tracing_core::Metadata<'static> = tracing_core::Metadata::new(
                $name,
                "test_callsite",
                tracing_core::Level::INFO,
                Some(file!()),
                Some(line!()),
                Some(module_path!()),
                tracing_core::field::FieldSet::new(&["seq"], tracing_core::callsite::Identifier(&$cs)),
                tracing_core::metadata::Kind::SPAN,
            );
            common::callsite::TestCallsite {
                registered: std::sync::atomic::AtomicBool::new(false),
                // Until the registration stores an answer, other threads ask `enabled`, as tracing-core's own
                // callsites do while one is being registered.
                interest: std::sync::atomic::AtomicU8::new(common::callsite::SOMETIMES),
                hold: std::sync::Mutex::new(None),
                always_ask: $ask,
                meta: &META,
            }
        };
    };
}

impl Callsite for TestCallsite {
    fn set_interest(&self, interest: Interest) {
        let held = self.hold.lock().map(|mut h| h.take()).unwrap_or(None);
        if let Some((held, go)) = held {
            held.send(()).expect("the test waits for the hold");
            go.recv().expect("the test releases the hold");
        }
        let value = if self.always_ask || interest.is_sometimes() {
            SOMETIMES
        } else if interest.is_never() {
            NEVER
        } else {
            ALWAYS
        };
        self.interest.store(value, Ordering::SeqCst);
    }

    fn metadata(&self) -> &Metadata<'_> {
        self.meta
    }
}

impl TestCallsite {
    /// Registers the callsite on its first use, as the macros do (`register` asks, then calls `set_interest`).
    pub fn register(&'static self) {
        if !self.registered.swap(true, Ordering::SeqCst) {
            tracing_core::callsite::register(self);
        }
    }

    /// The cached interest, as [`NEVER`], [`SOMETIMES`] or [`ALWAYS`].
    pub fn cached(&self) -> u8 {
        self.interest.load(Ordering::SeqCst)
    }

    /// What `info_span!(name, seq)` does with this callsite, entered and closed at once; true when enabled.
    pub fn span(&'static self, seq: u64) -> bool {
        self.span_around(seq, || {})
    }

    /// As [`span`](Self::span), running `f` inside the span.
    pub fn span_around(&'static self, seq: u64, f: impl FnOnce()) -> bool {
        self.register();
        let interest = self.cached();
        if interest == NEVER || Level::INFO > LevelFilter::current() {
            f();
            return false;
        }
        if interest == SOMETIMES && !tracing::dispatcher::get_default(|d| d.enabled(self.meta)) {
            f();
            return false;
        }
        let fields = self.meta.fields();
        let field = fields.field("seq").expect("declared");
        let values = [(&field, Some(&seq as &dyn tracing::Value))];
        tracing::Span::new(self.meta, &fields.value_set(&values)).in_scope(f);
        true
    }
}
