"""Errors of the producer side, the same in the Python and Node SDKs: every one is a
`StemError`; `ApiError` is an error answer of `stem serve` (`status`, stable `code`,
`message` naming the field); `TaskFailed` is a task that ended in `failure` or `revoked`,
carrying its error's type, message and traceback; `TaskTimeout` is a wait that ran out."""

from typing import Any, Dict, List, Optional


class StemError(Exception):
    """The base of every producer-side error."""


class ApiError(StemError):
    """`stem serve` refused or could not do a request."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__("%s (%s, HTTP %d)" % (message, code, status))
        self.status = status
        self.code = code
        self.message = message


class StemCliError(StemError):
    """The `stem` CLI failed: missing binary, non-zero exit, no JSON on stdout."""

    def __init__(self, message: str, command: Optional[List[str]] = None, returncode: Optional[int] = None, stderr: str = ""):
        super().__init__(message)
        self.command = command
        self.returncode = returncode
        self.stderr = stderr


class TaskFailed(StemError):
    """A task ended in `failure` or `revoked`. `error_type`, `message` and `traceback` are
    the task's own (e.g. `ValueError`, what it said, where); `info` is the whole record."""

    def __init__(self, info: Dict[str, Any]):
        self.info = info
        self.id: str = info.get("id", "")
        self.state: str = info.get("state", "")
        error = info.get("error")
        self.error: Dict[str, Any] = error if isinstance(error, dict) else {}
        self.error_type: str = self.error.get("type", self.state)
        self.message: str = self.error.get("message", "" if error is None else str(error))
        self.traceback: str = self.error.get("traceback", "")
        super().__init__("task %s %s: %s: %s" % (self.id, self.state, self.error_type, self.message))


class TaskTimeout(StemError, TimeoutError):
    """The task did not finish within the time given; `state` is the last one seen."""

    def __init__(self, task_id: str, state: Optional[str], timeout: Optional[float]):
        super().__init__("task %s is still %s after %ss" % (task_id, state, timeout))
        self.id = task_id
        self.state = state
