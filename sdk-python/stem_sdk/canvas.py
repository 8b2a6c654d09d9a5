"""Producer-side canvas builders: `signature`, `chain`, `group`, `chord` (and `|` for a chain)
build the JSON canvas document of protocol/PROTOCOL.md ("Canvas"); `.submit()` hands it to
`stem canvas submit` through the producer `Client` and returns a `CanvasResult`.

    from stem_sdk import chord, signature

    job = chord([signature("add", 1, 2), signature("add", 3, 4)], signature("tsum"))
    print(job.submit().get(timeout=60))   # 10

A document is canonical: keys with their default value (no args, no kwargs, no options,
`immutable` false, no callbacks) are left out, callbacks are always lists. The shared vectors
in protocol/vectors/canvas.jsonl hold the documents every SDK must build.
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, Iterable, List, Mapping, Optional, Union

from .client import Client, TaskFailed
from .spec import Duration, seconds

Json = Any
TERMINAL = ("success", "failure", "revoked", "expired", "skipped")


class Canvas:
    """A node of a canvas: a signature, chain, group or chord."""

    def to_json(self) -> Dict[str, Json]:
        raise NotImplementedError

    def __or__(self, other: "Canvas") -> "Chain":
        return chain(self, other)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Canvas) and self.to_json() == other.to_json()

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_json(), sort_keys=True))

    def __repr__(self) -> str:
        return "<%s %s>" % (type(self).__name__, json.dumps(self.to_json())[:120])

    def submit(self, client: Optional[Client] = None) -> "CanvasResult":
        """Submit the canvas (`stem canvas submit -`); returns its handle."""
        client = client or Client()
        reply = client.submit_canvas(self.to_json())
        return CanvasResult(reply["id"], client, submitted=reply)


class Signature(Canvas):
    """One task: its name, arguments, options and callbacks."""

    def __init__(
        self,
        task: str,
        args: Iterable[Json] = (),
        kwargs: Optional[Mapping[str, Json]] = None,
        options: Optional[Mapping[str, Json]] = None,
        immutable: bool = False,
    ) -> None:
        if not isinstance(task, str) or not task.strip():
            raise ValueError("a signature names its task, got %r" % (task,))
        self.task = task
        self.args: List[Json] = list(args)
        self.kwargs: Dict[str, Json] = dict(kwargs or {})
        self.options: Dict[str, Json] = {k: v for k, v in (options or {}).items() if v is not None}
        self.immutable = bool(immutable)
        self.links: List[Signature] = []
        self.error_links: List[Signature] = []

    def link(self, callback: "Signature") -> "Signature":
        """Run `callback` with this task's result when it succeeds. Returns self."""
        self.links.append(_signature_only(callback, "link"))
        return self

    def link_error(self, callback: "Signature") -> "Signature":
        """Run `callback` with `{"task_id", "name", "error"}` when this task fails for good
        (or, for a node that will never run, when its canvas fails). Returns self."""
        self.error_links.append(_signature_only(callback, "link_error"))
        return self

    def to_json(self) -> Dict[str, Json]:
        doc: Dict[str, Json] = {"task": self.task}
        if self.args:
            doc["args"] = list(self.args)
        if self.kwargs:
            doc["kwargs"] = dict(self.kwargs)
        if self.options:
            doc["options"] = dict(self.options)
        if self.immutable:
            doc["immutable"] = True
        if self.links:
            doc["link"] = [s.to_json() for s in self.links]
        if self.error_links:
            doc["link_error"] = [s.to_json() for s in self.error_links]
        return doc


class Chain(Canvas):
    """Nodes one after another; each result is the first argument of the next."""

    def __init__(self, nodes: Iterable[Canvas]) -> None:
        self.nodes = _nodes(nodes, "chain")

    def to_json(self) -> Dict[str, Json]:
        return {"chain": [n.to_json() for n in self.nodes]}


class Group(Canvas):
    """Nodes in parallel; the result is the list of their results, in order."""

    def __init__(self, members: Iterable[Canvas]) -> None:
        self.members = _nodes(members, "group")

    def to_json(self) -> Dict[str, Json]:
        return {"group": [m.to_json() for m in self.members]}


class Chord(Canvas):
    """A group (the header) and a body that receives the list of the header's results once
    every member succeeded; or, with `on_complete=True`, a callback that receives the list of
    their outcomes (`{"id", "state", "result" | "error"}`) once every member finished, whatever
    the outcomes."""

    def __init__(self, header: Iterable[Canvas], body: Canvas, on_complete: bool = False) -> None:
        self.header = _nodes(header, "chord header")
        if not isinstance(body, Canvas):
            raise TypeError("a chord's %s is a signature or canvas, got %r" % ("on_complete" if on_complete else "body", body))
        self.body = body
        self.on_complete = on_complete

    def to_json(self) -> Dict[str, Json]:
        key = "on_complete" if self.on_complete else "body"
        return {"chord": {"header": [h.to_json() for h in self.header], key: self.body.to_json()}}


