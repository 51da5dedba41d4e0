//! Every PromQL expression of deploy/grafana/dashboards/*.json names a metric that livetel's `/metrics` serves
//! after a workload that touches every family (spans ok and in error, logs, a reload applied and one rejected),
//! or one of deploy/grafana/pending-metrics.txt (not served yet: the test fails once it is, so the list empties
//! itself as the metrics land).

use std::collections::BTreeSet;
use std::net::SocketAddr;

use serde_json::Value;

use super::common::{Fixture, wait_status};
use super::deploy;
use super::promql::metric_names;

const CONFIG: &str = "watch = false\nbackend = \"local\"\nsample_rate = 1.0\n\
     [telemetry.sampling]\nalways_sample_errors = true\n\
     [telemetry.metrics]\nenabled = true\nlisten = \"127.0.0.1:0\"\n";

/// The sample names `/metrics` serves (text 0.0.4: `_total`, `_bucket`, `_sum`, `_count` as PromQL sees them).
fn served_after_workload() -> BTreeSet<String> {
    let f = Fixture::new(CONFIG);
    let t = f.start();
    let addr = wait_status(&t, "metrics served", |s| {
        s.metrics.as_ref().is_some_and(|m| m.listen.is_some())
    })
    .metrics
    .as_ref()
    .and_then(|m| m.listen)
    .expect("bound address");
    tracing::dispatcher::with_default(t.dispatch().expect("own subscriber"), || {
        for i in 0..20 {
            let span = tracing::info_span!("dash.op", otel.kind = "server", error = tracing::field::Empty);
            if i % 4 == 0 {
                span.record("error", true);
            }
            span.in_scope(|| tracing::info!(i, "dash.event"));
        }
    });
    f.write(&CONFIG.replace("sample_rate = 1.0", "sample_rate = 0.5"));
    assert!(t.reload_trigger().reload_blocking().is_applied());
    f.write(&CONFIG.replace("sample_rate = 1.0", "sample_rate = 7"));
    let rejected = t.reload_trigger().reload_blocking();
    assert!(
        matches!(rejected, livetel::ReloadOutcome::Rejected { .. }),
        "{rejected:?}"
    );
    let body = scrape(addr);
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap_or_default().to_owned())
        .collect()
}

fn scrape(addr: SocketAddr) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let res = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .expect("GET /metrics");
        assert!(res.status().is_success(), "{}", res.status());
        res.text().await.expect("body")
    })
}

/// Every PromQL expression of a dashboard: Prometheus targets' `expr` and `label_values(...)` variables.
fn promql_of(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            let prometheus = m.get("datasource").is_some_and(|d| d["type"] == "prometheus");
            if let (true, Some(Value::String(e))) = (prometheus, m.get("expr")) {
                out.push(e.clone());
            }
            if let Some(Value::String(d)) = m.get("definition")
                && let Some(args) = d.strip_prefix("label_values(")
            {
                out.push(args.split(',').next().unwrap_or_default().to_owned());
            }
            m.values().for_each(|x| promql_of(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| promql_of(x, out)),
        _ => {}
    }
}

fn pending() -> BTreeSet<String> {
    let text = std::fs::read_to_string(deploy("grafana/pending-metrics.txt")).expect("pending-metrics.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_dashboard_query_names_a_served_metric() {
    let served = served_after_workload();
    let pending = pending();
    let mut used = BTreeSet::new();
    let dir = deploy("grafana/dashboards");
    let mut dashboards = 0;
    for entry in std::fs::read_dir(&dir).expect("dashboards dir").flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        dashboards += 1;
        let text = std::fs::read_to_string(&path).expect("read dashboard");
        let json: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut exprs = Vec::new();
        promql_of(&json, &mut exprs);
        assert!(!exprs.is_empty(), "{}: no PromQL found", path.display());
        for expr in &exprs {
            let names = metric_names(expr);
            assert!(!names.is_empty(), "{}: `{expr}` names no metric", path.display());
            for name in names {
                assert!(
                    served.contains(&name) || pending.contains(&name),
                    "{}: `{expr}` reads {name}, which /metrics does not serve (served: {served:?})",
                    path.display()
                );
                used.insert(name);
            }
        }
    }
    assert!(dashboards > 0, "no dashboard in {}", dir.display());
    for name in &pending {
        assert!(
            !served.contains(name),
            "{name} is served now: delete it from deploy/grafana/pending-metrics.txt"
        );
        assert!(
            used.contains(name),
            "{name} is pending but no dashboard reads it: delete it"
        );
    }
    println!(
        "dashboard: {} metrics read, {} served, {} pending",
        used.len(),
        used.len() - pending.len(),
        pending.len()
    );
}
