"""Exceptions a task raises to steer its outcome, and how any exception becomes the
protocol's `error` payload (type, message, traceback, retryable, countdown)."""

import traceback as _traceback


class Retry(Exception):
    """Ask for a retry, optionally after `countdown` seconds (the supervisor's retry
    policy still decides whether retries remain)."""

    def __init__(self, message="try again", countdown=None):
        super().__init__(message)
        self.message = message
        self.countdown = countdown


class Fatal(Exception):
    """Fail the task and do not retry it, whatever its retry policy says."""


class SoftTimeLimitExceeded(Exception):
    """Raised inside the running task when the soft time limit's signal arrives. A task
    may catch it, clean up and return a partial result."""

    def __init__(self, message="soft time limit exceeded"):
        super().__init__(message)


def _message_of(exc):
    try:
        return str(exc)
    except Exception:  # a broken __str__ must not take the loop down
        return repr(exc)


def error_payload(exc, tb=None):
    """The protocol's `error` object for `exc`; `tb` overrides the traceback to format
    (the loop passes the one without its own call frame)."""
    if tb is None:
        tb = exc.__traceback__
    payload = {
        "type": type(exc).__name__,
        "message": _message_of(exc),
        "traceback": "".join(_traceback.format_exception(type(exc), exc, tb)),
        "retryable": not isinstance(exc, Fatal),
    }
    if isinstance(exc, Retry) and exc.countdown is not None:
        payload["countdown"] = exc.countdown
    return payload


def plain_error(kind, message, retryable):
    """An `error` object for a failure that is not a Python exception of the task."""
    return {"type": kind, "message": message, "traceback": "", "retryable": retryable}
