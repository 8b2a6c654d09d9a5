"""Producer side: enqueue tasks, wait for their results, revoke them.

With an API URL (`Client(url="http://127.0.0.1:8750", token=...)`, or `STEM_API_URL` and
`STEM_API_TOKEN`) the client speaks `stem serve`'s HTTP API over one keep-alive connection
per thread: nothing else to install. Without one it falls back to running the `stem` CLI,
which suits the embedded default (one SQLite file, no server)::

    from stem_sdk.client import Client

    client = Client(url="http://127.0.0.1:8750")
    print(client.enqueue("add", [2, 3]).get(timeout=30))       # 5
    results = client.enqueue_many([("add", [i, i]) for i in range(1000)])
    client.schedule("nightly", "report", cron="30 2 * * *", timezone="Europe/Paris")

Schedules (`schedule`, `schedules`, `unschedule`) and canvases (`submit_canvas`, `canvas`; the
builders are in `stem_sdk.canvas`) always go through the `stem` CLI: they have no HTTP route
yet (see `stem_sdk.schedules`).

Durable workflow runs (`start_workflow`, `workflow_run`, `workflow_runs`, `workflow_waiters`,
`emit`, `cancel_workflow`, `rewind_workflow`) go through either transport: see
`stem_sdk.workflow_client`.

`stem_sdk.aio.AsyncClient` is the same for `asyncio`.
"""

import datetime as _dt
import json
import os
import time
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from . import pg as _pg
from . import schedules as _schedules
from .cli import CliTransport
from .http import HttpTransport
from .producer_errors import (ApiError, InvalidTask, StemCliError, StemError, StemWarning, TaskFailed, TaskNotFound,
                              TaskTimeout, UnknownTask)
from .spec import TERMINAL_STATES, Countdown, Duration, Eta, TaskSpec, as_spec, check_wait, chunks, seconds, task_spec
from .workflow_client import WorkflowProducer, WorkflowRun

__all__ = ["ApiError", "AsyncResult", "Client", "InvalidTask", "StemCliError", "StemError", "StemWarning", "TaskFailed",
           "TaskNotFound", "TaskTimeout", "UnknownTask", "WorkflowRun"]

#: Tasks per request of `enqueue_many` (the API takes at most 10,000 per request).
BATCH = 10_000


