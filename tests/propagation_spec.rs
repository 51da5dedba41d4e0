//! Extraction per W3C Trace Context (`spec/20-http_request_header_format.md` of w3c/trace-context; each test
//! names the section it follows), through `extract` → `set_parent` → `inject` on a span livetel records; the live
//! `propagators` list (B3, baggage, `OTEL_PROPAGATORS`) and its config errors.

mod common;

use std::collections::HashMap;

use common::Fixture;
use livetel::propagation;
use opentelemetry::propagation::Extractor;
use opentelemetry::trace::TraceContextExt;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT: &str = "00f067aa0ba902b7";

fn traceparent(flags: &str) -> String {
    format!("00-{TRACE}-{PARENT}-{flags}")
}

/// Request headers as received: a name may repeat, in order (what `http::HeaderMap` hands over).
struct Headers(Vec<(&'static str, String)>);

impl Extractor for Headers {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.iter().map(|(k, _)| *k).collect()
    }
    fn get_all(&self, key: &str) -> Option<Vec<&str>> {
        let all: Vec<&str> = self
            .0
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
            .collect();
        (!all.is_empty()).then_some(all)
    }
}

fn headers(pairs: &[(&'static str, &str)]) -> Headers {
    Headers(pairs.iter().map(|(k, v)| (*k, v.to_string())).collect())
}

/// What a span that adopted `incoming` writes for its outgoing calls, under a livetel at `body`.
fn hop(body: &str, incoming: &Headers) -> HashMap<String, String> {
    let f = Fixture::new(body);
    let t = f.start();
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        let span = tracing::info_span!(parent: None, "handle");
        propagation::set_parent(&span, &propagation::extract(incoming));
        let mut out = HashMap::new();
        propagation::inject(&span, &mut out);
        out
    })
}

fn local_hop(incoming: &Headers) -> HashMap<String, String> {
    hop("watch = false\nbackend = \"local\"", incoming)
}

/// "traceparent Header" and "Header Name": one `traceparent`; a second value (even in another case of the
/// name) makes the request's parent invalid, so the trace restarts — and `tracestate` is then not read ("If the
/// vendor failed to parse `traceparent`, it MUST NOT attempt to parse `tracestate`").
#[test]
fn a_duplicated_traceparent_restarts_the_trace() {
    let tp = traceparent("01");
    let once = local_hop(&headers(&[("traceparent", &tp), ("tracestate", "a=1")]));
    assert!(once["traceparent"].contains(TRACE), "{once:?}");
    for second in [
        tp.as_str(),
        "00-11111111111111111111111111111111-2222222222222222-01",
    ] {
        let twice = headers(&[
            ("traceparent", &tp),
            ("TraceParent", second),
            ("tracestate", "a=1"),
        ]);
        assert!(!propagation::extract(&twice).has_active_span());
        let out = local_hop(&twice);
        assert!(!out["traceparent"].contains(TRACE), "a new trace: {out:?}");
        assert!(!out.contains_key("tracestate"), "{out:?}");
    }
}

/// "tracestate Header Field Values": multiple `tracestate` fields are combined into one list, in order.
#[test]
fn several_tracestate_headers_are_one_list() {
    let tp = traceparent("01");
    let h = headers(&[
        ("traceparent", &tp),
        ("tracestate", "congo=t61rcWkgMzE"),
        ("tracestate", "rojo=00f067aa0ba902b7,x=1"),
    ]);
    assert_eq!(
        local_hop(&h)["tracestate"],
        "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7,x=1"
    );
    let sc = propagation::extract(&h).span().span_context().clone();
    assert_eq!(sc.trace_state().get("rojo"), Some("00f067aa0ba902b7"));
}

/// "tracestate Header Field Values": vendors MUST accept empty `tracestate` headers; an empty one beside a
/// valid one leaves the valid list whole, and empty or whitespace-only members are allowed.
#[test]
fn an_empty_tracestate_beside_a_valid_one_is_harmless() {
    let tp = traceparent("01");
    for (first, second) in [("", "a=1,b=2"), ("a=1,b=2", ""), (" , ", "a=1 ,\t, b=2")] {
        let h = headers(&[
            ("traceparent", &tp),
            ("tracestate", first),
            ("tracestate", second),
        ]);
        assert_eq!(local_hop(&h)["tracestate"], "a=1,b=2", "{first:?} {second:?}");
    }
    let only_empty = local_hop(&headers(&[("traceparent", &tp), ("tracestate", "")]));
    assert!(
        !only_empty.contains_key("tracestate"),
        "SHOULD avoid sending empty: {only_empty:?}"
    );
}

/// "list": up to 32 members; a list of 32 is passed on whole.
#[test]
fn thirty_two_members_are_passed_on() {
    let tp = traceparent("01");
    let members: Vec<String> = (0..32).map(|i| format!("vendor{i}=value{i}")).collect();
    let list = members.join(",");
    assert_eq!(
        local_hop(&headers(&[("traceparent", &tp), ("tracestate", &list)]))["tracestate"],
        list
    );
}

/// "Key": up to 256 characters, vendor (`tenant@system`) keys included; "Value": up to 256 printable characters
/// but `,` and `=`. A list with any invalid member, an overlong key or more than 32 members is discarded whole
/// (the W3C test suite's `test_tracestate_*` cases); the `traceparent` beside it still counts. A repeated key
/// keeps its first member.
#[test]
fn keys_values_and_invalid_lists() {
    let tp = traceparent("01");
    let long_key = format!("k{}", "x".repeat(255));
    let vendor = format!("{}@{}", "t".repeat(241), "s".repeat(14));
    let long_value = "v".repeat(256);
    let state = format!("{long_key}=1,{vendor}=2,fw529a3039@dt=3,ok={long_value},last=6");
    let out = local_hop(&headers(&[("traceparent", &tp), ("tracestate", &state)]));
    assert_eq!(out["tracestate"], state);
    let thirty_three: Vec<String> = (0..33).map(|i| format!("k{i}=v{i}")).collect();
    let overlong = format!("k{}=5", "x".repeat(256));
    for bad in [
        "@foo=1,bar=2",
        "foo=,bar=3",
        "foo=bar=baz",
        "a=1,Upper=4",
        "a=1,bad=tab\there",
        overlong.as_str(),
        thirty_three.join(",").as_str(),
    ] {
        let out = local_hop(&headers(&[("traceparent", &tp), ("tracestate", bad)]));
        assert!(out["traceparent"].contains(TRACE), "{bad:?}: {out:?}");
        assert!(!out.contains_key("tracestate"), "{bad:?}: {out:?}");
        let sc = propagation::extract(&headers(&[("traceparent", &tp), ("tracestate", bad)]))
            .span()
            .span_context()
            .clone();
        assert!(sc.is_valid() && sc.trace_state().header().is_empty(), "{bad:?}");
    }
    let out = local_hop(&headers(&[
        ("traceparent", &tp),
        ("tracestate", "foo=1,bar=2,foo=3"),
    ]));
    assert_eq!(out["tracestate"], "foo=1,bar=2");
}

/// Level 2's `random` flag: kept as the caller sent it by a span livetel records (`03` stays `03`, `01` stays
/// `01`), and set on the trace ids livetel makes: `03` when sampled, `02` when not.
#[test]
fn the_random_flag_is_kept_and_set() {
    for flags in ["03", "02", "01", "00"] {
        let out = local_hop(&headers(&[("traceparent", &traceparent(flags))]));
        assert!(
            out["traceparent"].ends_with(&format!("-{flags}")),
            "{flags}: {out:?}"
        );
    }
    let own = |body: &str| {
        let f = Fixture::new(body);
        let t = f.start();
        tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
            let mut out = HashMap::new();
            propagation::inject(&tracing::info_span!("root"), &mut out);
            out.remove("traceparent").unwrap_or_default()
        })
    };
    let sampled = own("watch = false\nbackend = \"local\"");
    assert!(sampled.ends_with("-03"), "{sampled}");
    let dropped = own("watch = false\nbackend = \"local\"\nsample_rate = 0.0");
    assert!(dropped.ends_with("-02"), "{dropped}");
}

