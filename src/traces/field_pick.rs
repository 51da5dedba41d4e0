//! The fields a span that only other signals' hooks see ([`super::hook_span`]) keeps: those some hook names
//! ([`SpanHook::fields_read`](super::hooks::SpanHook::fields_read)), and the ones that mark an error. The metrics
//! hook reads `otel.kind`, its `span_labels` and the error; profiling reads `agent.name` and `session.id`;
//! budgets read none. A callsite with none of those fields is not visited at all, which at `backend = "none"`
//! with metrics on was the largest share of livetel's own work per span (collecting every field into a vector
//! that no hook read; see docs/PERFORMANCE.md, P1m_static).
//!
//! What a generation's hooks read is a [`FieldPick`]. What a hook span picks is [`PickUnion`]: the union of the
//! picks of every generation so far, kept in [`super::live::Live`] and read with no generation loaded (a hook
//! span begins without one). It only grows, up to [`UNION_NAMES`] names (then every field is kept): a name a
//! later config no longer reads is still collected, which costs a little and changes no figure.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use smallvec::SmallVec;
use tracing_core::field::{Field, FieldSet, Visit};

use super::hooks::{FieldsRead, Hooks};
use crate::sinks::fields::Update;
use crate::sinks::record::FieldValue;

/// The fields that mark a span in error ([`crate::sinks::fields::marks_error`]): picked whenever a hook reads
/// [`ClosedSpan::error`](super::hooks::ClosedSpan::error).
const ERROR_FIELDS: [&str; 2] = ["error", "otel.status_code"];

/// How many distinct names [`PickUnion`] keeps before it keeps every field instead.
pub(crate) const UNION_NAMES: usize = 32;