class Client(WorkflowProducer):
    """A producer. `url`/`token`: the API (default `STEM_API_URL`/`STEM_API_TOKEN`);
    `timeout`: seconds per request. Without a URL: the CLI at `bin` (default `STEM_BIN`,
    else the binary this package carries, else `stem` on PATH) with `broker`/`backend` URLs,
    `env` and `cwd` for it. The schedule and canvas helpers use that CLI even with a URL (they
    have no HTTP route). Workflow runs: `start_workflow`, `workflow_run`, `emit`, ... (`stem_sdk.workflow_client`)."""

    def __init__(self, url: Optional[str] = None, token: Optional[str] = None, *, timeout: float = 30.0,
                 ssl_context: Any = None, broker: Optional[str] = None, backend: Optional[str] = None,
                 bin: Optional[str] = None, env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None):
        url = url or os.environ.get("STEM_API_URL")
        token = token or os.environ.get("STEM_API_TOKEN")
        self.transport: Union[HttpTransport, CliTransport]
        #: The CLI the schedule and canvas helpers run (the transport itself without a URL).
        self.cli = CliTransport(broker, backend, bin, env, cwd)
        if url:
            self.transport = HttpTransport(url, token, timeout, ssl_context)
        else:
            self.transport = self.cli

    # The CLI's options, as the CLI-only client had them.
    @property
    def bin(self) -> str:
        return self.cli.bin

    @property
    def broker(self) -> Optional[str]:
        return self.cli.broker

    @property
    def backend(self) -> Optional[str]:
        return self.cli.backend

    @property
    def env(self) -> Optional[Dict[str, str]]:
        return self.cli.env

    @property
    def cwd(self) -> Optional[str]:
        return self.cli.cwd

    def enqueue(self, name: str, args: Sequence[Any] = (), kwargs: Optional[Mapping[str, Any]] = None, *,
                queue: Optional[str] = None, countdown: Optional[Countdown] = None, eta: Optional[Eta] = None,
                priority: Optional[int] = None, max_retries: Optional[int] = None,
                headers: Optional[Mapping[str, str]] = None, id: Optional[str] = None,
                unique_key: Optional[str] = None, unique_for: Optional[Countdown] = None,
                expires: Optional[Union[Countdown, Eta]] = None,
                time_limit: Optional[Duration] = None, soft_time_limit: Optional[Duration] = None,
                ignore_result: bool = False,
                fair_key: Optional[str] = None, fair_weight: Optional[int] = None,
                wait: bool = False, timeout: Optional[Duration] = None, conn: Any = None) -> "AsyncResult":
        """Enqueue task `name`. With `wait`, also wait (up to `timeout` seconds) for it to
        finish; the handle's `get()` then answers at once. With `conn` (a psycopg 3 connection),
        in that connection's transaction instead: published when it commits (`stem_sdk.pg`).
        `fair_key` (a tenant, say) and `fair_weight` (1-100): within a queue and priority, keys
        are served round-robin, weighted (not with `conn`: the SQL enqueue has no such fields)."""
        spec = task_spec(name, args, kwargs, queue=queue, countdown=countdown, eta=eta, priority=priority,
                         max_retries=max_retries, headers=headers, id=id,
                         unique_key=unique_key, unique_for=unique_for, expires=expires,
                         time_limit=time_limit, soft_time_limit=soft_time_limit, ignore_result=ignore_result,
                         fair_key=fair_key, fair_weight=fair_weight)
        check_wait(name, wait, ignore_result, conn is not None)
        if conn is not None:
            return AsyncResult(_pg.send_spec(conn, spec), self)
        sent = self.transport.enqueue([spec])[0]
        result = AsyncResult(sent["id"], self, enqueued=sent)
        if wait:
            result.wait(timeout)
        return result

    def enqueue_many(self, tasks: Iterable[Union[TaskSpec, Sequence[Any]]], *, batch_size: int = BATCH) -> List["AsyncResult"]:
        """Enqueue many tasks, `batch_size` per request (one batch publish each). Each item is
        a spec dict (`{"task": "add", "args": [1, 2], "queue": ...}`) or `(name, args[, kwargs])`.
        A bad task fails its whole batch (`ApiError` naming `tasks[i]`); earlier batches stay sent."""
        out: List[AsyncResult] = []
        for batch in chunks((as_spec(t) for t in tasks), batch_size):
            out.extend(AsyncResult(s["id"], self, enqueued=s) for s in self.transport.enqueue(batch))
        return out

    def result(self, task_id: str) -> "AsyncResult":
        """A handle on a task enqueued earlier (here or elsewhere)."""
        return AsyncResult(task_id, self)

    #: The older name of `result`.
    async_result = result

    def info(self, task_id: str, wait: Optional[float] = None) -> Dict[str, Any]:
        """The task's record (`{"id", "state", "result"|"error", "args", ...}`); with `wait`,
        long-polls up to that many seconds for it to finish."""
        return self.transport.info(task_id, wait)

    def revoke(self, task_id: str, terminate: bool = False, reason: Optional[str] = None) -> Dict[str, Any]:
        """Revoke a task: it never starts; with `terminate`, a running one is stopped."""
        return self.transport.revoke(task_id, terminate, reason)

    def schedule(self, id: str, task: str, *, every: Optional[_schedules.Duration] = None,
                 cron: Optional[str] = None, timezone: Optional[str] = None,
                 at: Union[str, _dt.datetime, None] = None, anchor: Optional[str] = None,
                 args: Optional[Sequence[Any]] = None, kwargs: Optional[Mapping[str, Any]] = None,
                 queue: Optional[str] = None, priority: Optional[int] = None,
                 headers: Optional[Mapping[str, str]] = None, enabled: Optional[bool] = None,
                 jitter: Optional[_schedules.Duration] = None, expires: Optional[_schedules.Duration] = None,
                 catch_up: Optional[str] = None, max_catch_up: Optional[int] = None,
                 manifest: Optional[_schedules.PathLike] = None) -> Dict[str, Any]:
        """Create or update schedule `id` firing `task` (one of `every`, `cron`, `at`) through
        `stem schedule apply`; returns what it did (`{"created": [...], "updated": [...], ...}`).
        `manifest` names the stem.toml whose tasks are checked (default: ./stem.toml). A
        refusal (unknown task, bad cron or time zone) raises `StemCliError` naming the field."""
        return _schedules.schedule(
            self.cli, id, task, manifest=manifest, every=every, cron=cron, timezone=timezone, at=at,
            anchor=anchor, args=args, kwargs=kwargs, queue=queue, priority=priority, headers=headers,
            enabled=enabled, jitter=jitter, expires=expires, catch_up=catch_up, max_catch_up=max_catch_up)

    def schedules(self) -> List[Dict[str, Any]]:
        """Every stored schedule with its state (`stem schedule list --json`)."""
        return _schedules.schedules(self.cli)

    def unschedule(self, id: str) -> Dict[str, Any]:
        """Delete schedule `id` (`stem schedule delete ID --yes --json`)."""
        return _schedules.unschedule(self.cli, id)

    def submit_canvas(self, document: Mapping[str, Any]) -> Dict[str, Any]:
        """Submit a canvas document (`stem canvas submit - --json`, the document on stdin):
        `{"id", "published", "nodes"}`. Through the CLI even with a URL (canvases have no
        HTTP route); a refused document raises `StemCliError` naming its path."""
        reply = self.cli.run(["canvas", "submit", "-"], stdin=json.dumps(document))
        if not isinstance(reply.get("id"), str):
            raise StemCliError("stem canvas submit printed no canvas id: %r" % (reply,))
        return reply

    def canvas(self, canvas_id: str) -> Dict[str, Any]:
        """A canvas's view (`stem canvas show ID --json`): its state, result, failed node and nodes."""
        return self.cli.run(["canvas", "show", str(canvas_id)])

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class AsyncResult:
    """A handle on one task, like Celery's: `.id`, `.state`, `.ready()`, `.get(timeout)`."""

    def __init__(self, task_id: str, client: Client, enqueued: Optional[Dict[str, Any]] = None):
        self.id = task_id
        self.client = client
        self.enqueued = enqueued or {"id": task_id}
        self._final: Optional[Dict[str, Any]] = None

    @property
    def duplicate(self) -> bool:
        """True when a live task already held this id or unique key: nothing was published."""
        return bool(self.enqueued.get("duplicate"))

    def info(self) -> Dict[str, Any]:
        """The task's current record (no waiting)."""
        return self._final or self.client.info(self.id)

    @property
    def state(self) -> Optional[str]:
        return self.info().get("state")

    def ready(self) -> bool:
        return self.state in TERMINAL_STATES

    def wait(self, timeout: Optional[Duration] = None) -> Dict[str, Any]:
        """Waits for the task to finish and returns its record; `TaskTimeout` after `timeout`
        seconds (`None`: no limit)."""
        if self._final is not None:
            return self._final
        timeout = seconds(timeout)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = 30.0 if deadline is None else deadline - time.monotonic()
            info = self.client.info(self.id, wait=max(left, 0.001))
            if info.get("state") in TERMINAL_STATES:
                self._final = info
                return info
            if deadline is not None and time.monotonic() >= deadline:
                raise TaskTimeout(self.id, info.get("state"), timeout)

    def get(self, timeout: Optional[Duration] = None, propagate: bool = True) -> Any:
        """The task's result value once it finishes. `failure` or `revoked` raises
        `TaskFailed` (with `propagate=False`, returns the record instead)."""
        info = self.wait(timeout)
        if info["state"] != "success":
            if propagate:
                raise TaskFailed(info)
            return info
        return info.get("result")

    def revoke(self, terminate: bool = False) -> Dict[str, Any]:
        return self.client.revoke(self.id, terminate)

    def __repr__(self) -> str:
        return "<AsyncResult %s>" % self.id