/// "Combined Header Value": the `traceparent` fields are kept; the sampled flag ("trace-flags") is followed.
#[test]
fn ids_and_sampled_flag_are_followed() {
    for flags in ["01", "00"] {
        let out = local_hop(&headers(&[("traceparent", &traceparent(flags))]));
        let tp = &out["traceparent"];
        assert!(
            tp.starts_with(&format!("00-{TRACE}-")) && tp.ends_with(flags),
            "{tp}"
        );
        assert!(!tp.contains(PARENT), "a new parent id: our span");
    }
}

/// `propagators = ["b3"]` reads and writes the single `b3` header; `"b3multi"` the `x-b3-*` headers.
#[test]
fn b3_single_and_multi() {
    let single = headers(&[("b3", &format!("{TRACE}-{PARENT}-1"))]);
    let out = hop(
        "watch = false\nbackend = \"local\"\npropagators = [\"b3\"]",
        &single,
    );
    assert!(
        out["b3"].starts_with(TRACE) && out["b3"].ends_with("-1"),
        "{out:?}"
    );
    assert!(!out.contains_key("traceparent"));
    let multi = headers(&[
        ("x-b3-traceid", TRACE),
        ("x-b3-spanid", PARENT),
        ("x-b3-sampled", "0"),
    ]);
    let out = hop(
        "watch = false\nbackend = \"local\"\npropagators = [\"b3multi\", \"tracecontext\"]",
        &multi,
    );
    assert_eq!(out["x-b3-traceid"], TRACE);
    assert_eq!(out["x-b3-sampled"], "0");
    assert!(out["traceparent"].contains(TRACE) && out["traceparent"].ends_with("-00"));
}

