"""How the producer reaches workflow runs: the same seven calls (start, show with an optional
wait, list, waiters, emit, cancel, rewind) over the `stem wf` CLI (`CliWorkflows`) and over
`stem serve`'s `/v1/workflows` routes (`HttpWorkflows`; the asyncio client sends the same
`Request`s). Both turn "no such run" and "no such workflow" into `RunNotFound` and
`UnknownWorkflow`, and check arguments and payloads are JSON before anything is sent."""

import json
import time
import urllib.parse
from typing import Any, Dict, List, Mapping, NamedTuple, Optional, Sequence

from .cli import CliTransport, _last_line
from .http import MAX_POLL, HttpTransport, long_poll_query
from .producer_errors import (ApiError, ApiRunNotFound, ApiUnknownWorkflow, CliRunNotFound,
                              CliUnknownWorkflow, StemCliError, StemError)

#: The states a run ends in (a rewind may make it live again).
FINAL_STATES = ("completed", "failed", "cancelled", "timed_out")
#: The states `workflow_runs(state=...)` takes.
RUN_STATES = ("running", "suspended") + FINAL_STATES


class Request(NamedTuple):
    """One HTTP request of the workflow API: method, path (quoted), JSON body or None."""

    method: str
    path: str
    body: Any = None


def _q(part: str) -> str:
    return urllib.parse.quote(str(part), safe="")


def json_text(what: str, value: Any) -> str:
    """`value` as JSON text; `TypeError` naming `what` when it cannot be."""
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise TypeError("%s: not JSON: %s" % (what, e)) from None


def start_body(name: str, args: Sequence[Any], kwargs: Optional[Mapping[str, Any]],
               id: Optional[str]) -> Dict[str, Any]:
    """The start request's body, checked: `args` a sequence, `kwargs` a mapping with string
    keys, both JSON; a bad one raises `TypeError` naming the workflow and the field."""
    if not isinstance(name, str) or not name:
        raise TypeError("workflow name: expected a non-empty string, got %r" % (name,))
    if isinstance(args, (str, bytes, Mapping)) or not isinstance(args, Sequence):
        raise TypeError("workflow %s: args: expected a list or tuple, got %s" % (name, type(args).__name__))
    if kwargs is not None and not isinstance(kwargs, Mapping):
        raise TypeError("workflow %s: kwargs: expected a mapping, got %s" % (name, type(kwargs).__name__))
    body: Dict[str, Any] = {"args": list(args), "kwargs": dict(kwargs or {})}
    for field in ("args", "kwargs"):
        json_text("workflow %s: %s" % (name, field), body[field])
    if id is not None:
        if not isinstance(id, str):
            raise TypeError("workflow %s: id: expected a string, got %s" % (name, type(id).__name__))
        body["id"] = id
    return body


def check_state(state: Optional[str]) -> None:
    if state is not None and state not in RUN_STATES:
        raise ValueError("state: unknown run state %r (%s)" % (state, ", ".join(RUN_STATES)))


def _query(**params: Any) -> str:
    pairs = [(k, str(v)) for k, v in params.items() if v is not None]
    return "?" + urllib.parse.urlencode(pairs) if pairs else ""


# The requests, shared by the sync and asyncio HTTP clients.

def start_request(name: str, body: Dict[str, Any]) -> Request:
    return Request("POST", "/v1/workflows/%s/runs" % _q(name), body)


def show_request(run_id: str, wait: Optional[float]) -> Request:
    return Request("GET", "/v1/workflows/runs/%s%s" % (_q(run_id), long_poll_query(wait)))


def list_request(state: Optional[str], name: Optional[str], limit: int) -> Request:
    return Request("GET", "/v1/workflows/runs" + _query(state=state, name=name, limit=limit))


def waiters_request(topic: Optional[str], limit: int) -> Request:
    return Request("GET", "/v1/workflows/waiters" + _query(topic=topic, limit=limit))


def emit_request(topic: str, payload: Any) -> Request:
    json_text("emit %s: payload" % topic, payload)
    return Request("POST", "/v1/events/%s" % _q(topic), {"payload": payload})


def cancel_request(run_id: str) -> Request:
    return Request("POST", "/v1/workflows/runs/%s/cancel" % _q(run_id), {})


def rewind_request(run_id: str, to: str) -> Request:
    return Request("POST", "/v1/workflows/runs/%s/rewind" % _q(run_id), {"to": to})


def api_error(e: ApiError) -> ApiError:
    """`e` as its workflow class when it is one (`run_not_found`, `unknown_workflow`)."""
    kind = {"run_not_found": ApiRunNotFound, "unknown_workflow": ApiUnknownWorkflow}.get(e.code)
    return e if kind is None else kind(e.status, e.code, e.message)


