"""Durable workflows, the worker's side: `@workflow("checkout")` registers a function as the
task `wf:checkout`, and each resume calls it `fn(ctx, *args, **kwargs)` with a
`WorkflowContext`. The code replays from the top on every resume; its calls (`step`, `sleep`,
`wait_for_event`, `call`, `start_child`) return what the run's journal recorded, or do the
work now and make it durable before going on (protocol/PROTOCOL.md, "Workflows")::

    @workflow("checkout")
    def checkout(ctx, order):
        charge = ctx.step("charge", charge_card, order["card"], retries=2)
        ctx.sleep("cool_off", "2d")
        shipped = ctx.wait_for_event("shipped", "shipment." + order["id"], timeout="14d")
        return {"charge": charge, "tracking": None if shipped.timed_out else shipped.payload}
"""

from typing import Any, Callable, Dict, Mapping, NamedTuple, NoReturn, Optional, Sequence, Tuple, TypeVar, Union, cast

from .context import TaskContext
from .errors import Fatal, Nondeterminism, StepFailed, error_payload, plain_error
from .loop import traceback_from
from .registry import default_registry
from .spec import Duration
from .workflow_exchange import Exchange
from .workflow_journal import Entry, Journal
from .workflow_time import When, duration_ms, duration_seconds, epoch_ms

T = TypeVar("T")

workflow = default_registry.workflow

__all__ = ["Event", "Nondeterminism", "StepFailed", "WorkflowContext", "workflow"]


class Event(NamedTuple):
    """What `wait_for_event` returns: the event's payload, or `timed_out` (payload None)."""

    timed_out: bool
    payload: Any = None


