//! One interval's samples, counted per (stack, label), encoded as a gzipped pprof `Profile` (the prost types
//! pprof-rs generates from the published profile.proto).

use std::collections::HashMap;
use std::io::Write;
use std::time::{Duration, SystemTime};

use pprof::protos::{self, Message};

use super::SpanLabels;
use super::labels::RawLabel;
use super::ring::Record;
use super::symbols::Symbols;

/// Samples of one interval.
#[derive(Default)]
pub(crate) struct Interval {
    counts: HashMap<(Vec<u64>, Option<RawLabel>), i64>,
    /// Samples in this interval.
    pub(crate) samples: u64,
}

impl Interval {
    /// Counts one record (records without frames are not samples: their unwind was refused).
    pub(crate) fn add(&mut self, rec: &Record) {
        if rec.depth == 0 {
            return;
        }
        *self.counts.entry((rec.stack().to_vec(), rec.label)).or_default() += 1;
        self.samples += 1;
    }
}

/// What the encoder needs besides the samples.
pub(crate) struct Meta {
    pub(crate) hz: u32,
    pub(crate) labels: SpanLabels,
    pub(crate) start: SystemTime,
    pub(crate) duration: Duration,
}

#[derive(Default)]
struct Builder {
    p: protos::Profile,
    strings: HashMap<String, i64>,
    locations: HashMap<u64, u64>,
    functions: HashMap<(String, String), u64>,
}

impl Builder {
    fn string(&mut self, s: &str) -> i64 {
        if let Some(&i) = self.strings.get(s) {
            return i;
        }
        let i = self.p.string_table.len() as i64;
        self.p.string_table.push(s.to_owned());
        self.strings.insert(s.to_owned(), i);
        i
    }

    fn function(&mut self, name: &str, file: &str) -> u64 {
        if let Some(&id) = self.functions.get(&(name.to_owned(), file.to_owned())) {
            return id;
        }
        let id = self.p.function.len() as u64 + 1;
        let (name_i, file_i) = (self.string(name), self.string(file));
        self.p.function.push(protos::Function {
            id,
            name: name_i,
            system_name: name_i,
            filename: file_i,
            start_line: 0,
        });
        self.functions.insert((name.to_owned(), file.to_owned()), id);
        id
    }

    fn location(&mut self, addr: u64, symbols: &mut Symbols) -> u64 {
        if let Some(&id) = self.locations.get(&addr) {
            return id;
        }
        let funcs = symbols.resolve(addr).to_vec();
        let line = funcs
            .iter()
            .map(|f| protos::Line {
                function_id: self.function(&f.name, &f.file),
                line: f.line,
            })
            .collect();
        let id = self.p.location.len() as u64 + 1;
        self.p.location.push(protos::Location {
            id,
            address: addr,
            line,
            ..Default::default()
        });
        self.locations.insert(addr, id);
        id
    }

    fn labels(&mut self, raw: Option<RawLabel>, mode: SpanLabels) -> Vec<protos::Label> {
        let Some(raw) = raw else { return Vec::new() };
        let Some(name) = raw.name() else { return Vec::new() };
        let mut out = Vec::new();
        if mode == SpanLabels::None {
            return out;
        }
        out.push(self.label("span_name", name));
        if mode == SpanLabels::NameAndId {
            if raw.span_id != 0 {
                out.push(self.label("span_id", &format!("{:016x}", raw.span_id)));
            }
            if raw.trace_id != 0 {
                out.push(self.label("trace_id", &format!("{:032x}", raw.trace_id)));
            }
        }
        out
    }

    fn label(&mut self, key: &str, value: &str) -> protos::Label {
        protos::Label {
            key: self.string(key),
            str: self.string(value),
            ..Default::default()
        }
    }
}

/// The interval as a gzipped pprof profile: sample types `samples/count` and `cpu/nanoseconds`.
pub(crate) fn encode(interval: &Interval, meta: &Meta, symbols: &mut Symbols) -> std::io::Result<Vec<u8>> {
    let mut b = Builder::default();
    b.string("");
    let period = 1_000_000_000 / i64::from(meta.hz.max(1));
    let value_type = |b: &mut Builder, ty: &str, unit: &str| protos::ValueType {
        ty: b.string(ty),
        unit: b.string(unit),
    };
    b.p.sample_type = vec![
        value_type(&mut b, "samples", "count"),
        value_type(&mut b, "cpu", "nanoseconds"),
    ];
    b.p.period_type = Some(value_type(&mut b, "cpu", "nanoseconds"));
    b.p.period = period;
    b.p.time_nanos = nanos(
        meta.start
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default(),
    );
    b.p.duration_nanos = nanos(meta.duration);
    for ((stack, label), &count) in &interval.counts {
        let location_id = stack.iter().map(|&a| b.location(a, symbols)).collect();
        let label = b.labels(*label, meta.labels);
        b.p.sample.push(protos::Sample {
            location_id,
            value: vec![count, count * period],
            label,
        });
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&b.p.encode_to_vec())?;
    gz.finish()
}

fn nanos(d: Duration) -> i64 {
    i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)
}
