//! Addresses to function names, on the sampler thread (never in the handler): the `backtrace` crate's
//! resolver (gimli and addr2line on this process's own modules), inlined frames included, cached per address.

use std::collections::HashMap;

/// Addresses kept resolved; past this the cache starts over (memory stays bounded).
const MAX_CACHED: usize = 100_000;

/// One function of a frame: `(name, file, line)`; inlined callers follow their callee.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Func {
    pub(crate) name: String,
    pub(crate) file: String,
    pub(crate) line: i64,
}

/// The cache.
#[derive(Default)]
pub(crate) struct Symbols {
    resolved: HashMap<u64, Vec<Func>>,
}

impl Symbols {
    /// The functions at lookup address `addr`, innermost (inlined) first; a hex name when unknown.
    pub(crate) fn resolve(&mut self, addr: u64) -> &[Func] {
        if self.resolved.len() >= MAX_CACHED && !self.resolved.contains_key(&addr) {
            self.resolved.clear();
        }
        self.resolved.entry(addr).or_insert_with(|| resolve(addr))
    }
}

fn resolve(addr: u64) -> Vec<Func> {
    let mut funcs = Vec::new();
    // `resolve` looks up `ip - 1` itself; `addr` is already a lookup address.
    backtrace::resolve((addr + 1) as *mut std::ffi::c_void, |sym| {
        let name = sym
            .name()
            .map_or_else(|| format!("{addr:#x}"), |n| format!("{n:#}"));
        let file = sym
            .filename()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        funcs.push(Func {
            name,
            file,
            line: sym.lineno().map_or(0, i64::from),
        });
    });
    if funcs.is_empty() {
        funcs.push(Func {
            name: format!("{addr:#x}"),
            file: String::new(),
            line: 0,
        });
    }
    funcs
}
