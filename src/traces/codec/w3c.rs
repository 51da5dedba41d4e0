//! The W3C `traceparent` header, written and read without going through an OpenTelemetry `Context`.
//!
//! `opentelemetry_sdk`'s `TraceContextPropagator` formats with `format!` and parses by splitting into a `Vec`;
//! in the demo agent that was about 9,000 instructions per hop (callgrind), a fifth of livetel's whole cost per
//! turn. This codec does the same job in a few hundred. It follows the W3C Trace Context spec (level 1, §3.2)
//! strictly: lowercase hex only, fixed field widths, exactly 55 characters for version `00`, version `ff`
//! invalid. It accepts a subset of what the SDK's propagator accepts (a test checks that); `tracestate` has a
//! codec of its own ([`super::tracestate`]).

/// The ids and the two defined trace flags carried by a `traceparent` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TraceParent {
    pub(crate) trace_id: u128,
    pub(crate) span_id: u64,
    pub(crate) sampled: bool,
    /// W3C Trace Context Level 2's `random` flag (`0x02`): the trace id's right-most 7 bytes are random. Set on
    /// the trace ids livetel makes, kept as received on the caller's trace.
    pub(crate) random: bool,
}

/// The `sampled` trace flag.
const SAMPLED: u8 = 0x01;
/// The `random` trace flag (Level 2).
const RANDOM: u8 = 0x02;

const HEX: &[u8; 16] = b"0123456789abcdef";
/// `00-` + 32 + `-` + 16 + `-` + 2.
const LEN: usize = 55;

impl TraceParent {
    /// The header value, version `00`.
    pub(crate) fn encode(&self) -> String {
        let mut buf = [0u8; LEN];
        buf[..3].copy_from_slice(b"00-");
        put_hex(&mut buf[3..35], &self.trace_id.to_be_bytes());
        buf[35] = b'-';
        put_hex(&mut buf[36..52], &self.span_id.to_be_bytes());
        buf[52] = b'-';
        put_hex(&mut buf[53..], &[self.flags()]);
        // Always ASCII, so never the empty fallback.
        std::str::from_utf8(&buf).map_or_else(|_| String::new(), str::to_owned)
    }

    /// The trace-flags byte: `sampled` and `random`.
    pub(crate) fn flags(&self) -> u8 {
        (if self.sampled { SAMPLED } else { 0 }) | (if self.random { RANDOM } else { 0 })
    }

    /// Parses a header value; `None` for anything the spec says must not be parsed, and for all-zero ids.
    pub(crate) fn decode(value: &str) -> Option<TraceParent> {
        let b = value.trim().as_bytes();
        if b.len() < LEN || b[2] != b'-' || b[35] != b'-' || b[52] != b'-' {
            return None;
        }
        let version = hex(&b[..2])?;
        let valid_length = match version {
            0xff => false,
            0 => b.len() == LEN,
            // Later versions may append fields, each after a dash.
            _ => b.len() == LEN || b[LEN] == b'-',
        };
        if !valid_length {
            return None;
        }
        let trace_id = hex(&b[3..35])?;
        let span_id = u64::try_from(hex(&b[36..52])?).ok()?;
        let flags = hex(&b[53..55])?;
        (trace_id != 0 && span_id != 0).then_some(TraceParent {
            trace_id,
            span_id,
            sampled: flags & u128::from(SAMPLED) != 0,
            random: flags & u128::from(RANDOM) != 0,
        })
    }
}

fn put_hex(out: &mut [u8], bytes: &[u8]) {
    for (pair, b) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 0xf)];
    }
}

/// Lowercase hex digits (at most 32) as a number.
pub(crate) fn hex(digits: &[u8]) -> Option<u128> {
    digits.iter().try_fold(0u128, |acc, &d| {
        let v = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            _ => return None,
        };
        Some(acc << 4 | u128::from(v))
    })
}

#[cfg(test)]
mod tests {
    use super::TraceParent;
    use opentelemetry::propagation::TextMapPropagator;
    use opentelemetry::trace::TraceContextExt;
    use opentelemetry_sdk::propagation::TraceContextPropagator;
    use std::collections::HashMap;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    fn sdk(value: &str) -> Option<TraceParent> {
        let headers = HashMap::from([("traceparent".to_owned(), value.to_owned())]);
        let cx = TraceContextPropagator::new().extract(&headers);
        let sc = cx.span().span_context().clone();
        sc.is_valid().then(|| TraceParent {
            trace_id: u128::from_be_bytes(sc.trace_id().to_bytes()),
            span_id: u64::from_be_bytes(sc.span_id().to_bytes()),
            sampled: sc.is_sampled(),
            random: false,
        })
    }

    /// Ours without the `random` flag, which the SDK's propagator (Level 1) drops.
    fn level1(tp: Option<TraceParent>) -> Option<TraceParent> {
        tp.map(|tp| TraceParent { random: false, ..tp })
    }

    #[test]
    fn round_trips_and_matches_the_sdk_on_spec_examples() {
        let tp = TraceParent::decode(VALID).expect("valid");
        assert_eq!(tp.trace_id, 0x4bf9_2f35_77b3_4da6_a3ce_929d_0e0e_4736);
        assert_eq!(tp.span_id, 0x00f0_67aa_0ba9_02b7);
        assert!(tp.sampled);
        assert_eq!(tp.encode(), VALID);
        for v in [
            VALID,
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09",
            "02-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-08",
            "02-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09-XYZxsf09",
            "  00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
        ] {
            assert_eq!(level1(TraceParent::decode(v)), sdk(v), "{v}");
        }
    }

    /// Level 2: the `random` flag (`0x02`) is read and written beside `sampled`; other bits are not kept.
    #[test]
    fn the_random_flag_round_trips() {
        for (flags, sampled, random, out) in [
            ("00", false, false, "00"),
            ("01", true, false, "01"),
            ("02", false, true, "02"),
            ("03", true, true, "03"),
            ("ff", true, true, "03"),
        ] {
            let v = format!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-{flags}");
            let tp = TraceParent::decode(&v).expect("valid");
            assert_eq!((tp.sampled, tp.random), (sampled, random), "{flags}");
            assert!(tp.encode().ends_with(&format!("-{out}")), "{flags}");
        }
    }

    #[test]
    fn rejects_what_the_spec_rejects() {
        for v in [
            "",
            "nonsense",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e47366-00f067aa0ba902b7-01",
            "00-+bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
            "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(TraceParent::decode(v), None, "{v:?}");
        }
    }

    /// Never accepts what the SDK rejects: mutate every byte of a valid header to every printable byte.
    #[test]
    fn accepts_a_subset_of_what_the_sdk_accepts() {
        let mut accepted = 0;
        for i in 0..VALID.len() + 2 {
            for c in 0x20u8..0x7f {
                let mut bytes = VALID.as_bytes().to_vec();
                match bytes.get_mut(i) {
                    Some(b) => *b = c,
                    None => bytes.push(c),
                }
                let Ok(v) = String::from_utf8(bytes) else { continue };
                if let Some(ours) = TraceParent::decode(&v) {
                    accepted += 1;
                    assert_eq!(level1(Some(ours)), sdk(&v), "{v:?}");
                }
            }
        }
        assert!(
            accepted > 500,
            "the mutations should include many valid headers: {accepted}"
        );
    }
}
