"""Exceptions a task raises to steer its outcome, the ones a workflow's calls raise, and how
any exception becomes the protocol's `error` payload (type, message, traceback, retryable,
countdown, type chain)."""

import traceback as _traceback
from types import TracebackType
from typing import Any, Dict, List, Optional, Union

ErrorPayload = Dict[str, Any]


class Retry(Exception):
    """Ask for a retry, optionally after `countdown` seconds (the supervisor's retry
    policy still decides whether retries remain)."""

    def __init__(self, message: str = "try again", countdown: Optional[Union[int, float]] = None) -> None:
        super().__init__(message)
        self.message = message
        self.countdown = countdown


class Fatal(Exception):
    """Fail the task and do not retry it, whatever its retry policy says."""


class SoftTimeLimitExceeded(Exception):
    """Raised inside the running task when the soft time limit's signal arrives. A task
    may catch it, clean up and return a partial result."""

    def __init__(self, message: str = "soft time limit exceeded") -> None:
        super().__init__(message)


class StepFailed(Fatal):
    """A workflow's step, call or child run failed (after its own retries): `step` is the
    step's name, `type`, `message` and `traceback` its recorded error (not retried when it
    escapes the workflow: the run fails). Raised by the call
    each time the run replays past it, without running anything."""

    def __init__(self, step: str, type: str, message: str, traceback: str = "") -> None:
        super().__init__('step "%s" failed: %s: %s' % (step, type, message))
        self.step = step
        self.type = type
        self.message = message
        self.traceback = traceback

    @classmethod
    def from_error(cls, step: str, error: Any) -> "StepFailed":
        """From a protocol `error` object (as recorded in the journal)."""
        if not isinstance(error, dict):
            return cls(step, "Error", "the step failed (its error was not recorded)")
        return cls(step, str(error.get("type") or "Error"), str(error.get("message") or ""),
                   str(error.get("traceback") or ""))


class Nondeterminism(Fatal):
    """The workflow's code asked for another step than its journal recorded at that index
    (under one version): the resume fails, not retried."""


class ProtocolBroken(BaseException):
    """The supervisor's stream broke the protocol in the middle of a task (no `step_ack`
    where one was due): the child stops serving. A BaseException, so task code that catches
    `Exception` does not swallow it."""


def _message_of(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:  # a broken __str__ must not take the loop down
        return repr(exc)


def type_chain(exc: BaseException) -> List[str]:
    """The names of `exc`'s class and its bases in method resolution order, `object` left
    out: what the manifest's `retry_on` / `no_retry_on` match."""
    return [cls.__name__ for cls in type(exc).__mro__ if cls is not object]


def error_payload(exc: BaseException, tb: Optional[TracebackType] = None) -> ErrorPayload:
    """The protocol's `error` object for `exc`; `tb` overrides the traceback to format
    (the loop passes the one without its own call frame)."""
    if tb is None:
        tb = exc.__traceback__
    payload: ErrorPayload = {
        "type": type(exc).__name__,
        "message": _message_of(exc),
        "traceback": "".join(_traceback.format_exception(type(exc), exc, tb)),
        "retryable": not isinstance(exc, Fatal),
        "types": type_chain(exc),
    }
    if isinstance(exc, Retry) and exc.countdown is not None:
        payload["countdown"] = exc.countdown
    return payload


def plain_error(kind: str, message: str, retryable: bool) -> ErrorPayload:
    """An `error` object for a failure that is not a Python exception of the task."""
    return {"type": kind, "message": message, "traceback": "", "retryable": retryable}