class WorkflowContext:
    """The context of one resume of a run. `run_id`, `name`, `version` (the version the run
    started under), `code_version` (the one the manifest declares now), `attempt` (the
    resume's delivery attempt), `now` (the store's clock as the resume began, epoch ms: use it
    instead of the wall clock, it replays the same), `task` (the resume's `TaskContext`)."""

    def __init__(self, task: TaskContext, run: Mapping[str, Any], exchange: Exchange) -> None:
        self.task = task
        self.run_id: str = run["run"]
        self.name: str = run["name"]
        self.version: int = run["version"]
        self.code_version: int = run["code_version"]
        self.now: Optional[int] = run.get("now")
        self.attempt: int = task.attempt
        self._exchange = exchange
        self._journal = Journal(list(run["journal"]), by_name=self.version != self.code_version)
        self._step: Optional[Tuple[str, int]] = None  # the step running now: (name, attempt)

    @property
    def idempotency_key(self) -> str:
        """`RUN/STEP/ATTEMPT` of the step running now: the same when the step re-runs after a
        crash, new for each of its own retries. Only valid inside a running step."""
        if self._step is None:
            raise RuntimeError("ctx.idempotency_key is only available while a step's function runs")
        return "%s/%s/%d" % (self.run_id, self._step[0], self._step[1])

    def step(self, name: str, fn: Callable[..., T], *args: Any, retries: int = 0,
             retry_delay: Duration = 0.0, **kwargs: Any) -> T:
        """Run `fn(*args, **kwargs)` once per run and return its result (JSON). When it raises
        it runs again up to `retries` more times (a `Fatal` is not retried); `retry_delay`
        (seconds or text like "30s") > 0 suspends the run until the retry is due. When it
        still fails, this raises `StepFailed` (now and on every replay)."""
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise ValueError("retries must be a non-negative integer, got %r" % (retries,))
        delay_ms = duration_ms(retry_delay)
        index, entry = self._begin(name)
        if entry is not None and entry["state"] in ("done", "failed"):
            return cast(T, self._recorded(name, entry))
        attempt = _attempt_of(entry)
        while True:
            self._exchange.start(index, name, attempt)
            self._step = (name, attempt)
            try:
                value = fn(*args, **kwargs)
            except Exception as exc:
                error = error_payload(exc, traceback_from(exc, WorkflowContext.step))
                again = attempt <= retries and not isinstance(exc, Fatal)
            else:
                try:
                    done = self._exchange.line(index, name, "done", attempt=attempt, result=value)
                except (TypeError, ValueError) as exc:
                    error = plain_error(type(exc).__name__, "the result of step %r cannot be recorded: %s"
                                        % (name, exc), False)
                    again = False
                else:
                    self._exchange.ask(done, index, name, suspends=False)
                    return value
            finally:
                self._step = None
            if not again:
                self._exchange.ask(self._exchange.line(index, name, "fail", attempt=attempt, error=error),
                                   index, name, suspends=False)
                raise StepFailed.from_error(name, error)
            retry = self._exchange.line(index, name, "retry", attempt=attempt, error=error, delay_ms=delay_ms)
            self._exchange.ask(retry, index, name, suspends=delay_ms > 0)
            attempt += 1

    def sleep(self, name: str, duration: Optional[Duration] = None, *, until: Optional[When] = None) -> None:
        """Suspend the run for `duration` (seconds, a timedelta, "2d", "1h30m", "500ms"), counted
        from the first time the run got here, or until `until` (a datetime or epoch seconds)."""
        if (duration is None) == (until is None):
            raise TypeError("ctx.sleep takes a duration or until=, one of them")
        if duration is not None:
            self._suspending(name, "sleep", {"delay_ms": duration_ms(duration)})
        elif until is not None:
            self._suspending(name, "sleep", {"until": epoch_ms(until)})

    def wait_for_event(self, name: str, topic: str, timeout: Optional[Duration] = None) -> Event:
        """Suspend the run until an event is emitted on `topic` (its payload), or `timeout`
        after the first time the run got here (`timed_out`)."""
        if not isinstance(topic, str) or not topic:
            raise ValueError("an event topic must be a non-empty string, got %r" % (topic,))
        fields: Dict[str, Any] = {"topic": topic}
        if timeout is not None:
            fields["timeout_ms"] = duration_ms(timeout)
        index, entry = self._begin(name)
        if entry is not None and entry["state"] == "done":
            return Event(bool(entry.get("timed_out")), entry.get("result"))
        if entry is not None and entry["state"] == "failed":
            raise StepFailed.from_error(name, entry.get("error"))
        self._send_and_suspend(index, name, "wait", fields)

    def call(self, task: str, args: Optional[Sequence[Any]] = None, kwargs: Optional[Mapping[str, Any]] = None, *,
             name: Optional[str] = None, queue: Optional[str] = None, priority: Optional[int] = None,
             max_retries: Optional[int] = None, time_limit: Optional[Duration] = None,
             countdown: Optional[Duration] = None) -> Any:
        """Run the task `task` (in any language; once per run) and return its result, or raise
        `StepFailed` with its error. The step's name is `name`, else the task's."""
        if not isinstance(task, str) or not task:
            raise ValueError("a task name must be a non-empty string, got %r" % (task,))
        options: Dict[str, Any] = {}
        for key, value in (("queue", queue), ("priority", priority), ("max_retries", max_retries)):
            if value is not None:
                options[key] = value
        for key, span in (("time_limit", time_limit), ("countdown", countdown)):
            if span is not None:
                options[key] = _seconds_number(span)
        fields: Dict[str, Any] = {"task": task, "args": list(args or ()), "kwargs": dict(kwargs or {})}
        if options:
            fields["options"] = options
        return self._suspending(name if name is not None else task, "call", fields)

    def start_child(self, name: str, workflow: str, args: Optional[Sequence[Any]] = None,
                    kwargs: Optional[Mapping[str, Any]] = None) -> Any:
        """Start a run of the workflow `workflow` (once per run) and return its result when it
        completes, or raise `StepFailed` when it fails."""
        if not isinstance(workflow, str) or not workflow:
            raise ValueError("a workflow name must be a non-empty string, got %r" % (workflow,))
        fields = {"workflow": workflow, "args": list(args or ()), "kwargs": dict(kwargs or {})}
        return self._suspending(name, "child", fields)

    def _begin(self, name: str) -> Tuple[int, Optional[Entry]]:
        """The call's index and recorded entry; raises what ended the resume, if it ended."""
        self._exchange.check()
        if self._step is not None:
            raise RuntimeError('a workflow call cannot be made inside a step (step "%s" is running)' % self._step[0])
        if not isinstance(name, str) or not name:
            raise ValueError("a step name must be a non-empty string, got %r" % (name,))
        try:
            return self._journal.claim(name)
        except Nondeterminism as exc:
            self._exchange.halt(exc)

    def _suspending(self, name: str, op: str, fields: Dict[str, Any]) -> Any:
        """A sleep, call or child: the recorded outcome, else send the op and suspend."""
        index, entry = self._begin(name)
        if entry is not None and entry["state"] in ("done", "failed"):
            return self._recorded(name, entry)
        self._send_and_suspend(index, name, op, fields)

    def _send_and_suspend(self, index: int, name: str, op: str, fields: Dict[str, Any]) -> NoReturn:
        # Sent again when the entry is `waiting`: the supervisor keeps what the first one fixed.
        self._exchange.ask(self._exchange.line(index, name, op, **fields), index, name, suspends=True)
        raise AssertionError("a suspending op always ends the resume")  # ask raised

    @staticmethod
    def _recorded(name: str, entry: Entry) -> Any:
        if entry["state"] == "failed":
            raise StepFailed.from_error(name, entry.get("error"))
        return entry.get("result")

    def __repr__(self) -> str:
        return "<WorkflowContext %s run=%s version=%s>" % (self.name, self.run_id, self.version)


def _attempt_of(entry: Optional[Entry]) -> int:
    attempt = entry.get("attempt") if entry is not None else None
    return attempt if isinstance(attempt, int) and not isinstance(attempt, bool) and attempt >= 1 else 1


def _seconds_number(value: Duration) -> Union[int, float]:
    """A duration as a JSON number of seconds (whole seconds as an integer)."""
    secs = duration_seconds(value)
    return int(secs) if secs == int(secs) else secs