/// W3C Baggage passes through with the default propagators, not when `baggage` is left out.
#[test]
fn baggage_follows_the_trace() {
    let tp = traceparent("01");
    let h = headers(&[("traceparent", &tp), ("baggage", "user=alice,tier=gold")]);
    let out = local_hop(&h);
    let mut got: Vec<&str> = out["baggage"].split(',').collect();
    got.sort_unstable();
    assert_eq!(got, ["tier=gold", "user=alice"]);
    let out = hop(
        "watch = false\nbackend = \"local\"\npropagators = [\"tracecontext\"]",
        &h,
    );
    assert!(!out.contains_key("baggage"), "{out:?}");
}

/// W3C Baggage, "Header Name": several `baggage` headers are one list.
#[test]
fn several_baggage_headers_are_one_list() {
    let tp = traceparent("01");
    let h = headers(&[
        ("traceparent", &tp),
        ("baggage", "user=alice"),
        ("baggage", "tier=gold,region=eu"),
    ]);
    let out = local_hop(&h);
    let mut got: Vec<&str> = out["baggage"].split(',').collect();
    got.sort_unstable();
    assert_eq!(got, ["region=eu", "tier=gold", "user=alice"]);
}

/// Extraction tries the trace formats in the order of `propagators`: the first that yields a context wins.
#[test]
fn extraction_follows_the_configured_order() {
    let other = "11111111111111111111111111111111";
    let h = headers(&[
        ("traceparent", &traceparent("01")),
        ("b3", &format!("{other}-{PARENT}-1")),
    ]);
    let b3_first = hop(
        "watch = false\nbackend = \"local\"\npropagators = [\"b3\", \"tracecontext\"]",
        &h,
    );
    assert!(b3_first["traceparent"].contains(other), "{b3_first:?}");
    let w3c_first = hop(
        "watch = false\nbackend = \"local\"\npropagators = [\"tracecontext\", \"b3\"]",
        &h,
    );
    assert!(w3c_first["traceparent"].contains(TRACE), "{w3c_first:?}");
    // The first format yields nothing valid: the next one's context is used.
    let bad_b3 = headers(&[("traceparent", &traceparent("01")), ("b3", "nonsense-1")]);
    let out = hop(
        "watch = false\nbackend = \"local\"\npropagators = [\"b3\", \"tracecontext\"]",
        &bad_b3,
    );
    assert!(out["traceparent"].contains(TRACE), "{out:?}");
}

