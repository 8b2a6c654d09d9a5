"""The producer for `asyncio`: `AsyncClient` has the same options, defaults and errors as
`Client`, over the HTTP API only (a small HTTP/1.1 client on asyncio streams, keeping idle
connections for reuse, so many tasks can be awaited at once)::

    async with AsyncClient("http://127.0.0.1:8750") as client:
        handle = await client.enqueue("add", [2, 3])
        print(await handle.get(timeout=30))

The schedule helpers (`schedule`, `schedules`, `unschedule`) run the `stem` CLI in a worker
thread, as `Client`'s do (`bin`, `broker`, `backend`, `env`, `cwd` configure it). Workflow runs
(`start_workflow`, `workflow_run`, `emit`, ...; handles `AsyncWorkflowRun`) are in
`stem_sdk.workflow_aio`.
"""

import asyncio
import datetime as _dt
import functools
import json
import os
import ssl
import urllib.parse
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from . import pg as _pg
from . import schedules as _schedules
from .cli import CliTransport
from .http import MAX_POLL, _error_of, long_poll_query, task_error
from .producer_errors import ApiError, StemError, TaskFailed, TaskTimeout
from .spec import TERMINAL_STATES, Countdown, Duration, Eta, TaskSpec, as_spec, check_wait, chunks, seconds, task_spec
from .workflow_aio import AsyncWorkflowProducer, AsyncWorkflowRun

__all__ = ["AsyncClient", "AsyncTaskResult", "AsyncWorkflowRun"]

Conn = Tuple[asyncio.StreamReader, asyncio.StreamWriter]

#: Idle connections kept for reuse.
KEEP_IDLE = 16