def cli_error(e: StemCliError, argv: List[str]) -> StemCliError:
    """`e` naming the `stem wf` command and its one-line reason, as its workflow class when
    the reason says so."""
    reason = _last_line(e.stderr)
    if e.returncode in (None, 0) or not reason:
        return e
    reason = reason[len("error: "):] if reason.startswith("error: ") else reason
    kind = CliRunNotFound if reason.startswith("no workflow run ") else (
        CliUnknownWorkflow if reason.startswith("unknown workflow ") else StemCliError)
    return kind("stem %s failed: %s" % (" ".join(argv[:2]), reason), e.command, e.returncode, e.stderr)


class HttpWorkflows:
    """The workflow calls over `stem serve`."""

    def __init__(self, http: HttpTransport):
        self.http = http

    def _send(self, request: Request, wait: Optional[float] = None) -> Any:
        try:
            return self.http.request(request.method, request.path, request.body,
                                     timeout=self.http.timeout + (wait or 0))
        except ApiError as e:
            raise api_error(e) from None

    def start(self, name: str, body: Dict[str, Any], manifest: Optional[str]) -> Dict[str, Any]:
        started: Dict[str, Any] = self._send(start_request(name, body))
        return started

    def show(self, run_id: str, wait: Optional[float] = None) -> Dict[str, Any]:
        wait = None if wait is None else min(wait, MAX_POLL)
        view: Dict[str, Any] = self._send(show_request(run_id, wait), wait)
        return view

    def list(self, state: Optional[str], name: Optional[str], limit: int) -> List[Dict[str, Any]]:
        runs: List[Dict[str, Any]] = self._send(list_request(state, name, limit))["runs"]
        return runs

    def waiters(self, topic: Optional[str], limit: int) -> List[Dict[str, Any]]:
        waiters: List[Dict[str, Any]] = self._send(waiters_request(topic, limit))["waiters"]
        return waiters

    def emit(self, topic: str, payload: Any) -> Dict[str, Any]:
        emitted: Dict[str, Any] = self._send(emit_request(topic, payload))
        return emitted

    def cancel(self, run_id: str) -> Dict[str, Any]:
        view: Dict[str, Any] = self._send(cancel_request(run_id))
        return view

    def rewind(self, run_id: str, to: str) -> Dict[str, Any]:
        view: Dict[str, Any] = self._send(rewind_request(run_id, to))
        return view


class CliWorkflows:
    """The workflow calls through `stem wf ... --json`."""

    def __init__(self, cli: CliTransport):
        self.cli = cli

    def _run(self, argv: List[str]) -> Dict[str, Any]:
        try:
            return self.cli.run(argv)
        except StemCliError as e:
            raise cli_error(e, argv) from None

    def _run_list(self, argv: List[str]) -> List[Dict[str, Any]]:
        try:
            return self.cli.run_list(argv)
        except StemCliError as e:
            raise cli_error(e, argv) from None

    def start(self, name: str, body: Dict[str, Any], manifest: Optional[str]) -> Dict[str, Any]:
        argv = ["wf", "start", name, "--args", json_text("args", body["args"]),
                "--kwargs", json_text("kwargs", body["kwargs"])]
        if "id" in body:
            argv += ["--id", body["id"]]
        if manifest is not None:
            argv += ["--manifest", str(manifest)]
        started = self._run(argv)
        if not isinstance(started.get("run"), str):
            raise StemError("stem wf start printed no run id: %r" % (started,))
        return started

    def show(self, run_id: str, wait: Optional[float] = None) -> Dict[str, Any]:
        """The run; with `wait`, polls until it ends or `wait` seconds pass (the CLI's `show`
        does not wait), the pause doubling from 20 ms to 500 ms."""
        deadline = None if not wait else time.monotonic() + wait
        pause = 0.02
        while True:
            view = self._run(["wf", "show", str(run_id)])
            left = 0.0 if deadline is None else deadline - time.monotonic()
            if view.get("state") in FINAL_STATES or left <= 0:
                return view
            time.sleep(min(pause, left))
            pause = min(pause * 2, 0.5)

    def list(self, state: Optional[str], name: Optional[str], limit: int) -> List[Dict[str, Any]]:
        argv = ["wf", "ls", "--limit", str(limit)]
        if state is not None:
            argv += ["--state", state]
        if name is not None:
            argv += ["--name", name]
        return self._run_list(argv)

    def waiters(self, topic: Optional[str], limit: int) -> List[Dict[str, Any]]:
        argv = ["wf", "waiters", "--limit", str(limit)]
        if topic is not None:
            argv += ["--topic", topic]
        return self._run_list(argv)

    def emit(self, topic: str, payload: Any) -> Dict[str, Any]:
        return self._run(["wf", "emit", topic, "--payload", json_text("emit %s: payload" % topic, payload)])

    def cancel(self, run_id: str) -> Dict[str, Any]:
        return self._run(["wf", "cancel", str(run_id)])

    def rewind(self, run_id: str, to: str) -> Dict[str, Any]:
        return self._run(["wf", "rewind", str(run_id), "--to", to])
