"""Speaking `stem serve`'s HTTP API with the standard library: `http.client` with one
keep-alive connection per thread, JSON in and out, error answers raised as `ApiError` (on
the task routes as `UnknownTask`, `InvalidTask` or `TaskNotFound` too, as the CLI transport
raises them).
A request that fails on a reused connection (the server closed it while idle) is sent
once more on a fresh one."""

import http.client
import json
import ssl
import threading
import urllib.parse
from typing import Any, Dict, List, Optional

from .producer_errors import ApiError, ApiInvalidTask, ApiTaskNotFound, ApiUnknownTask, StemError

#: The longest single long-poll asked of the server (it caps `wait` at 60 s).
MAX_POLL = 30.0


def _error_of(status: int, raw: bytes) -> ApiError:
    try:
        error = json.loads(raw)["error"]
        return ApiError(status, error["code"], error["message"])
    except (ValueError, KeyError, TypeError):
        return ApiError(status, "http_%d" % status, raw[:200].decode("utf-8", "replace") or "no body")


#: The error codes of the task routes with a class of their own, one for both transports.
TASK_ERRORS = {
    "unknown_task": ApiUnknownTask,
    "invalid_field": ApiInvalidTask,
    "invalid_task": ApiInvalidTask,
    "task_not_found": ApiTaskNotFound,
}


def task_error(e: ApiError) -> ApiError:
    """`e` (an answer of a task route) as its task class when it has one."""
    kind = TASK_ERRORS.get(e.code)
    return e if kind is None or isinstance(e, kind) else kind(e.status, e.code, e.message)


def long_poll_query(wait: Optional[float]) -> str:
    return "" if not wait else "?wait=%dms" % max(1, int(wait * 1000))


class HttpTransport:
    """Requests to one API server (`url`, e.g. `http://127.0.0.1:8750`)."""

    def __init__(self, url: str, token: Optional[str] = None, timeout: float = 30.0, ssl_context: Optional[ssl.SSLContext] = None):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("url must be http://HOST[:PORT] or https://..., got %r" % url)
        self.url = url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._ssl = ssl_context
        self.token = token
        self.timeout = timeout
        self._local = threading.local()

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        if self._https:
            return http.client.HTTPSConnection(self._host, self._port, timeout=timeout, context=self._ssl)
        return http.client.HTTPConnection(self._host, self._port, timeout=timeout)

    def request(self, method: str, path: str, body: Any = None, timeout: Optional[float] = None) -> Any:
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        limit = self.timeout if timeout is None else timeout
        for attempt in (1, 2):
            conn = getattr(self._local, "conn", None)
            reused = conn is not None
            if conn is None:
                conn = self._local.conn = self._connect(limit)
            conn.timeout = limit
            if conn.sock is not None:
                conn.sock.settimeout(limit)
            try:
                conn.request(method, self._prefix + path, body=data, headers=headers)
                response = conn.getresponse()
                raw = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.CannotSendRequest) as e:
                self.close()
                if reused and attempt == 1:
                    continue
                raise StemError("cannot reach the Stem API at %s: %s" % (self.url, e)) from e
            except OSError as e:
                self.close()
                raise StemError("cannot reach the Stem API at %s: %s" % (self.url, e)) from e
            if response.status >= 400:
                raise _error_of(response.status, raw)
            return json.loads(raw) if raw else None
        raise AssertionError("unreachable")

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()

    def task_request(self, method: str, path: str, body: Any = None) -> Any:
        """`request` to a task route, a refused task raised as its own class (`task_error`)."""
        try:
            return self.request(method, path, body)
        except ApiError as e:
            typed = task_error(e)
            if typed is e:
                raise
            raise typed from None

    # The three calls a producer makes.

    def enqueue(self, specs: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        if len(specs) == 1:
            return [self.task_request("POST", "/v1/tasks", specs[0])]
        reply = self.task_request("POST", "/v1/tasks", specs)
        return [{"id": i, "state": "pending"} for i in reply["ids"]]

    def info(self, task_id: str, wait: Optional[float] = None) -> Dict[str, Any]:
        wait = None if wait is None else min(wait, MAX_POLL)
        path = "/v1/tasks/%s%s" % (urllib.parse.quote(task_id, safe=""), long_poll_query(wait))
        info: Dict[str, Any] = self.request("GET", path, timeout=self.timeout + (wait or 0))
        return info

    def revoke(self, task_id: str, terminate: bool = False, reason: Optional[str] = None) -> Dict[str, Any]:
        body: Dict[str, Any] = {"terminate": terminate}
        if reason is not None:
            body["reason"] = reason
        revoked: Dict[str, Any] = self.task_request("POST", "/v1/tasks/%s/revoke" % urllib.parse.quote(task_id, safe=""), body)
        return revoked