class AsyncClient(AsyncWorkflowProducer):
    def __init__(self, url: Optional[str] = None, token: Optional[str] = None, *, timeout: float = 30.0,
                 ssl_context: Optional[ssl.SSLContext] = None, broker: Optional[str] = None,
                 backend: Optional[str] = None, bin: Optional[str] = None, env: Optional[Dict[str, str]] = None,
                 cwd: Optional[str] = None):
        url = url or os.environ.get("STEM_API_URL")
        if not url:
            raise ValueError("AsyncClient needs the API URL: url=... or STEM_API_URL")
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be http://HOST[:PORT] or https://..., got %r" % url)
        self.url = url.rstrip("/")
        self.token = token or os.environ.get("STEM_API_TOKEN")
        self.timeout = timeout
        self._host = parts.hostname
        self._port = parts.port or (443 if parts.scheme == "https" else 80)
        # The Host header as the URL names the server (port and IPv6 brackets kept).
        self._authority = parts.netloc.rsplit("@", 1)[-1]
        self._ssl = (ssl_context or ssl.create_default_context()) if parts.scheme == "https" else None
        self._prefix = parts.path.rstrip("/")
        self._idle: List[Conn] = []
        #: The CLI the schedule helpers run (schedules have no HTTP route).
        self.cli = CliTransport(broker, backend, bin, env, cwd)

    async def _open(self) -> Conn:
        try:
            return await asyncio.open_connection(self._host, self._port, ssl=self._ssl)
        except OSError as e:
            raise StemError("cannot reach the Stem API at %s: %s" % (self.url, e)) from e

    async def request(self, method: str, path: str, body: Any = None, timeout: Optional[float] = None) -> Any:
        data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        head = "%s %s%s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % (
            method, self._prefix, path, self._authority, len(data))
        if self.token:
            head += "Authorization: Bearer %s\r\n" % self.token
        message = (head + "\r\n").encode() + data
        for attempt in (1, 2):
            reused = bool(self._idle)
            conn = self._idle.pop() if reused else await self._open()
            try:
                status, raw, keep = await asyncio.wait_for(self._exchange(conn, message), self.timeout if timeout is None else timeout)
            except (ConnectionError, asyncio.IncompleteReadError) as e:
                conn[1].close()
                if reused and attempt == 1:
                    continue
                raise StemError("cannot reach the Stem API at %s: %s" % (self.url, e)) from e
            except asyncio.TimeoutError:
                conn[1].close()
                raise StemError("the Stem API at %s did not answer in time" % self.url) from None
            if keep and len(self._idle) < KEEP_IDLE:
                self._idle.append(conn)
            else:
                conn[1].close()
            if status >= 400:
                raise _error_of(status, raw)
            return json.loads(raw) if raw else None
        raise AssertionError("unreachable")

    async def task_request(self, method: str, path: str, body: Any = None) -> Any:
        """`request` to a task route, a refused task raised as its own class (`UnknownTask`,
        `InvalidTask`, `TaskNotFound`), as `Client` raises them."""
        try:
            return await self.request(method, path, body)
        except ApiError as e:
            typed = task_error(e)
            if typed is e:
                raise
            raise typed from None

    @staticmethod
    async def _exchange(conn: Conn, message: bytes) -> Tuple[int, bytes, bool]:
        reader, writer = conn
        writer.write(message)
        await writer.drain()
        status_line = await reader.readuntil(b"\r\n")
        status = int(status_line.split()[1])
        headers: Dict[str, str] = {}
        while True:
            line = await reader.readuntil(b"\r\n")
            if line == b"\r\n":
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers[k.strip().lower()] = v.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            raw = b""
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    break
                raw += chunk[:-2]
        else:
            raw = await reader.readexactly(int(headers.get("content-length", "0")))
        return status, raw, headers.get("connection", "").lower() != "close"

    async def enqueue(self, name: str, args: Sequence[Any] = (), kwargs: Optional[Mapping[str, Any]] = None, *,
                      queue: Optional[str] = None, countdown: Optional[Countdown] = None, eta: Optional[Eta] = None,
                      priority: Optional[int] = None, max_retries: Optional[int] = None,
                      headers: Optional[Mapping[str, str]] = None, id: Optional[str] = None,
                      unique_key: Optional[str] = None, unique_for: Optional[Countdown] = None,
                      expires: Optional[Union[Countdown, Eta]] = None,
                      time_limit: Optional[Duration] = None, soft_time_limit: Optional[Duration] = None,
                      ignore_result: bool = False,
                      fair_key: Optional[str] = None, fair_weight: Optional[int] = None,
                      wait: bool = False, timeout: Optional[Duration] = None, conn: Any = None) -> "AsyncTaskResult":
        spec = task_spec(name, args, kwargs, queue=queue, countdown=countdown, eta=eta, priority=priority,
                         max_retries=max_retries, headers=headers, id=id,
                         unique_key=unique_key, unique_for=unique_for, expires=expires,
                         time_limit=time_limit, soft_time_limit=soft_time_limit, ignore_result=ignore_result,
                         fair_key=fair_key, fair_weight=fair_weight)
        check_wait(name, wait, ignore_result, conn is not None)
        if conn is not None:
            # In conn's transaction (asyncpg or psycopg 3): published when it commits (stem_sdk.pg).
            return AsyncTaskResult(await _pg.send_spec_async(conn, spec), self)
        sent = await self.task_request("POST", "/v1/tasks", spec)
        result = AsyncTaskResult(sent["id"], self, enqueued=sent)
        if wait:
            await result.wait(timeout)
        return result

    async def enqueue_many(self, tasks: Iterable[Union[TaskSpec, Sequence[Any]]], *, batch_size: int = 10_000) -> List["AsyncTaskResult"]:
        out: List[AsyncTaskResult] = []
        for batch in chunks((as_spec(t) for t in tasks), batch_size):
            reply = await self.task_request("POST", "/v1/tasks", batch)
            out.extend(AsyncTaskResult(i, self) for i in reply["ids"])
        return out

    def result(self, task_id: str) -> "AsyncTaskResult":
        return AsyncTaskResult(task_id, self)

    async def info(self, task_id: str, wait: Optional[float] = None) -> Dict[str, Any]:
        wait = None if wait is None else min(wait, MAX_POLL)
        path = "/v1/tasks/%s%s" % (urllib.parse.quote(task_id, safe=""), long_poll_query(wait))
        info: Dict[str, Any] = await self.request("GET", path, timeout=self.timeout + (wait or 0))
        return info

    async def revoke(self, task_id: str, terminate: bool = False, reason: Optional[str] = None) -> Dict[str, Any]:
        body: Dict[str, Any] = {"terminate": terminate}
        if reason is not None:
            body["reason"] = reason
        revoked: Dict[str, Any] = await self.task_request("POST", "/v1/tasks/%s/revoke" % urllib.parse.quote(task_id, safe=""), body)
        return revoked

    async def schedule(self, id: str, task: str, *, every: Optional[_schedules.Duration] = None,
                       cron: Optional[str] = None, timezone: Optional[str] = None,
                       at: Union[str, _dt.datetime, None] = None, anchor: Optional[str] = None,
                       args: Optional[Sequence[Any]] = None, kwargs: Optional[Mapping[str, Any]] = None,
                       queue: Optional[str] = None, priority: Optional[int] = None,
                       headers: Optional[Mapping[str, str]] = None, enabled: Optional[bool] = None,
                       jitter: Optional[_schedules.Duration] = None, expires: Optional[_schedules.Duration] = None,
                       catch_up: Optional[str] = None, max_catch_up: Optional[int] = None,
                       manifest: Optional[_schedules.PathLike] = None) -> Dict[str, Any]:
        """`Client.schedule`: create or update schedule `id` through `stem schedule apply`."""
        call = functools.partial(
            _schedules.schedule, self.cli, id, task, manifest=manifest, every=every, cron=cron,
            timezone=timezone, at=at, anchor=anchor, args=args, kwargs=kwargs, queue=queue,
            priority=priority, headers=headers, enabled=enabled, jitter=jitter, expires=expires,
            catch_up=catch_up, max_catch_up=max_catch_up)
        result: Dict[str, Any] = await asyncio.get_running_loop().run_in_executor(None, call)
        return result

    async def schedules(self) -> List[Dict[str, Any]]:
        """Every stored schedule with its state (`stem schedule list --json`)."""
        listed: List[Dict[str, Any]] = await asyncio.get_running_loop().run_in_executor(None, _schedules.schedules, self.cli)
        return listed

    async def unschedule(self, id: str) -> Dict[str, Any]:
        """Delete schedule `id` (`stem schedule delete ID --yes --json`)."""
        deleted: Dict[str, Any] = await asyncio.get_running_loop().run_in_executor(None, _schedules.unschedule, self.cli, id)
        return deleted

    async def close(self) -> None:
        while self._idle:
            self._idle.pop()[1].close()

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.close()


