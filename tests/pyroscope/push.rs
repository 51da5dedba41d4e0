//! Pushes reach `/ingest` in the shape Pyroscope takes, Go's pprof reads each one, `pprof -tags` shows the span
//! labels; every sample is pushed or counted dropped; endpoint, labels and rate switch live.

use std::io::Read;
use std::time::Duration;

use livetel::profiling::pyroscope::{Sampler, Settings, SpanLabels, Stats};
use pprof::protos::Message;

use super::ingest::{Ingest, Push};
use super::workload::Workload;
use super::{gopprof, one_sampler};

fn settings(endpoint: String, labels: SpanLabels) -> Settings {
    let mut s = Settings::new(endpoint, "livetel-test");
    s.interval = Duration::from_millis(500);
    s.span_labels = labels;
    s
}

/// Samples in one pushed body (the sum of its `samples/count` values).
pub fn samples_in(push: &Push) -> u64 {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(&push.body[..])
        .read_to_end(&mut raw)
        .expect("gzip body");
    let p = pprof::protos::Profile::decode(&raw[..]).expect("pprof protobuf");
    p.sample.iter().map(|s| s.value[0] as u64).sum()
}

/// Writes the push to a file and runs `pprof ARGS` on it.
pub fn pprof_on(push: &Push, args: &[&str]) -> String {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), &push.body).expect("write profile");
    gopprof::run(args, file.path())
}

fn run_for(sampler: &Sampler, threads: usize, until: impl Fn(&Stats) -> bool) {
    let work = Workload::start(threads);
    while !until(&sampler.stats()) {
        std::thread::sleep(Duration::from_millis(50));
    }
    work.stop();
}

#[test]
fn pushes_are_read_by_go_pprof_with_span_labels_and_every_sample_is_counted() {
    let _one = one_sampler();
    let ingest = Ingest::start();
    let mut s = settings(ingest.endpoint(), SpanLabels::NameAndId);
    s.headers = vec![("authorization".into(), "Bearer t0k3n".to_owned().into())];
    let sampler = Sampler::start(s).expect("start");
    run_for(&sampler, 4, |st| st.profiles_pushed >= 3);
    let stats = sampler.stop().expect("stop");
    let pushes = ingest.pushes();
    println!("{stats:?}, {} pushes", pushes.len());

    assert_eq!(stats.profiles_pushed, pushes.len() as u64);
    assert_eq!(
        stats.samples_taken,
        stats.samples_pushed + stats.samples_dropped_in_profiles
    );
    assert_eq!(stats.samples_pushed, pushes.iter().map(samples_in).sum::<u64>());
    let mut tags = String::new();
    let mut top = String::new();
    for p in &pushes {
        assert_eq!(p.query.get("name").map(String::as_str), Some("livetel-test{}"));
        assert_eq!(p.query.get("format").map(String::as_str), Some("pprof"));
        assert_eq!(p.query.get("sampleRate").map(String::as_str), Some("100"));
        let (from, until): (u64, u64) = (
            p.query["from"].parse().unwrap(),
            p.query["until"].parse().unwrap(),
        );
        assert!(from < until, "from {from} until {until}");
        assert_eq!(p.auth.as_deref(), Some("Bearer t0k3n"));
        top.push_str(&pprof_on(p, &["-top"]));
        tags.push_str(&pprof_on(p, &["-tags"]));
    }
    assert!(top.contains("burn"), "pprof -top names the busy function:\n{top}");
    for label in ["span_name", "work.cpu", "work.lock", "span_id"] {
        assert!(tags.contains(label), "pprof -tags shows `{label}`:\n{tags}");
    }
}

#[test]
fn a_dead_endpoint_drops_and_counts_never_blocks() {
    let _one = one_sampler();
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let sampler = Sampler::start(settings(format!("http://{dead}"), SpanLabels::Name)).expect("start");
    run_for(&sampler, 2, |st| st.profiles_dropped >= 2);
    let stats = sampler.stop().expect("stop");
    println!("{stats:?}");
    assert_eq!(stats.profiles_pushed, 0);
    assert_eq!(stats.samples_taken, stats.samples_dropped_in_profiles);
    assert!(
        stats
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains(&dead.to_string()))
    );
}

#[test]
fn endpoint_labels_and_rate_switch_live() {
    let _one = one_sampler();
    let (a, b) = (Ingest::start(), Ingest::start());
    let sampler = Sampler::start(settings(a.endpoint(), SpanLabels::Name)).expect("start");
    run_for(&sampler, 2, |st| st.profiles_pushed >= 1);
    let mut to_b = settings(b.endpoint(), SpanLabels::None);
    sampler.update(to_b.clone()).expect("update");
    let before = sampler.stats().profiles_pushed;
    run_for(&sampler, 2, |st| st.profiles_pushed >= before + 3);
    assert!(!a.pushes().is_empty());
    let last_b = b.pushes().pop().expect("pushes at the new endpoint");
    assert!(
        !pprof_on(&last_b, &["-tags"]).contains("span_name"),
        "labels off live"
    );

    // Rate 0 pauses: the count of samples stops moving.
    to_b.sample_hz = 0;
    sampler.update(to_b).expect("pause");
    let work = Workload::start(2);
    std::thread::sleep(Duration::from_millis(300));
    let paused = sampler.stats().samples_taken;
    std::thread::sleep(Duration::from_millis(500));
    work.stop();
    assert_eq!(sampler.stats().samples_taken, paused);
    let stats = sampler.stop().expect("stop");
    assert_eq!(
        stats.samples_taken,
        stats.samples_pushed + stats.samples_dropped_in_profiles
    );
}
