"""A loopback OTLP trace, log and metrics receiver for livetel's tests, built on the official OpenTelemetry protos.

Serves OTLP/gRPC (TraceService/Export, LogsService/Export, MetricsService/Export) and OTLP/HTTP protobuf
(POST /v1/traces, /v1/logs, /v1/metrics) on 127.0.0.1, writes one JSON line per received span to --out, one per
received log record to --logs-out (by default logs.jsonl beside --out) and one per received metric data point to
--metrics-out (by default metrics.jsonl beside --out: name, unit, type, temporality, monotonic, attributes,
times, value or histogram figures, exemplars with their trace and span ids), and prints
"READY <grpc_port> <http_port>" once both listen. It exits when its stdin closes, so it never outlives the test
that started it.

Fault modes (for reliability tests): --delay-ms N answers every request N ms late; --fail-every K answers
every K-th request with an error (gRPC UNAVAILABLE, HTTP 503) without recording it; --stall holds every
request, unanswered and unrecorded, until the test writes "release" on stdin ("stall" holds again).
--bind-on-go loads everything, prints "LOADED" and binds its ports only once the test writes "go": a
collector that is down (connections refused) and comes up within milliseconds when told.

Fault modes apply to both services alike.

Request counts: "<out>.requests" holds {"received": R, "answered": A} (trace, log and metrics requests together),
rewritten (atomically) whenever a request arrives and just before its answer (success or error) is sent, so a
test can tell how many requests the receiver holds and that it answered none while something else happened.
"""

import argparse
import json
import os
import sys
import threading
import time
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


def any_value(v):
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind in ("array_value", "kvlist_value"):
        return str(getattr(v, kind))
    if kind == "bytes_value":
        return v.bytes_value.hex()
    return getattr(v, kind)


def attrs(kvs):
    return {kv.key: any_value(kv.value) for kv in kvs}


def items(resource_groups, scope_field, item_field):
    """(resource attributes, scope name, item) for every span or log record of a request."""
    for group in resource_groups:
        resource = attrs(group.resource.attributes)
        for scoped in getattr(group, scope_field):
            for item in getattr(scoped, item_field):
                yield resource, scoped.scope.name, item


TEMPORALITY = {0: "unspecified", 1: "delta", 2: "cumulative"}


def exemplars(point):
    return [{
        "trace_id": e.trace_id.hex(),
        "span_id": e.span_id.hex(),
        "value": getattr(e, e.WhichOneof("value")) if e.WhichOneof("value") else None,
        "time": e.time_unix_nano,
    } for e in point.exemplars]


def metric_points(metric):
    """One dict per data point of a metric: its type, temporality and figures."""
    kind = metric.WhichOneof("data")
    data = getattr(metric, kind)
    for p in data.data_points:
        row = {
            "type": kind,
            "temporality": TEMPORALITY.get(getattr(data, "aggregation_temporality", 0)),
            "monotonic": getattr(data, "is_monotonic", False),
            "attributes": attrs(p.attributes),
            "start": p.start_time_unix_nano,
            "time": p.time_unix_nano,
            "exemplars": exemplars(p),
        }
        if kind == "histogram":
            row.update({
                "count": p.count,
                "sum": p.sum,
                "bucket_counts": list(p.bucket_counts),
                "explicit_bounds": list(p.explicit_bounds),
            })
        else:
            row["value"] = getattr(p, p.WhichOneof("value")) if p.WhichOneof("value") else None
        yield row


class Sink:
    def __init__(self, path, logs_path, metrics_path, delay_ms, fail_every, stall):
        self.lock = threading.Lock()
        self.out = open(path, "a", encoding="utf-8")
        self.logs_out = open(logs_path, "a", encoding="utf-8")
        self.metrics_out = open(metrics_path, "a", encoding="utf-8")
        self.metrics_requests = 0
        self.counts_path = path + ".requests"
        self.delay = delay_ms / 1000.0
        self.fail_every = fail_every
        self.requests = 0
        self.received = 0
        self.answered = 0
        self.gate = threading.Event()
        if not stall:
            self.gate.set()
        self.write_counts()

    def write_counts(self):
        """Called with the lock held (or before serving)."""
        tmp = self.counts_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump({"received": self.received, "answered": self.answered}, f)
        os.replace(tmp, self.counts_path)

    def arrived(self):
        with self.lock:
            self.received += 1
            self.write_counts()

    def answering(self):
        with self.lock:
            self.answered += 1
            self.write_counts()

    def admit(self):
        """Counts the request, applies the fault modes; False means: answer this request with an error."""
        self.arrived()
        self.gate.wait()
        if self.delay:
            time.sleep(self.delay)
        with self.lock:
            self.requests += 1
            n = self.requests
        return not (self.fail_every and n % self.fail_every == 0)

    def record(self, request, protocol, headers):
        """Writes the spans of a trace request."""
        self.write(self.out, [
            json.dumps({
                "protocol": protocol,
                "trace_id": s.trace_id.hex(),
                "span_id": s.span_id.hex(),
                "parent_span_id": s.parent_span_id.hex(),
                "name": s.name,
                "kind": s.kind,
                "status": {"code": s.status.code, "message": s.status.message},
                "start": s.start_time_unix_nano,
                "end": s.end_time_unix_nano,
                "attributes": attrs(s.attributes),
                # In the order sent, repeats kept: `attributes` above would hide a key sent twice.
                "attribute_keys": [kv.key for kv in s.attributes],
                "events": [{"name": e.name, "attributes": attrs(e.attributes)} for e in s.events],
                "dropped_events_count": s.dropped_events_count,
                "resource": resource,
                "scope": scope,
                "headers": headers,
            })
            for resource, scope, s in items(request.resource_spans, "scope_spans", "spans")
        ])

    def record_logs(self, request, protocol, headers):
        """Writes the log records of a logs request."""
        self.write(self.logs_out, [
            json.dumps({
                "protocol": protocol,
                "trace_id": r.trace_id.hex(),
                "span_id": r.span_id.hex(),
                "flags": r.flags,
                "severity_number": r.severity_number,
                "severity_text": r.severity_text,
                "body": any_value(r.body),
                "event_name": r.event_name,
                "time": r.time_unix_nano,
                "observed_time": r.observed_time_unix_nano,
                "attributes": attrs(r.attributes),
                "resource": resource,
                "scope": scope,
                "headers": headers,
            })
            for resource, scope, r in items(request.resource_logs, "scope_logs", "log_records")
        ])

    def record_metrics(self, request, protocol, headers):
        """Writes the data points of a metrics request, each with the number of the request it came in."""
        with self.lock:
            self.metrics_requests += 1
            n = self.metrics_requests
        self.write(self.metrics_out, [
            json.dumps(dict(point, **{
                "protocol": protocol,
                "request": n,
                "name": m.name,
                "unit": m.unit,
                "description": m.description,
                "resource": resource,
                "scope": scope,
                "headers": headers,
            }))
            for resource, scope, m in items(request.resource_metrics, "scope_metrics", "metrics")
            for point in metric_points(m)
        ])

    def write(self, out, lines):
        with self.lock:
            for line in lines:
                out.write(line + "\n")
            out.flush()


