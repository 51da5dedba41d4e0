#!/usr/bin/env python3
"""Writes dashboards/livetel.json, the livetel dashboard Grafana loads (deploy/docker-compose.yml).

    python3 deploy/grafana/make_dashboard.py

Edit the panels here, not in the JSON. tests/deploy_dashboard.rs checks that every PromQL expression in the JSON
names a metric livetel's /metrics serves (or one listed in pending-metrics.txt, not served yet).
"""

import json
import os

PROM = {"type": "prometheus", "uid": "prometheus"}
RATE = "[$__rate_interval]"
SVC = 'service_name=~"$service"'


def target(expr, legend, ref, exemplar=False):
    return {"datasource": PROM, "expr": expr, "legendFormat": legend, "refId": ref, "exemplar": exemplar}


def timeseries(title, targets, x, y, unit="short", w=12, h=8, description=""):
    refs = "ABCDEFGH"
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": PROM,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}, "tooltip": {"mode": "multi"}},
        "targets": [target(e, l, refs[i], ex) for i, (e, l, ex) in enumerate(targets)],
    }


def row(title, y):
    return {"type": "row", "title": title, "collapsed": False, "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []}


def panels():
    p = [row("Throughput and loss", 0)]
    p.append(timeseries("Spans per second", [
        (f"sum(rate(livetel_spans_started_total{RATE}))", "started", False),
        (f"sum by (backend) (rate(livetel_spans_exported_total{RATE}))", "exported to {{backend}}", False),
        (f"sum(rate(livetel_spans_sampled_out_total{RATE}))", "sampled out", False),
    ], 0, 1, "ops", description="made = exported + dropped + sampled out; nothing is lost silently"))
    p.append(timeseries("Log records per second", [
        (f"sum(rate(livetel_log_records_made_total{RATE}))", "made", False),
        (f"sum by (backend) (rate(livetel_log_records_exported_total{RATE}))", "exported to {{backend}}", False),
    ], 12, 1, "ops"))
    p.append(timeseries("Drops per second", [
        (f"sum by (backend) (rate(livetel_spans_dropped_total{RATE}))", "spans dropped by {{backend}}", False),
        (f"sum(rate(livetel_spans_dropped_by_bound_total{RATE}))", "spans dropped by a tail bound", False),
        (f"sum by (backend) (rate(livetel_log_records_dropped_total{RATE}))", "log records dropped by {{backend}}", False),
        (f"sum by (backend) (rate(livetel_export_errors_total{RATE}))", "export errors at {{backend}}", False),
        (f"sum(rate(livetel_console_lines_dropped_total{RATE}))", "console lines dropped", False),
        (f"sum(rate(livetel_traces_dropped_by_bound_total{RATE}))", "traces dropped by a tail bound", False),
    ], 0, 9, "ops", description="anything above 0: read status (GET /status) for the sink and the reason"))
    p.append(timeseries("Reloads", [
        (f"sum by (outcome) (increase(livetel_reloads_total{RATE}))", "{{outcome}}", False),
    ], 12, 9, "short", description="applied, unchanged, rejected (a rejected edit keeps the last good config)"))
    p.append(row("Spans (RED, from [telemetry.metrics])", 17))
    p.append(timeseries("Span duration p50 / p90 / p99 (exemplars link to the trace)", [
        (f"histogram_quantile({q}, sum by (le, span_name) (rate(livetel_span_duration_seconds_bucket{{{SVC}}}{RATE})))",
         f"p{int(q * 100)} {{{{span_name}}}}", True)
        for q in (0.5, 0.9, 0.99)
    ], 0, 18, "s", w=24, h=10))
    p.append(timeseries("Calls per second by span", [
        (f"sum by (span_name) (rate(livetel_span_calls_total{{{SVC}}}{RATE}))", "{{span_name}}", False),
    ], 0, 28, "ops"))
    p.append(timeseries("Errors per second by span", [
        (f"sum by (span_name) (rate(livetel_span_errors_total{{{SVC}}}{RATE}))", "{{span_name}}", False),
    ], 12, 28, "ops"))
    p.append(timeseries("Tail sampling decisions", [
        (f"sum(rate(livetel_traces_kept_by_head_total{RATE}))", "kept by head", False),
        (f"sum(rate(livetel_traces_kept_by_error_total{RATE}))", "kept: error", False),
        (f"sum(rate(livetel_traces_kept_by_latency_total{RATE}))", "kept: slow", False),
        (f"sum(rate(livetel_traces_dropped_by_sampling_total{RATE}))", "dropped by sampling", False),
    ], 0, 36, "ops"))
    p.append(timeseries("Bytes held for tail decisions", [
        ("sum(livetel_tail_held_bytes)", "held", False),
    ], 12, 36, "bytes"))
    p.append(row("Process (profiling tier)", 44))
    p.append(timeseries("Memory and CPU", [
        (f"max(process_memory_rss_bytes{{{SVC}}})", "RSS", False),
        (f"max(process_cpu_utilization_ratio{{{SVC}}})", "CPU utilization", False),
    ], 0, 45, "short"))
    p.append(timeseries("Threads and open files", [
        (f"max(process_thread_count{{{SVC}}})", "threads", False),
        (f"max(process_open_file_descriptor_count{{{SVC}}})", "open file descriptors", False),
    ], 12, 45, "short"))
    p.append({
        "type": "flamegraph",
        "title": "Top CPU spans (Pyroscope, samples labelled by span_name)",
        "datasource": {"type": "grafana-pyroscope-datasource", "uid": "pyroscope"},
        "gridPos": {"x": 0, "y": 53, "w": 24, "h": 12},
        "targets": [{
            "datasource": {"type": "grafana-pyroscope-datasource", "uid": "pyroscope"},
            "refId": "A",
            "queryType": "profile",
            "profileTypeId": "process_cpu:cpu:nanoseconds:cpu:nanoseconds",
            "labelSelector": '{service_name=~"$service"}',
            "groupBy": ["span_name"],
        }],
    })
    p.append({
        "type": "logs",
        "title": "Log records (Loki)",
        "datasource": {"type": "loki", "uid": "loki"},
        "gridPos": {"x": 0, "y": 65, "w": 24, "h": 10},
        "options": {"showTime": True, "wrapLogMessage": True},
        "targets": [{"datasource": {"type": "loki", "uid": "loki"}, "refId": "A",
                     "expr": '{service_name=~"$service"}'}],
    })
    for i, panel in enumerate(p):
        panel["id"] = i + 1
    return p


def dashboard():
    return {
        "uid": "livetel",
        "title": "livetel",
        "tags": ["livetel", "opentelemetry"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "10s",
        "time": {"from": "now-30m", "to": "now"},
        "templating": {"list": [{
            "name": "service",
            "type": "query",
            "datasource": PROM,
            "query": {"query": "label_values(livetel_span_calls_total, service_name)", "refId": "service"},
            "definition": "label_values(livetel_span_calls_total, service_name)",
            "includeAll": True,
            "multi": True,
            "current": {"text": "All", "value": "$__all"},
            "refresh": 2,
        }]},
        "panels": panels(),
    }


if __name__ == "__main__":
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "dashboards", "livetel.json")
    with open(out, "w") as f:
        json.dump(dashboard(), f, indent=2)
        f.write("\n")
    print(f"wrote {out}")
