//! The Pyroscope sampler run by livetel from `[telemetry.profiling]`: the samples of livetel's own spans carry
//! their OpenTelemetry `span_id` / `trace_id`, each span carries `pyroscope.profile.id` (the link from the trace
//! to its profile), the vault's headers go with each push, and shutting down gives SIGPROF back.
#![cfg(feature = "profiling-pyroscope")]

mod common;
#[path = "pyroscope/gopprof.rs"]
mod gopprof;
#[path = "pyroscope/ingest.rs"]
mod ingest;

use std::collections::HashSet;
use std::io::Read;
use std::time::{Duration, Instant};

use common::{Fixture, PATIENCE, spans, trace_files};
use livetel::profiling::pyroscope::signal;
use pprof::protos::Message;

#[inline(never)]
fn burn(n: u64) -> u64 {
    (0..n).fold(0u64, |a, i| {
        std::hint::black_box(a.wrapping_mul(31).wrapping_add(i ^ (a >> 7)))
    })
}

/// `(span_name, span_id, trace_id)` of every labelled sample of a push.
fn labels(body: &[u8]) -> Vec<(String, String, String)> {
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(body)
        .read_to_end(&mut raw)
        .expect("gzip");
    let p = pprof::protos::Profile::decode(&raw[..]).expect("pprof");
    let s = |i: i64| p.string_table[i as usize].clone();
    p.sample
        .iter()
        .filter(|x| !x.label.is_empty())
        .map(|x| {
            let get = |k: &str| {
                x.label
                    .iter()
                    .find(|l| s(l.key) == k)
                    .map(|l| s(l.str))
                    .unwrap_or_default()
            };
            (get("span_name"), get("span_id"), get("trace_id"))
        })
        .collect()
}

#[test]
fn spans_link_to_their_samples_and_the_vault_headers_go_with_each_push() {
    let ingest = ingest::Ingest::start();
    let f = Fixture::new("");
    let secrets = f.dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    common::vault::secret_file(&secrets, "PYRO", "authorization=Bearer%20s3cr3t\n");
    f.write(&format!(
        "watch = false\nbackend = \"local\"\n[telemetry.profiling]\npyroscope_endpoint = \"{}\"\n\
         span_labels = \"name_and_id\"\npyroscope_headers_vault_key = \"PYRO\"\n\
         [telemetry.vault]\nsource = \"dir\"\ndir = {:?}",
        ingest.endpoint(),
        secrets.display().to_string()
    ));
    let t = f.start();
    let dispatch = t.dispatch().expect("own subscriber").clone();
    let started = Instant::now();
    loop {
        tracing::dispatcher::with_default(&dispatch, || {
            let _s = tracing::info_span!("pyro.work").entered();
            std::hint::black_box(burn(2_000_000));
        });
        let status = t.refresh_status();
        let taken = status
            .profiling
            .as_ref()
            .and_then(|p| p.pyroscope.as_ref())
            .map_or(0, |p| p.samples_taken);
        if taken >= 30 {
            break;
        }
        assert!(started.elapsed() < PATIENCE, "no samples: {status:?}");
    }
    assert_ne!(signal::current_disposition(), libc::SIG_DFL);
    t.shutdown();
    let waited = Instant::now();
    while ingest.pushes().is_empty() {
        assert!(waited.elapsed() < PATIENCE, "no push after shutdown");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        signal::current_disposition(),
        libc::SIG_DFL,
        "SIGPROF given back at shutdown"
    );

    let pushes = ingest.pushes();
    let mut sampled = Vec::new();
    for p in &pushes {
        assert_eq!(p.auth.as_deref(), Some("Bearer s3cr3t"));
        assert_eq!(p.query.get("name").map(String::as_str), Some("test{}"));
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &p.body).unwrap();
        let tags = gopprof::run(&["-tags"], file.path());
        assert!(tags.contains("pyro.work") && tags.contains("trace_id"), "{tags}");
        sampled.extend(labels(&p.body));
    }
    let linked: HashSet<(String, String)> = trace_files(&f.traces)
        .iter()
        .flat_map(|(_, events)| spans(events).into_iter().cloned().collect::<Vec<_>>())
        .filter(|s| s["name"] == "pyro.work")
        .map(|s| {
            let id = s["args"]["pyroscope.profile.id"]
                .as_str()
                .expect("pyroscope.profile.id")
                .to_owned();
            (id, s["args"]["trace_id"].as_str().unwrap_or_default().to_owned())
        })
        .collect();
    let ids: HashSet<&String> = linked.iter().map(|(id, _)| id).collect();
    let work: Vec<_> = sampled.iter().filter(|(n, _, _)| n == "pyro.work").collect();
    assert!(!work.is_empty());
    for (_, span_id, trace_id) in &work {
        assert!(
            ids.contains(span_id),
            "sample span_id {span_id} is a recorded span's pyroscope.profile.id"
        );
        assert_eq!(trace_id.len(), 32);
    }
}
