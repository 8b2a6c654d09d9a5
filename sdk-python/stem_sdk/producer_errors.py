"""Errors of the producer side, the same in the Python and Node SDKs: every one is a
`StemError`; `ApiError` is an error answer of `stem serve` (`status`, stable `code`,
`message` naming the field); `TaskFailed` is a task that ended in `failure` or `revoked`,
carrying its error's type, message and traceback; `TaskTimeout` is a wait that ran out.
Workflow runs add `WorkflowFailed`, `WorkflowTimeout`, `RunNotFound` and `UnknownWorkflow`.
A mistake both transports can report raises one class whichever answered: `UnknownTask`,
`InvalidTask`, `TaskNotFound`, `RunNotFound`, `UnknownWorkflow` (through the CLI each is also a
`StemCliError`, through `stem serve` also an `ApiError`). `StemWarning` is what the CLI noted
on stderr while a command still worked (a store it created, a queue no live worker consumes)."""

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


class WorkflowFailed(StemError):
    """A workflow run ended `failed`, `cancelled` or `timed_out`. `state` is how it ended;
    `error_type`, `message` and `traceback` its recorded error (e.g. `ValueError`, or
    `Cancelled`); `info` is the whole run as shown, with its steps."""

    def __init__(self, info: Dict[str, Any]):
        self.info = info
        self.id: str = info.get("id", "")
        self.state: str = info.get("state", "")
        error = info.get("error")
        self.error: Dict[str, Any] = error if isinstance(error, dict) else {}
        self.error_type: str = self.error.get("type", self.state)
        self.message: str = self.error.get("message", "" if error is None else str(error))
        self.traceback: str = self.error.get("traceback", "")
        super().__init__("workflow run %s %s: %s: %s" % (self.id, self.state, self.error_type, self.message))


class WorkflowTimeout(StemError, TimeoutError):
    """The workflow run did not end within the time given; `state` is the last one seen
    (`running` or `suspended`)."""

    def __init__(self, run_id: str, state: Optional[str], timeout: Optional[float]):
        super().__init__("workflow run %s is still %s after %ss" % (run_id, state, timeout))
        self.id = run_id
        self.state = state


class RunNotFound(StemError):
    """No workflow run has the id, whichever transport said so: through the CLI it is also a
    `StemCliError`, through `stem serve` also an `ApiError` (code `run_not_found`)."""


class UnknownWorkflow(StemError):
    """The manifest (the CLI's, or the server's) declares no workflow of that name: through
    the CLI also a `StemCliError`, through `stem serve` also an `ApiError` (`unknown_workflow`)."""


class CliRunNotFound(RunNotFound, StemCliError):
    """`RunNotFound` as the `stem` CLI reports it."""


class ApiRunNotFound(RunNotFound, ApiError):
    """`RunNotFound` as `stem serve` answers it (HTTP 404, `run_not_found`)."""


class CliUnknownWorkflow(UnknownWorkflow, StemCliError):
    """`UnknownWorkflow` as the `stem` CLI reports it."""


class ApiUnknownWorkflow(UnknownWorkflow, ApiError):
    """`UnknownWorkflow` as `stem serve` answers it (HTTP 404, `unknown_workflow`)."""


class UnknownTask(StemError):
    """The manifest (the CLI's, or the server's) declares no task of that name: through the CLI
    also a `StemCliError`, through `stem serve` also an `ApiError` (`unknown_task`)."""


class InvalidTask(StemError):
    """A task option the CLI or the server refuses (a bad countdown, eta, id, priority, queue,
    header, args...; the message names it): through the CLI also a `StemCliError`, through
    `stem serve` also an `ApiError` (`invalid_field` or `invalid_task`)."""


class TaskNotFound(StemError):
    """No task has the id (revoking one never published): through the CLI also a
    `StemCliError`, through `stem serve` also an `ApiError` (`task_not_found`)."""


class CliUnknownTask(UnknownTask, StemCliError):
    """`UnknownTask` as the `stem` CLI reports it."""


class ApiUnknownTask(UnknownTask, ApiError):
    """`UnknownTask` as `stem serve` answers it (HTTP 400, `unknown_task`)."""


class CliInvalidTask(InvalidTask, StemCliError):
    """`InvalidTask` as the `stem` CLI reports it."""


class ApiInvalidTask(InvalidTask, ApiError):
    """`InvalidTask` as `stem serve` answers it (HTTP 400, `invalid_field` or `invalid_task`)."""


class CliTaskNotFound(TaskNotFound, StemCliError):
    """`TaskNotFound` as the `stem` CLI reports it."""


class ApiTaskNotFound(TaskNotFound, ApiError):
    """`TaskNotFound` as `stem serve` answers it (HTTP 404, `task_not_found`)."""


class StemWarning(UserWarning):
    """A `note:` or `warning:` line the `stem` CLI printed on stderr while running a command for
    the CLI transport, e.g. that it created the embedded store `stem.db` in the working folder
    (workers elsewhere will not see the task), or that no live worker consumes the queue. The
    message is the line without its prefix. Filter it as any warning (`warnings.filterwarnings`)."""
