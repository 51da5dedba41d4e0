//! `livetel flamegraph TRACE.json -o out.svg`: the span tree as folded stacks, drawn by inferno.
//!
//! Per thread, a span's parent is the innermost span of that thread that contains it in time (spans of one
//! thread nest: tracing enters and exits them as a stack). A frame's weight is the span's self time in
//! nanoseconds: its duration minus its direct children's.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use crate::trace::{Span, progress};

/// What went wrong drawing the flame graph.
#[derive(Debug, thiserror::Error)]
pub enum FlameError {
    /// The trace holds no span.
    #[error("{}: no span to draw", path.display())]
    Empty {
        /// The trace file.
        path: PathBuf,
    },
    /// The SVG file could not be created or written.
    #[error("{}: cannot write the flame graph: {source}", path.display())]
    Write {
        /// The output file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// inferno refused the folded stacks.
    #[error("{}: drawing the flame graph failed: {message}", path.display())]
    Draw {
        /// The output file.
        path: PathBuf,
        /// inferno's message.
        message: String,
    },
}

/// Folded stacks (`root;child;leaf SELF_NS`), one line per distinct stack, sorted.
pub fn folded(spans: &[Span]) -> Vec<String> {
    let mut threads: HashMap<(u64, u64), Vec<&Span>> = HashMap::new();
    for span in spans {
        threads.entry(span.thread).or_default().push(span);
    }
    let bar = progress(spans.len(), "folding");
    let mut weights: BTreeMap<String, u64> = BTreeMap::new();
    for mut list in threads.into_values() {
        list.sort_by(|a, b| a.start_ns.cmp(&b.start_ns).then(b.dur_ns.cmp(&a.dur_ns)));
        fold_thread(&list, &mut weights);
        bar.inc(list.len() as u64);
    }
    bar.finish_and_clear();
    weights
        .into_iter()
        .filter(|(_, w)| *w > 0)
        .map(|(stack, w)| format!("{stack} {w}"))
        .collect()
}

/// Adds one thread's spans (sorted by start, longest first) to `weights`.
fn fold_thread(list: &[&Span], weights: &mut BTreeMap<String, u64>) {
    // Open ancestors: (path, end, self time left).
    let mut stack: Vec<(String, u64, u64)> = Vec::new();
    for span in list {
        // Sorted by start, an open span contains this one iff it ends no earlier.
        while stack.last().is_some_and(|top| top.1 < span.end_ns()) {
            close(&mut stack, weights);
        }
        let name = span.name.replace(';', ":");
        let path = match stack.last_mut() {
            Some(parent) => {
                parent.2 = parent.2.saturating_sub(span.dur_ns);
                format!("{};{name}", parent.0)
            }
            None => name,
        };
        stack.push((path, span.end_ns(), span.dur_ns));
    }
    while !stack.is_empty() {
        close(&mut stack, weights);
    }
}

fn close(stack: &mut Vec<(String, u64, u64)>, weights: &mut BTreeMap<String, u64>) {
    if let Some((path, _, self_ns)) = stack.pop() {
        *weights.entry(path).or_default() += self_ns;
    }
}

/// Draws `spans` of `trace` into the SVG file `out`.
pub fn draw(trace: &Path, spans: &[Span], out: &Path) -> Result<(), FlameError> {
    let lines = folded(spans);
    if lines.is_empty() {
        return Err(FlameError::Empty {
            path: trace.to_owned(),
        });
    }
    let write_err = |source| FlameError::Write {
        path: out.to_owned(),
        source,
    };
    let file = std::fs::File::create(out).map_err(write_err)?;
    let mut options = inferno::flamegraph::Options::default();
    options.title = format!("livetel: {}", trace.display());
    options.count_name = "ns".to_owned();
    let mut writer = std::io::BufWriter::new(file);
    inferno::flamegraph::from_lines(&mut options, lines.iter().map(String::as_str), &mut writer).map_err(
        |e| FlameError::Draw {
            path: out.to_owned(),
            message: e.to_string(),
        },
    )?;
    std::io::Write::flush(&mut writer).map_err(write_err)
}