class AsyncTaskResult:
    """`AsyncResult` for asyncio: `await handle.get(timeout)`."""

    def __init__(self, task_id: str, client: AsyncClient, enqueued: Optional[Dict[str, Any]] = None):
        self.id = task_id
        self.client = client
        self.enqueued = enqueued or {"id": task_id}
        self._final: Optional[Dict[str, Any]] = None

    @property
    def duplicate(self) -> bool:
        """True when a live task already held this id or unique key: nothing was published."""
        return bool(self.enqueued.get("duplicate"))

    async def info(self) -> Dict[str, Any]:
        return self._final or await self.client.info(self.id)

    async def wait(self, timeout: Optional[Duration] = None) -> Dict[str, Any]:
        if self._final is not None:
            return self._final
        loop = asyncio.get_running_loop()
        timeout = seconds(timeout)
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            left = 30.0 if deadline is None else deadline - loop.time()
            info = await self.client.info(self.id, wait=max(left, 0.001))
            if info.get("state") in TERMINAL_STATES:
                self._final = info
                return info
            if deadline is not None and loop.time() >= deadline:
                raise TaskTimeout(self.id, info.get("state"), timeout)

    async def get(self, timeout: Optional[Duration] = None, propagate: bool = True) -> Any:
        info = await self.wait(timeout)
        if info["state"] != "success":
            if propagate:
                raise TaskFailed(info)
            return info
        return info.get("result")

    async def revoke(self, terminate: bool = False) -> Dict[str, Any]:
        return await self.client.revoke(self.id, terminate)