def signature(
    task: str,
    *args: Json,
    kwargs: Optional[Mapping[str, Json]] = None,
    queue: Optional[str] = None,
    priority: Optional[int] = None,
    countdown: Optional[float] = None,
    max_retries: Optional[int] = None,
    headers: Optional[Mapping[str, str]] = None,
    immutable: bool = False,
) -> Signature:
    """A signature: `signature("add", 1, 2, queue="math", immutable=True)`."""
    options = {
        "queue": queue,
        "priority": priority,
        "countdown": countdown,
        "max_retries": max_retries,
        "headers": dict(headers) if headers else None,
    }
    return Signature(task, args, kwargs, options, immutable)


def chain(*nodes: Union[Canvas, Iterable[Canvas]]) -> Chain:
    """`chain(a, b, c)` (or `chain([a, b, c])`); nested chains are flattened."""
    flat: List[Canvas] = []
    for n in _spread(nodes):
        flat.extend(n.nodes if isinstance(n, Chain) else [n])
    return Chain(flat)


def group(*members: Union[Canvas, Iterable[Canvas]]) -> Group:
    """`group(a, b)` or `group(sig for ...)`."""
    return Group(_spread(members))


def chord(header: Union[Group, Iterable[Canvas]], body: Optional[Canvas] = None, *,
          on_complete: Optional[Canvas] = None) -> Chord:
    """`chord([a, b], body)` or `chord(group(a, b), body)`: `body` gets the members' results once
    all succeeded. `chord([a, b], on_complete=report)`: `report` runs once every member
    finished, whatever the outcomes, with their outcomes in member order."""
    members = header.members if isinstance(header, Group) else header
    if (body is None) == (on_complete is None):
        raise TypeError("a chord takes a body or on_complete=, one of the two")
    if on_complete is not None:
        return Chord(members, on_complete, on_complete=True)
    assert body is not None
    return Chord(members, body)


class CanvasResult:
    """A submitted canvas: `.id`, `.show()` (every node with its state) and `.get()`."""

    def __init__(self, canvas_id: str, client: Client, submitted: Optional[Dict[str, Json]] = None) -> None:
        self.id = canvas_id
        self.client = client
        self.submitted = submitted or {"id": canvas_id}

    def show(self) -> Dict[str, Json]:
        """The canvas view: `{"id", "state", "result", "failed", "nodes": [...]}`."""
        return self.client.canvas(self.id)

    @property
    def state(self) -> str:
        return str(self.show().get("state"))

    def ready(self) -> bool:
        return self.state in TERMINAL

    def get(self, timeout: Optional[Duration] = None, interval: float = 0.1) -> Json:
        """Wait for the canvas and return its final result. A failed or revoked canvas raises
        `TaskFailed` (`.failed` names the failed node, `.node` is its view, `.view` the
        canvas's); no outcome within `timeout` seconds raises `TimeoutError`."""
        timeout = seconds(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        pause = interval
        while True:
            view = self.show()
            if view.get("state") in TERMINAL:
                break
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("canvas %s is still %s after %ss" % (self.id, view.get("state"), timeout))
            left = float("inf") if deadline is None else deadline - time.monotonic()
            time.sleep(max(min(pause, left), 0.0))
            pause = min(pause * 1.5, 2.0)
        if view["state"] != "success":
            raise canvas_failed(view)
        return view.get("result")

    def __repr__(self) -> str:
        return "<CanvasResult %s>" % self.id


def canvas_failed(view: Mapping[str, Json]) -> TaskFailed:
    """The `TaskFailed` for a failed or revoked canvas view, naming the failed node."""
    failed = view.get("failed")
    nodes = view.get("nodes") or []
    node = next((n for n in nodes if n.get("state") == "failure"), None)
    text = (node or {}).get("error") or ""
    kind, _, message = str(text).partition(": ")
    if node is None:
        kind, message = view.get("state", "failure").capitalize(), "canvas %s" % view.get("state")
    where = " at %s" % failed if failed else ""
    error = {"type": kind or "Failure", "message": (message or text) + where}
    exc = TaskFailed({"id": view.get("id"), "state": view.get("state"), "error": error})
    exc.failed = failed  # type: ignore[attr-defined]
    exc.node = node  # type: ignore[attr-defined]
    exc.view = dict(view)  # type: ignore[attr-defined]
    return exc


def _signature_only(callback: Any, what: str) -> Signature:
    if not isinstance(callback, Signature):
        raise TypeError("a %s callback is a signature, got %r" % (what, callback))
    return callback


def _spread(items: Iterable[Any]) -> List[Canvas]:
    """Arguments as given, or the one iterable given."""
    items = list(items)
    if len(items) == 1 and not isinstance(items[0], Canvas):
        items = list(items[0])
    return items


def _nodes(nodes: Iterable[Any], what: str) -> List[Canvas]:
    out = list(nodes)
    if not out:
        raise ValueError("an empty %s" % what)
    for n in out:
        if not isinstance(n, Canvas):
            raise TypeError("a %s holds signatures or canvases, got %r" % (what, n))
    return out