/// The fields a hook span keeps: one inline (an `otel.kind`), so the span's extension stays small.
pub(crate) type PickedFields = SmallVec<[(&'static str, FieldValue); 1]>;

/// The union of the fields a generation's hooks read.
#[derive(Debug, Default)]
pub(crate) struct FieldPick {
    /// Some hook reads every field.
    all: bool,
    /// The names some hook reads, with [`ERROR_FIELDS`]; empty when no hook reads fields.
    names: Box<[Box<str>]>,
}

impl FieldPick {
    /// What `hooks` read, together.
    pub(crate) fn of(hooks: &Hooks) -> FieldPick {
        let mut all = false;
        let mut names: Vec<Box<str>> = Vec::new();
        for (_, hook) in hooks {
            match hook.fields_read() {
                FieldsRead::Nothing => {}
                FieldsRead::All => all = true,
                FieldsRead::Named(read) => {
                    let error = ERROR_FIELDS.iter().map(|n| (*n).to_owned());
                    for name in read.into_iter().chain(error) {
                        if !names.iter().any(|n| **n == *name) {
                            names.push(name.into());
                        }
                    }
                }
            }
        }
        FieldPick {
            all,
            names: names.into(),
        }
    }

    /// True when some hook reads some field (or the error they mark).
    #[inline]
    pub(crate) fn any(&self) -> bool {
        self.all || !self.names.is_empty()
    }
}

/// The union of every [`FieldPick`] added so far: grows, never shrinks; read with no lock and no reference
/// count (each name is a `OnceLock` set once by the reload path).
#[derive(Debug, Default)]
pub(crate) struct PickUnion {
    all: AtomicBool,
    names: [OnceLock<Box<str>>; UNION_NAMES],
}

impl PickUnion {
    /// Adds what `pick` reads. Called by the reload path only (one writer), before the generation that reads
    /// it is made current.
    pub(crate) fn add(&self, pick: &FieldPick) {
        if pick.all {
            self.all.store(true, Ordering::Relaxed);
        }
        for name in &pick.names {
            if self.names().any(|n| n == &**name) {
                continue;
            }
            match self.names.iter().find(|slot| slot.get().is_none()) {
                Some(slot) => {
                    let _ = slot.set(name.clone());
                }
                None => self.all.store(true, Ordering::Relaxed),
            }
        }
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.names.iter().map_while(|slot| slot.get().map(|n| &**n))
    }

    /// True when some hook reads (or read) the field `name`.
    #[inline]
    fn wants(&self, name: &str) -> bool {
        self.all.load(Ordering::Relaxed) || self.names().any(|n| n == name)
    }

    /// True when some hook reads (or read) one of `fields` (a callsite's): its spans need no visit otherwise,
    /// neither at their start nor when they record.
    #[inline]
    pub(crate) fn wants_any(&self, fields: &FieldSet) -> bool {
        self.all.load(Ordering::Relaxed) || fields.iter().any(|f| self.wants(f.name()))
    }
}

/// Sets in `fields` the fields `pick` wants (one recorded again replaces its value).
pub(crate) struct Picked<'a> {
    pub(crate) pick: &'a PickUnion,
    pub(crate) fields: &'a mut PickedFields,
}

impl Visit for Picked<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        if self.pick.wants(field.name()) {
            Update(self.fields).record_f64(field, value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.pick.wants(field.name()) {
            Update(self.fields).record_i64(field, value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.pick.wants(field.name()) {
            Update(self.fields).record_u64(field, value);
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.pick.wants(field.name()) {
            Update(self.fields).record_bool(field, value);
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if self.pick.wants(field.name()) {
            Update(self.fields).record_str(field, value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if self.pick.wants(field.name()) {
            Update(self.fields).record_debug(field, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::traces::hooks::{ClosedSpan, SpanHook, Verdict};

    struct Reads(FieldsRead);

    impl SpanHook for Reads {
        fn on_close(&self, _: &ClosedSpan<'_>) -> Verdict {
            Verdict::Pass
        }

        fn fields_read(&self) -> FieldsRead {
            self.0.clone()
        }
    }

    fn pick(reads: Vec<FieldsRead>) -> FieldPick {
        let hooks: Hooks = reads
            .into_iter()
            .map(|r| ("t", Arc::new(Reads(r)) as Arc<dyn SpanHook>))
            .collect();
        FieldPick::of(&hooks)
    }

    #[test]
    fn named_fields_bring_the_error_fields_and_nothing_else() {
        let p = pick(vec![
            FieldsRead::Nothing,
            FieldsRead::Named(vec!["otel.kind".into(), "error".into()]),
            FieldsRead::Named(vec!["agent.name".into()]),
        ]);
        assert!(p.any());
        assert_eq!(p.names.len(), 4, "no name twice: {:?}", p.names);
        let union = PickUnion::default();
        union.add(&p);
        for name in ["otel.kind", "agent.name", "error", "otel.status_code"] {
            assert!(union.wants(name), "{name}");
        }
        assert!(!union.wants("kind"));
        assert!(!union.wants("otel.kin"));
    }

    #[test]
    fn nothing_read_wants_nothing_and_all_wants_everything() {
        let none = pick(vec![FieldsRead::Nothing]);
        assert!(!none.any());
        let union = PickUnion::default();
        union.add(&none);
        assert!(!union.wants("error"));
        union.add(&pick(vec![FieldsRead::Nothing, FieldsRead::All]));
        assert!(union.wants("whatever"));
    }

    #[test]
    fn the_union_grows_keeps_each_name_once_and_keeps_all_past_its_room() {
        let union = PickUnion::default();
        union.add(&pick(vec![FieldsRead::Named(vec!["a".into()])]));
        union.add(&pick(vec![FieldsRead::Named(vec!["b".into(), "a".into()])]));
        // a, error, otel.status_code, b: once each, and `a` still wanted after a config that dropped it.
        assert_eq!(union.names().count(), 4);
        assert!(union.wants("a") && union.wants("b") && !union.wants("c"));
        let many: Vec<String> = (0..UNION_NAMES).map(|i| format!("f{i}")).collect();
        union.add(&pick(vec![FieldsRead::Named(many)]));
        assert_eq!(union.names().count(), UNION_NAMES);
        assert!(union.wants("never.named"), "past its room it keeps every field");
    }
}
