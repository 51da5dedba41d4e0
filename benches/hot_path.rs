//! Criterion micro-benchmarks of the per-span path: livetel vs the static stack a user would hand-build.
//! The side-by-side figures with ratios are in `cargo run --release --example bench`; these are for profiling
//! one path at a time (`cargo bench --bench hot_path -- local`).

use criterion::{Criterion, criterion_group, criterion_main};
use tracing::Dispatch;
use tracing::dispatcher::with_default;
use tracing_subscriber::layer::SubscriberExt;

fn tree() {
    let root = tracing::info_span!("root", i = 1u64, kind = "bench");
    let _r = root.enter();
    let mid = tracing::info_span!("mid", i = 2u64, kind = "bench");
    let _m = mid.enter();
    let leaf = tracing::info_span!("leaf", i = 3u64, kind = "bench");
    let _l = leaf.enter();
}

fn livetel(dir: &std::path::Path, body: &str) -> livetel::Telemetry {
    let config = dir.join(format!("{}.toml", body.len()));
    let traces = dir.join("traces").display().to_string();
    std::fs::write(
        &config,
        format!("[telemetry]\nwatch = false\n{body}\n[telemetry.local]\ntrace_dir = {traces:?}\n"),
    )
    .expect("config");
    livetel::Builder::new(&config)
        .reload_on_sighup(false)
        .build()
        .expect("livetel")
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut g = c.benchmark_group("tree_3_spans");
    let none = livetel(dir.path(), "backend = \"none\"");
    g.bench_function("livetel_none", |b| {
        with_default(none.dispatch().expect("own subscriber"), || b.iter(tree))
    });
    g.bench_function("no_subscriber", |b| {
        with_default(&Dispatch::none(), || b.iter(tree))
    });
    let registry =
        Dispatch::new(tracing_subscriber::registry().with(tracing_subscriber::EnvFilter::new("info")));
    g.bench_function("registry_envfilter_only", |b| {
        with_default(&registry, || b.iter(tree))
    });
    let local = livetel(dir.path(), "backend = \"local\"");
    g.bench_function("livetel_local", |b| {
        with_default(local.dispatch().expect("own subscriber"), || b.iter(tree))
    });
    let sampled_out = livetel(dir.path(), "backend = \"local\"\nsample_rate = 0.0");
    g.bench_function("livetel_local_sampled_out", |b| {
        with_default(sampled_out.dispatch().expect("own subscriber"), || b.iter(tree))
    });
    // Span metrics on (no `/metrics` server): the hook's cost per span, against the two cases above.
    let metrics = "\n[telemetry.metrics]\nenabled = true";
    let local_metrics = livetel(dir.path(), &format!("backend = \"local\"{metrics}"));
    g.bench_function("livetel_local_metrics", |b| {
        with_default(local_metrics.dispatch().expect("own subscriber"), || b.iter(tree))
    });
    let sampled_out_metrics = livetel(
        dir.path(),
        &format!("backend = \"local\"\nsample_rate = 0.0{metrics}"),
    );
    g.bench_function("livetel_local_sampled_out_metrics", |b| {
        with_default(sampled_out_metrics.dispatch().expect("own subscriber"), || {
            b.iter(tree)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
