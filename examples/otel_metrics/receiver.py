"""A small OTLP/HTTP receiver, standard library only: POST /v1/metrics and /v1/traces with
JSON bodies (OTEL_EXPORTER_OTLP_PROTOCOL=http/json). Each body is appended as one line to
OUT/metrics.jsonl or OUT/traces.jsonl, and a one-line summary goes to stderr. The first line on
stdout is `listening on http://127.0.0.1:PORT` (port 0 picks a free one).

    python3 receiver.py --port 4318 --out received
    python3 receiver.py --summary received     # totals of what was received
"""

import argparse
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()


def number(v):
    return int(v) if isinstance(v, str) else v


def attrs(items):
    out = {}
    for a in items or []:
        v = a.get("value", {})
        out[a["key"]] = next(iter(v.values()), None) if v else None
    return out


def metric_points(body):
    """(metric name, attributes, value or histogram count) of every data point in a body."""
    for rm in body.get("resourceMetrics", []):
        for sm in rm.get("scopeMetrics", []):
            for m in sm.get("metrics", []):
                for kind in ("sum", "gauge", "histogram"):
                    for p in m.get(kind, {}).get("dataPoints", []):
                        if kind == "histogram":
                            value = number(p.get("count", 0))
                        else:
                            value = number(p.get("asInt", p.get("asDouble", 0)))
                        yield m["name"], attrs(p.get("attributes")), value


def spans(body):
    """(service name, span) of every span in a body."""
    for rs in body.get("resourceSpans", []):
        service = attrs(rs.get("resource", {}).get("attributes")).get("service.name")
        for ss in rs.get("scopeSpans", []):
            for s in ss.get("spans", []):
                yield service, s


class Handler(BaseHTTPRequestHandler):
    out = "."

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        signal = self.path.rstrip("/").rsplit("/", 1)[-1]
        if signal not in ("metrics", "traces") or "json" not in self.headers.get("Content-Type", ""):
            self.send_response(415 if signal in ("metrics", "traces") else 404)
            self.end_headers()
            print("refused %s (%s): send http/json" % (self.path, self.headers.get("Content-Type")), file=sys.stderr)
            return
        body = json.loads(raw)
        with LOCK:
            with open(os.path.join(self.out, signal + ".jsonl"), "a", encoding="utf-8") as f:
                f.write(json.dumps(body) + "\n")
        if signal == "metrics":
            n = sum(1 for _ in metric_points(body))
            print("metrics: %d data point(s)" % n, file=sys.stderr)
        else:
            print("traces: %d span(s)" % sum(1 for _ in spans(body)), file=sys.stderr)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def summary(out):
    """The latest value of each task counter and histogram, and how the spans link up."""
    latest = {}
    path = os.path.join(out, "metrics.jsonl")
    if os.path.exists(path):
        for line in open(path, encoding="utf-8"):
            for name, a, value in metric_points(json.loads(line)):
                latest[(name, tuple(sorted(a.items())))] = value
    totals = {}
    for (name, a), value in latest.items():
        if name == "stem.tasks" or name.startswith("stem.task."):
            key = name + (":" + dict(a).get("outcome", "") if name == "stem.tasks" else "")
            totals[key] = totals.get(key, 0) + value
    by_id, children = {}, []
    path = os.path.join(out, "traces.jsonl")
    if os.path.exists(path):
        for line in open(path, encoding="utf-8"):
            for service, s in spans(json.loads(line)):
                by_id[s["spanId"]] = (service, s)
                if s.get("parentSpanId"):
                    children.append((service, s))
    linked = sum(
        1
        for service, s in children
        if service != "stem-worker" and by_id.get(s["parentSpanId"], ("",))[0] == "stem-worker"
    )
    workers = [s for service, s in by_id.values() if service == "stem-worker"]
    return {
        "metrics": dict(sorted(totals.items())),
        "worker_spans": len(workers),
        "traces": len({s["traceId"] for s in workers}),
        "child_spans_under_worker_spans": linked,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=4318)
    p.add_argument("--out", default="received")
    p.add_argument("--summary", metavar="DIR", help="print the totals received in DIR and exit")
    args = p.parse_args()
    if args.summary:
        print(json.dumps(summary(args.summary), indent=2))
        return
    os.makedirs(args.out, exist_ok=True)
    Handler.out = args.out
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print("listening on http://127.0.0.1:%d" % server.server_port, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
