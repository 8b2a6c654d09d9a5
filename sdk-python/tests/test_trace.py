"""Trace context: the shared traceparent vectors, what a task sees of its trace, the child's
own span exported over OTLP/HTTP JSON to a real receiver on loopback, and producers passing
the running task's trace on."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from conftest import VECTORS_DIR, task_message

from stem_sdk import context, spec, trace

SUPERVISOR = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_every_traceparent_vector_parses_as_it_says():
    doc = json.loads((VECTORS_DIR / "traceparent.json").read_text())
    assert len(doc["cases"]) >= 10
    for case in doc["cases"]:
        got = trace.parse(case["value"])
        assert (got is not None) == case["valid"], case["value"]
        if got is not None:
            assert (got.trace_id, got.parent_id, got.sampled) == (
                case["trace_id"],
                case["parent_id"],
                case["sampled"],
            ), case["value"]


def test_without_an_endpoint_the_task_sees_the_supervisors_span(spawn, monkeypatch):
    monkeypatch.delenv("TRACEPARENT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    child = spawn()
    child.expect({"type": "hello", "protocol": 1, "sdk": "<any>", "tasks": "<any>", "pipeline": 32})
    child.send(task_message("t-1", "trace_context", headers={"traceparent": SUPERVISOR}))
    got = child.expect({"type": "result", "id": "t-1", "value": "<any>"})["value"]
    assert got == {"traceparent": SUPERVISOR, "env": SUPERVISOR, "header": SUPERVISOR}
    child.send(task_message("t-2", "trace_context"))
    got = child.expect({"type": "result", "id": "t-2", "value": "<any>"})["value"]
    assert got == {"traceparent": None, "env": None, "header": None}, "restored between tasks"
    assert child.finish() == 0


class Receiver:
    """A tiny OTLP/HTTP JSON receiver: keeps every span POSTed to /v1/traces."""

    def __init__(self):
        spans = self.spans = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                for rs in body["resourceSpans"]:
                    for ss in rs["scopeSpans"]:
                        spans.extend(ss["spans"])
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_port
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()


def test_the_childs_span_is_exported_with_the_supervisors_span_as_parent(spawn):
    receiver = Receiver()
    try:
        child = spawn(env={"OTEL_EXPORTER_OTLP_ENDPOINT": receiver.url})
        child.expect({"type": "hello", "protocol": 1, "sdk": "<any>", "tasks": "<any>", "pipeline": 32})
        child.send(task_message("t-1", "trace_context", headers={"traceparent": SUPERVISOR}))
        got = child.expect({"type": "result", "id": "t-1", "value": "<any>"})["value"]
        child.send(task_message("t-2", "nested_failure", headers={"traceparent": SUPERVISOR}))
        child.expect({"type": "error", "id": "t-2", "error": "<any>"})
        assert child.finish() == 0
        # Exported before the result line was written: both are there now.
        assert [s["name"] for s in receiver.spans] == ["task trace_context", "task nested_failure"]
        ok, bad = receiver.spans
        assert ok["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert ok["parentSpanId"] == "00f067aa0ba902b7"
        assert got["traceparent"] == "00-%s-%s-01" % (ok["traceId"], ok["spanId"])
        assert got["env"] == got["traceparent"] and got["header"] == SUPERVISOR
        assert ok["status"] == {"code": 1}
        assert bad["status"]["code"] == 2 and "deep down" in bad["status"]["message"]
        assert int(ok["endTimeUnixNano"]) >= int(ok["startTimeUnixNano"]) > 0
    finally:
        receiver.close()


def test_a_task_enqueued_from_a_task_carries_its_trace(monkeypatch):
    monkeypatch.delenv("TRACEPARENT", raising=False)
    assert "headers" not in spec.task_spec("t")
    monkeypatch.setenv("TRACEPARENT", SUPERVISOR)
    assert spec.task_spec("t")["headers"] == {"traceparent": SUPERVISOR}
    mine = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    assert spec.task_spec("t", headers={"traceparent": mine})["headers"] == {"traceparent": mine}
    ctx = context.TaskContext({"id": "x", "headers": {}}, None)
    ctx.traceparent = mine
    context.activate(ctx)
    try:
        assert spec.task_spec("t", headers={"k": "v"})["headers"] == {"k": "v", "traceparent": mine}
    finally:
        context.activate(None)
