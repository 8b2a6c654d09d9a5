"""Testing helpers: run a task's function eagerly, in this process, with a fake context.

    from stem_sdk.testing import run_task

    def test_add():
        run = run_task(add, 2, 3)
        assert run.value == 5

`run_task` calls the function the way the serve loop does (`current` set, the soft limit
armed), records what the task reports (`progress`, `log`, `heartbeat`) and turns its outcome
into a `TaskRun`: a value, a retry it asked for (`Retry`, with its countdown) or a failure,
as values rather than exceptions. `soft_limit_after` simulates the soft time limit: the
`SoftTimeLimitExceeded` the SDK raises at the soft signal is raised in the task after that
many seconds (main thread only; it uses SIGALRM for the time of the call).

A real worker on a temporary store, for tests that go through the queue: the pytest plugin
`stem_sdk.testing.pytest` (`pytest_plugins = ["stem_sdk.testing.pytest"]`). Nothing here
imports pytest."""

import signal
import threading
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from .. import context
from ..errors import ErrorPayload, Retry, SoftTimeLimitExceeded, error_payload
from ..registry import Registry, Workflow, default_registry
from ..softlimit import soft_limit

__all__ = ["TaskRun", "run_task"]


class _Recorder:
    """A channel that keeps the messages a task sends instead of writing them."""

    def __init__(self) -> None:
        self.messages: List[Dict[str, Any]] = []

    def send(self, message: Dict[str, Any]) -> None:
        self.messages.append(message)


class TaskRun:
    """What one eager call of a task did.

    `state`: `"success"`, `"retry"` (the task raised `Retry`) or `"failure"` (anything else,
    `Fatal` included). `value`: the return value (success). `exception`: what it raised, and
    `error` the protocol's error object the worker would have recorded (`type`, `message`,
    `traceback`, `retryable`, `types`, `countdown`). `progress`, `logs` (`(level, message)`)
    and `heartbeats`: what it reported. `get()` returns the value or raises the exception."""

    def __init__(self, state: str, value: Any, exception: Optional[BaseException],
                 error: Optional[ErrorPayload], messages: List[Dict[str, Any]]) -> None:
        self.state = state
        self.value = value
        self.exception = exception
        self.error = error
        self.progress: List[Any] = [m["progress"] for m in messages if m["type"] == "progress"]
        self.logs: List[Tuple[str, str]] = [(m["level"], m["message"]) for m in messages if m["type"] == "log"]
        self.heartbeats = sum(1 for m in messages if m["type"] == "heartbeat")

    @property
    def succeeded(self) -> bool:
        return self.state == "success"

    @property
    def retried(self) -> bool:
        """The task asked for a retry (`Retry`)."""
        return self.state == "retry"

    @property
    def failed(self) -> bool:
        return self.state == "failure"

    @property
    def countdown(self) -> Optional[float]:
        """The delay a `Retry` asked for, in seconds (None: the manifest's policy)."""
        return self.error.get("countdown") if self.error else None

    @property
    def retryable(self) -> bool:
        """False for `Fatal` (the worker would not retry it, whatever its policy)."""
        return bool(self.error and self.error.get("retryable"))

    def get(self) -> Any:
        """The value; re-raises what the task raised."""
        if self.exception is not None:
            raise self.exception
        return self.value

    def __repr__(self) -> str:
        if self.state == "success":
            return "<TaskRun success value=%r>" % (self.value,)
        return "<TaskRun %s %s: %s>" % (self.state, self.error and self.error["type"], self.error and self.error["message"])


def _resolve(fn: Union[str, Callable[..., Any]], registry: Registry) -> Tuple[str, Callable[..., Any]]:
    if isinstance(fn, str):
        found = registry.get(fn)
        if found is None:
            raise LookupError("no task named %r is registered (registered: %s)"
                              % (fn, ", ".join(registry.names()) or "none"))
        return fn, found
    if not callable(fn):
        raise TypeError("run_task takes a task function or a registered task name, got %r" % (fn,))
    for name in registry.names():
        if registry.get(name) is fn:
            return name, fn
    return getattr(fn, "__name__", "task"), fn


def run_task(fn: Union[str, Callable[..., Any]], *args: Any, kwargs: Optional[Dict[str, Any]] = None,
             attempt: int = 1, retries_left: int = 0, queue: str = "default", task_id: Optional[str] = None,
             headers: Optional[Dict[str, str]] = None, soft_limit_after: Optional[float] = None,
             registry: Optional[Registry] = None) -> TaskRun:
    """Calls task `fn` (a function or a registered name) with `args` and `kwargs` in this
    process, with `current` reading `attempt`, `retries_left`, `queue`, `headers` and the id
    (a fresh one unless given), and returns a `TaskRun`. A workflow is refused (its steps need
    a worker: use the pytest plugin's `stem_client`)."""
    name, fn = _resolve(fn, registry or default_registry)
    if isinstance(fn, Workflow):
        raise TypeError("%r is a workflow: run it on a worker (stem_sdk.testing.pytest's stem_client)" % (name,))
    if attempt < 1 or retries_left < 0:
        raise ValueError("attempt must be at least 1 and retries_left at least 0, got %r and %r" % (attempt, retries_left))
    if soft_limit_after is not None and (not isinstance(soft_limit_after, (int, float)) or soft_limit_after < 0):
        raise ValueError("soft_limit_after must be a number of seconds, at least 0, got %r" % (soft_limit_after,))
    recorder = _Recorder()
    message = {
        "id": task_id or "eager-" + uuid.uuid4().hex, "name": name, "args": list(args),
        "kwargs": dict(kwargs or {}), "queue": queue, "attempt": attempt, "retries_left": retries_left,
        "headers": dict(headers or {}),
    }
    ctx = context.TaskContext(message, recorder)  # type: ignore[arg-type]
    previous = context._active
    context.activate(ctx)
    try:
        with soft_limit.armed(), _soft_timer(soft_limit_after):
            value = fn(*ctx.args, **ctx.kwargs)
    except (Exception, SystemExit) as exc:
        payload = error_payload(exc)
        state = "retry" if isinstance(exc, Retry) else "failure"
        return TaskRun(state, None, exc, payload, recorder.messages)
    finally:
        context.activate(previous)
    return TaskRun("success", value, None, None, recorder.messages)


class _soft_timer:
    """SIGALRM after `after` seconds raising `SoftTimeLimitExceeded` in the task, as the soft
    signal does under a worker; the previous handler and timer are put back after."""

    def __init__(self, after: Optional[float]) -> None:
        self.after = after
        self.previous: Any = None

    def __enter__(self) -> None:
        if self.after is None:
            return
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("soft_limit_after needs the main thread (it uses SIGALRM)")
        self.previous = signal.signal(signal.SIGALRM, _on_alarm)
        try:
            signal.setitimer(signal.ITIMER_REAL, max(float(self.after), 1e-6))
        except BaseException:  # the alarm came before the task started: it still counts
            self.__exit__()
            raise

    def __exit__(self, *exc: Any) -> None:
        if self.after is None:
            return
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous)


def _on_alarm(signum: int, frame: Any) -> None:
    soft_limit._on_signal(signum, frame)