def grpc_export(sink, request, context, record, response):
    """One gRPC export of either service: admitted (or failed) by the fault modes, recorded, answered."""
    try:
        if not sink.admit():
            context.abort(grpc.StatusCode.UNAVAILABLE, "fault injected by the test receiver")
        headers = {k: v for k, v in context.invocation_metadata() if not k.endswith("-bin")}
        record(request, "grpc", headers)
        return response
    finally:
        sink.answering()


class GrpcService(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, sink):
        self.sink = sink

    def Export(self, request, context):
        return grpc_export(self.sink, request, context, self.sink.record,
                           trace_service_pb2.ExportTraceServiceResponse())


class GrpcLogsService(logs_service_pb2_grpc.LogsServiceServicer):
    def __init__(self, sink):
        self.sink = sink

    def Export(self, request, context):
        return grpc_export(self.sink, request, context, self.sink.record_logs,
                           logs_service_pb2.ExportLogsServiceResponse())


class GrpcMetricsService(metrics_service_pb2_grpc.MetricsServiceServicer):
    def __init__(self, sink):
        self.sink = sink

    def Export(self, request, context):
        return grpc_export(self.sink, request, context, self.sink.record_metrics,
                           metrics_service_pb2.ExportMetricsServiceResponse())


# HTTP path -> (request type, how the sink records it, response type).
def http_routes(sink):
    return {
        "/v1/traces": (trace_service_pb2.ExportTraceServiceRequest, sink.record,
                       trace_service_pb2.ExportTraceServiceResponse),
        "/v1/logs": (logs_service_pb2.ExportLogsServiceRequest, sink.record_logs,
                     logs_service_pb2.ExportLogsServiceResponse),
        "/v1/metrics": (metrics_service_pb2.ExportMetricsServiceRequest, sink.record_metrics,
                        metrics_service_pb2.ExportMetricsServiceResponse),
    }


def http_handler(sink):
    routes = http_routes(sink)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self):
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            if self.path not in routes:
                self.reply(404, b"")
                return
            request_type, record, response_type = routes[self.path]
            if not sink.admit():
                sink.answering()
                self.reply(503, b"")
                return
            request = request_type.FromString(body)
            headers = {k.lower(): v for k, v in self.headers.items()}
            record(request, "http/protobuf", headers)
            sink.answering()
            self.reply(200, response_type().SerializeToString())

        def reply(self, code, body):
            self.send_response(code)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--logs-out")
    p.add_argument("--metrics-out")
    p.add_argument("--grpc-port", type=int, default=0)
    p.add_argument("--http-port", type=int, default=0)
    p.add_argument("--delay-ms", type=int, default=0)
    p.add_argument("--fail-every", type=int, default=0)
    p.add_argument("--stall", action="store_true")
    p.add_argument("--bind-on-go", action="store_true")
    a = p.parse_args()
    logs_out = a.logs_out or os.path.join(os.path.dirname(a.out), "logs.jsonl")
    metrics_out = a.metrics_out or os.path.join(os.path.dirname(a.out), "metrics.jsonl")
    sink = Sink(a.out, logs_out, metrics_out, a.delay_ms, a.fail_every, a.stall)
    if a.bind_on_go:
        # Loaded, ports not bound yet (the collector is down) until the test says "go".
        print("LOADED", flush=True)
        if sys.stdin.readline().strip() != "go":
            os._exit(0)

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=64))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(GrpcService(sink), server)
    logs_service_pb2_grpc.add_LogsServiceServicer_to_server(GrpcLogsService(sink), server)
    metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(GrpcMetricsService(sink), server)
    grpc_port = server.add_insecure_port(f"127.0.0.1:{a.grpc_port}")
    server.start()

    httpd = ThreadingHTTPServer(("127.0.0.1", a.http_port), http_handler(sink))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()

    print(f"READY {grpc_port} {httpd.server_address[1]}", flush=True)
    # Control lines from the test; EOF when the test closes our stdin or dies.
    while True:
        line = sys.stdin.readline()
        if not line:
            break
        command = line.strip()
        if command == "release":
            sink.gate.set()
        elif command == "stall":
            sink.gate.clear()
    os._exit(0)


if __name__ == "__main__":
    main()
