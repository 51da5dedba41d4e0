#!/usr/bin/env python3
"""Offline checks of deploy/ files that need a YAML parser (run by tests/deploy/files.rs in target/deploy-venv).

    check.py collector deploy/collector/config.yaml
    check.py grafana deploy/grafana
    check.py configmap-toml deploy/kubernetes/livetel-agent.yaml   # prints each livetel TOML it holds
"""

import json
import os
import sys

import yaml

# Component kinds of otel/opentelemetry-collector-contrib 0.116.0 this stack may use (its documented
# receivers, processors, exporters and extensions; a kind outside this list is a typo or needs another image).
KNOWN = {
    "receivers": {"otlp", "prometheus", "hostmetrics", "filelog"},
    "processors": {"batch", "memory_limiter", "tail_sampling", "probabilistic_sampler", "attributes",
                   "resource", "filter", "transform", "k8sattributes", "resourcedetection"},
    "exporters": {"otlp", "otlphttp", "prometheus", "prometheusremotewrite", "debug", "loki", "file"},
    "extensions": {"health_check", "pprof", "zpages"},
}


def kind(name):
    return name.split("/", 1)[0]


def collector(path):
    cfg = yaml.safe_load(open(path))
    errors = []
    for section, known in KNOWN.items():
        for name in cfg.get(section) or {}:
            if kind(name) not in known:
                errors.append(f"{section}: {name}: unknown component kind {kind(name)!r}")
    service = cfg.get("service") or {}
    for ext in service.get("extensions", []):
        if ext not in (cfg.get("extensions") or {}):
            errors.append(f"service.extensions: {ext} is not defined")
    pipelines = service.get("pipelines") or {}
    for signal in ("traces", "metrics", "logs"):
        if signal not in pipelines:
            errors.append(f"no {signal} pipeline")
    for pname, p in pipelines.items():
        if kind(pname) not in ("traces", "metrics", "logs"):
            errors.append(f"pipeline {pname}: not a signal")
        for section in ("receivers", "processors", "exporters"):
            for name in p.get(section, []):
                if name not in (cfg.get(section) or {}):
                    errors.append(f"pipeline {pname}: {section[:-1]} {name} is not defined")
        if not p.get("receivers") or not p.get("exporters"):
            errors.append(f"pipeline {pname}: needs receivers and exporters")
    ts = (cfg.get("processors") or {}).get("tail_sampling")
    if not ts or not ts.get("policies"):
        errors.append("the tail_sampling option (processors.tail_sampling with policies) is missing")
    return errors


def grafana(root):
    errors = []
    ds_file = os.path.join(root, "provisioning", "datasources", "datasources.yaml")
    uids = {d["uid"]: d["type"] for d in yaml.safe_load(open(ds_file))["datasources"]}
    for d in yaml.safe_load(open(ds_file))["datasources"]:
        for dest in (d.get("jsonData") or {}).get("exemplarTraceIdDestinations", []):
            if dest["datasourceUid"] not in uids:
                errors.append(f"{d['name']}: exemplar link to unknown datasource {dest['datasourceUid']}")
    yaml.safe_load(open(os.path.join(root, "provisioning", "dashboards", "dashboards.yaml")))
    dash_dir = os.path.join(root, "dashboards")
    for name in os.listdir(dash_dir):
        seen = []
        walk(json.load(open(os.path.join(dash_dir, name))), seen)
        for ds in seen:
            if uids.get(ds.get("uid")) != ds.get("type"):
                errors.append(f"{name}: datasource {ds} is not provisioned")
    return errors


def walk(v, seen):
    if isinstance(v, dict):
        if isinstance(v.get("datasource"), dict):
            seen.append(v["datasource"])
        for x in v.values():
            walk(x, seen)
    elif isinstance(v, list):
        for x in v:
            walk(x, seen)


def configmap_toml(path):
    out = []
    for doc in yaml.safe_load_all(open(path)):
        if doc and doc.get("kind") == "ConfigMap":
            out += [text for key, text in doc.get("data", {}).items() if key.endswith(".toml")]
    print(json.dumps(out))
    return [] if out else ["no ConfigMap with a .toml key"]


if __name__ == "__main__":
    what, arg = sys.argv[1], sys.argv[2]
    problems = {"collector": collector, "grafana": grafana, "configmap-toml": configmap_toml}[what](arg)
    for p in problems:
        print(p, file=sys.stderr)
    sys.exit(1 if problems else 0)
