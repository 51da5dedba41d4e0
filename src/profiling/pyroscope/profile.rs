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

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;
    use crate::profiling::pyroscope::labels::{self, Label};
    use crate::profiling::pyroscope::ring::MAX_FRAMES;

    fn decoded(mode: SpanLabels) -> protos::Profile {
        let previous = labels::enter(Label {
            name: "llm.chat",
            span_id: 0xab,
            trace_id: 0xcd,
        });
        let label = labels::read_in_handler().ok();
        labels::restore(previous);
        let mut rec = Record {
            frames: [0; MAX_FRAMES],
            depth: 2,
            label,
        };
        rec.frames[..2].copy_from_slice(&[decoded as *const () as u64, encode as *const () as u64]);
        let mut interval = Interval::default();
        (0..3).for_each(|_| interval.add(&rec));
        let meta = Meta {
            hz: 100,
            labels: mode,
            start: SystemTime::now(),
            duration: Duration::from_secs(1),
        };
        let gz = encode(&interval, &meta, &mut Symbols::default()).expect("encode");
        let mut raw = Vec::new();
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut raw)
            .expect("gunzip");
        protos::Profile::decode(&raw[..]).expect("decode")
    }

    fn labels_of(p: &protos::Profile) -> Vec<(String, String)> {
        let s = |i: i64| p.string_table[i as usize].clone();
        p.sample[0].label.iter().map(|l| (s(l.key), s(l.str))).collect()
    }

    #[test]
    fn samples_carry_the_labels_their_mode_asks_for() {
        let p = decoded(SpanLabels::NameAndId);
        assert_eq!(p.sample.len(), 1);
        assert_eq!(p.sample[0].value, vec![3, 30_000_000]);
        assert_eq!(p.sample[0].location_id.len(), 2);
        let want = [
            ("span_name", "llm.chat".to_owned()),
            ("span_id", format!("{:016x}", 0xab)),
            ("trace_id", format!("{:032x}", 0xcd)),
        ];
        let want: Vec<_> = want.iter().map(|(k, v)| (k.to_string(), v.clone())).collect();
        assert_eq!(labels_of(&p), want);
        assert_eq!(labels_of(&decoded(SpanLabels::Name)), want[..1].to_vec());
        assert!(labels_of(&decoded(SpanLabels::None)).is_empty());
    }
}
