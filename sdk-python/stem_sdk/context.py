"""The running task's context: `current` reads like Celery's `self.request` (id, name,
attempt, retries_left, deadline, soft_deadline, headers, traceparent) and adds `progress()`,
`heartbeat()` and `log()`, which write protocol lines for the task."""

import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional

if TYPE_CHECKING:
    from .loop import Channel


class TaskContext:
    """One task's envelope fields plus the calls that report on it."""

    def __init__(self, message: Dict[str, Any], channel: "Channel") -> None:
        self._channel = channel
        self.id: str = message["id"]
        self.name: Optional[str] = message.get("name")
        self.args: List[Any] = list(message.get("args") or [])
        self.kwargs: Dict[str, Any] = dict(message.get("kwargs") or {})
        self.queue: Optional[str] = message.get("queue")
        self.attempt: int = message.get("attempt", 1)
        self.retries_left: int = message.get("retries_left", 0)
        self.deadline: Optional[int] = message.get("deadline")  # epoch ms of the hard limit, or None
        self.soft_deadline: Optional[int] = message.get("soft_deadline")  # epoch ms of the soft limit, or None
        if "time_limit_ms" in message or "soft_time_limit_ms" in message:
            # A line written ahead (pipelining): its limits count from this task's own start.
            started = int(time.time() * 1000)
            if self.deadline is None:
                self.deadline = _from(started, message.get("time_limit_ms"))
            if self.soft_deadline is None:
                self.soft_deadline = _from(started, message.get("soft_time_limit_ms"))
        self.headers: Dict[str, Any] = dict(message.get("headers") or {})
        # The span this task's own work hangs under (set while it runs; see stem_sdk.trace).
        self.traceparent: Optional[str] = None

    def progress(self, value: Any) -> None:
        """Report progress: any JSON value, e.g. `{"current": 3, "total": 10}`."""
        self._channel.send({"type": "progress", "id": self.id, "progress": value})

    def heartbeat(self) -> None:
        """Tell the supervisor the task is alive."""
        self._channel.send({"type": "heartbeat", "id": self.id})

    def log(self, message: Any, level: str = "info") -> None:
        """Send a log line to the supervisor's log, tagged with this task's id."""
        self._channel.send({"type": "log", "id": self.id, "level": str(level), "message": str(message)})

    def __repr__(self) -> str:
        return "<TaskContext %s id=%s attempt=%s>" % (self.name, self.id, self.attempt)


def _from(started: int, limit_ms: Any) -> Optional[int]:
    """`started` plus a relative limit in ms, or None without a limit (or with one not a number)."""
    if isinstance(limit_ms, bool) or not isinstance(limit_ms, (int, float)):
        return None
    return started + int(limit_ms)


_active: Optional[TaskContext] = None


def activate(ctx: Optional[TaskContext]) -> None:
    """Make `ctx` the current task's context (None between tasks)."""
    global _active
    _active = ctx


class _Current:
    """Proxy to the running task's context; falsy between tasks. Reading a field
    outside a task raises RuntimeError."""

    __slots__ = ()

    def _get(self) -> TaskContext:
        if _active is None:
            raise RuntimeError("stem_sdk.current is only available while a task runs")
        return _active

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._get(), attr)

    def __bool__(self) -> bool:
        return _active is not None

    def __repr__(self) -> str:
        return repr(_active) if _active is not None else "<no current task>"


current = _Current()