/// B3 "Single Header": `b3: 0` alone is a deny: no ids, so the span begins a trace of its own, not sampled, and
/// its calls carry the deny on.
#[test]
fn a_b3_deny_without_ids_is_honoured() {
    let body = "watch = false\nbackend = \"local\"\npropagators = [\"b3\", \"tracecontext\"]";
    let f = Fixture::new(body);
    let t = f.start();
    let out = tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        let span = tracing::info_span!(parent: None, "handle");
        let cx = propagation::extract(&headers(&[("b3", "0")]));
        assert!(!cx.span().span_context().is_valid());
        assert!(propagation::set_parent(&span, &cx));
        let mut out = HashMap::new();
        propagation::inject(&span, &mut out);
        out
    });
    assert!(out["b3"].ends_with("-0"), "{out:?}");
    assert!(out["traceparent"].ends_with("-02"), "not sampled: {out:?}");
    let c = t.counters();
    assert_eq!((c.started, c.sampled_out), (1, 1), "{c:?}");
}

/// The list is live: a reload changes the formats of the next call.
#[test]
fn propagators_change_on_reload() {
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let t = f.start();
    let written = || {
        tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
            let mut out = HashMap::new();
            propagation::inject(&tracing::info_span!("call"), &mut out);
            let mut names: Vec<String> = out.into_keys().collect();
            names.sort();
            names
        })
    };
    assert_eq!(written(), ["traceparent"]);
    f.write("watch = false\nbackend = \"local\"\npropagators = [\"b3\", \"b3multi\"]");
    assert!(t.reload_trigger().reload_blocking().is_applied());
    assert_eq!(written(), ["b3", "x-b3-sampled", "x-b3-spanid", "x-b3-traceid"]);
}

/// `OTEL_PROPAGATORS` overrides the file's list and status names it.
#[test]
fn otel_propagators_is_an_env_override() {
    let f = Fixture::new("watch = false\nbackend = \"local\"");
    let env =
        livetel::config::EnvOverrides::from_lookup(|k| (k == "OTEL_PROPAGATORS").then(|| "b3".to_owned()));
    let t = f.builder().env_overrides(env).build().expect("starts");
    let status = t.status().borrow().clone();
    let json = serde_json::to_value(&*status).expect("status");
    assert!(
        json["env_overrides"].to_string().contains("OTEL_PROPAGATORS"),
        "{json}"
    );
    assert_eq!(json["propagators"], serde_json::json!(["b3"]));
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        let mut out = HashMap::new();
        propagation::inject(&tracing::info_span!("call"), &mut out);
        assert!(
            out.contains_key("b3") && !out.contains_key("traceparent"),
            "{out:?}"
        );
    });
}

/// An unknown name is refused at its line and column, with the closest known name.
#[test]
fn an_unknown_propagator_is_a_located_error() {
    let e = livetel::config::parse_str(
        "app.toml",
        "[telemetry]\npropagators = [\"tracecontext\", \"b3mutli\"]\n",
    )
    .unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with("app.toml:2:"), "{text}");
    assert!(
        text.contains("telemetry.propagators") && text.contains("did you mean `b3multi`?"),
        "{text}"
    );
}
