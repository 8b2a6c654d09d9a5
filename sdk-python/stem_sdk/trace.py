"""W3C trace context for tasks: the `traceparent` a producer puts in a task's headers, and the
child's own span of each task. The supervisor hands a task the traceparent of its span for the
attempt (`headers["traceparent"]`); while the task runs, `current.traceparent` and the
`TRACEPARENT` environment variable name the span the task's own work should hang under. When
`OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set, the SDK exports
its span of each task there over OTLP/HTTP JSON, with the standard library only."""

import json
import os
import sys
import time
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, NamedTuple, Optional

if TYPE_CHECKING:
    from .context import TaskContext

HEADER = "traceparent"
_HEX = set("0123456789abcdef")


class TraceParent(NamedTuple):
    trace_id: str
    parent_id: str
    flags: int

    @property
    def sampled(self) -> bool:
        return bool(self.flags & 1)

    def child(self, span_id: str) -> "TraceParent":
        return TraceParent(self.trace_id, span_id, self.flags)

    def __str__(self) -> str:
        return "00-%s-%s-%02x" % (self.trace_id, self.parent_id, self.flags)


def _hex(s: str, n: int) -> bool:
    return len(s) == n and set(s) <= _HEX and s != "0" * n


def parse(value: Any) -> Optional[TraceParent]:
    """A version-00 `traceparent`, or None for anything else (same rules as the supervisor's)."""
    if not isinstance(value, str):
        return None
    parts = value.strip().split("-")
    if len(parts) != 4 or parts[0] != "00":
        return None
    trace_id, parent_id, flags = parts[1], parts[2], parts[3]
    if not (_hex(trace_id, 32) and _hex(parent_id, 16) and len(flags) == 2 and set(flags) <= _HEX):
        return None
    return TraceParent(trace_id, parent_id, int(flags, 16))


def new_id(nbytes: int) -> str:
    while True:
        h = os.urandom(nbytes).hex()
        if h != "0" * (2 * nbytes):
            return h


def producer_traceparent(headers: Optional[Mapping[str, str]]) -> Optional[str]:
    """The traceparent a task enqueued now should carry: none added when the headers have a
    valid one; else the running task's span or `TRACEPARENT`; else None (the server starts one)."""
    if headers and parse(headers.get(HEADER)) is not None:
        return None
    from . import context

    if context.current:
        tp = parse(context.current.traceparent)
        if tp is not None:
            return str(tp)
    tp = parse(os.environ.get("TRACEPARENT"))
    return str(tp) if tp is not None else None


def _endpoint() -> Optional[str]:
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip() == "none":
        return None
    url = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if url:
        return url
    base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    return base.rstrip("/") + "/v1/traces" if base else None


def _attr(key: str, value: Any) -> Dict[str, Any]:
    v: Dict[str, Any]
    if isinstance(value, bool):
        v = {"boolValue": value}
    elif isinstance(value, int):
        v = {"intValue": str(value)}
    else:
        v = {"stringValue": str(value)}
    return {"key": key, "value": v}


_warned = False


class TaskSpan:
    """The child's span of one task: parent is the supervisor's span (the task's traceparent)."""

    def __init__(self, ctx: "TaskContext") -> None:
        self.ctx = ctx
        self.parent = parse(ctx.headers.get(HEADER))
        self.url = _endpoint() if self.parent is not None else None
        self.span_id = new_id(8) if self.url is not None else ""
        self.start_ns = 0
        self.saved_env: Optional[str] = None

    def traceparent(self) -> Optional[str]:
        """What the task's own work hangs under: this span when exported, else the supervisor's."""
        if self.parent is None:
            return None
        return str(self.parent.child(self.span_id)) if self.url else str(self.parent)

    def __enter__(self) -> "TaskSpan":
        self.start_ns = time.time_ns()
        self.ctx.traceparent = self.traceparent()
        if self.ctx.traceparent is not None:
            self.saved_env = os.environ.get("TRACEPARENT")
            os.environ["TRACEPARENT"] = self.ctx.traceparent
        return self

    def end(self, error: Optional[str] = None) -> None:
        """Restores the environment and exports the span (errors are reported once, to stderr)."""
        if self.ctx.traceparent is not None:
            if self.saved_env is None:
                os.environ.pop("TRACEPARENT", None)
            else:
                os.environ["TRACEPARENT"] = self.saved_env
        if self.url is None or self.parent is None or not self.parent.sampled:
            return
        span = {
            "traceId": self.parent.trace_id,
            "spanId": self.span_id,
            "parentSpanId": self.parent.parent_id,
            "name": "task %s" % self.ctx.name,
            "kind": 1,
            "startTimeUnixNano": str(self.start_ns),
            "endTimeUnixNano": str(time.time_ns()),
            "attributes": [
                _attr("stem.task.id", self.ctx.id),
                _attr("stem.task.name", self.ctx.name),
                _attr("stem.attempt", int(self.ctx.attempt or 1)),
                _attr("process.pid", os.getpid()),
            ],
            "status": {"code": 2, "message": str(error)} if error else {"code": 1},
        }
        export(self.url, [span])


def start_span(ctx: "TaskContext") -> Optional[TaskSpan]:
    """The started span of `ctx`'s task, or None when its headers carry no traceparent (then
    there is nothing to name, set or export: `ctx.traceparent` stays None)."""
    if HEADER not in ctx.headers:
        return None
    return TaskSpan(ctx).__enter__()


def export(url: str, spans: List[Dict[str, Any]]) -> None:
    global _warned
    service = os.environ.get("OTEL_SERVICE_NAME", "stem-python")
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [_attr("service.name", service), _attr("telemetry.sdk.language", "python")]},
                "scopeSpans": [{"scope": {"name": "stem_sdk"}, "spans": spans}],
            }
        ]
    }
    import urllib.request  # only when a span is exported: it costs a task child's start

    req = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(req, timeout=2) as resp:
            resp.read()
    except Exception as exc:  # noqa: BLE001 - telemetry never fails a task
        if not _warned:
            _warned = True
            print("stem_sdk: cannot export a span to %s (%s)" % (url, exc), file=sys.stderr)
