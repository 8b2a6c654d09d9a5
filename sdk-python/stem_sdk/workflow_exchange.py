"""The step exchange of a running resume: `step` messages out on the protocol channel, each
(but `start`) answered by a `step_ack` read from the supervisor's stream before the code goes
on. An ack can end the resume — the run is suspended, or the supervisor refused the step —
and so can a stream that breaks the protocol; the exchange records what ended it, so code
that catches the internal exceptions still cannot go on."""

import json
from typing import Any, Dict, NoReturn, Optional

from .errors import ErrorPayload, ProtocolBroken
from .lines import LineReader
from .loop import MAX_LINE_BYTES, Channel, encode
from .softlimit import soft_limit


class Halt(BaseException):
    """Ends a resume from inside the workflow's code. A BaseException, so `except Exception`
    in the code does not swallow it."""


class Suspend(Halt):
    """The run is suspended (durably): the resume answers `result` null and runs nothing more."""

    def __init__(self, index: int, name: str) -> None:
        super().__init__('the run suspended at step %d ("%s")' % (index, name))


class Refused(Halt):
    """The supervisor refused a step (`ok: false`): the resume answers with the ack's error."""

    def __init__(self, error: ErrorPayload) -> None:
        super().__init__("%s: %s" % (error.get("type"), error.get("message")))
        self.error = error


class Exchange:
    """One resume's side of the step exchange."""

    def __init__(self, channel: Channel, reader: LineReader, task_id: str) -> None:
        self._channel = channel
        self._reader = reader
        self.task_id = task_id
        #: What ended the resume (a `Halt`, `ProtocolBroken`, `Nondeterminism`), or None.
        self.halted: Optional[BaseException] = None

    def check(self) -> None:
        """Raise what ended the resume again, if something did."""
        if self.halted is not None:
            raise self.halted

    def halt(self, exc: BaseException) -> NoReturn:
        """Record `exc` as what ends the resume, and raise it."""
        self.halted = exc
        raise exc

    def line(self, index: int, name: str, op: str, **fields: Any) -> bytes:
        """The `step` line; TypeError/ValueError for a value JSON cannot hold or a line too long."""
        message: Dict[str, Any] = {"type": "step", "id": self.task_id, "index": index, "name": name, "op": op}
        message.update(fields)
        data = encode(message)
        if len(data) - 1 > MAX_LINE_BYTES:
            raise ValueError("the step message is %d bytes of JSON; a protocol line holds at most %d"
                             % (len(data) - 1, MAX_LINE_BYTES))
        return data

    def start(self, index: int, name: str, attempt: int) -> None:
        """`start`: not answered."""
        self._channel.write_line(self.line(index, name, "start", attempt=attempt))

    def ask(self, data: bytes, index: int, name: str, suspends: bool) -> None:
        """Send a `step` line and read its ack: returns when the op is durable and the code
        goes on; raises `Suspend` after an op that suspends the run (`suspends`, or the ack
        says so), `Refused` after `ok: false`, `ProtocolBroken` when no ack came."""
        with soft_limit.writing():  # a soft signal waits until the ack is read and recorded
            self._channel.write_line(data)
            try:
                ack = self._read_ack(index)
            except ProtocolBroken as exc:
                self.halted = exc
            else:
                if ack["ok"] is not True:
                    self.halted = Refused(_ack_error(ack, index))
                elif suspends or ack.get("suspended") is True:
                    self.halted = Suspend(index, name)
        self.check()

    def _read_ack(self, index: int) -> Dict[str, Any]:
        while True:
            raw = self._reader.readline(MAX_LINE_BYTES + 2)
            if not raw:
                raise ProtocolBroken("the supervisor closed stdin while step %d of task %s waited for its step_ack"
                                     % (index, self.task_id))
            if raw.strip():
                break
        if not raw.endswith(b"\n") and len(raw) > MAX_LINE_BYTES:
            raise ProtocolBroken("a line longer than %d bytes came where the step_ack of step %d was due"
                                 % (MAX_LINE_BYTES, index))
        try:
            ack = json.loads(raw)
        except ValueError:
            ack = None
        if (
            not isinstance(ack, dict)
            or ack.get("type") != "step_ack"
            or ack.get("id") != self.task_id
            or ack.get("index") != index
            or not isinstance(ack.get("ok"), bool)
        ):
            raise ProtocolBroken("expected the step_ack of step %d of task %s, got %r"
                                 % (index, self.task_id, raw[:200]))
        return ack


def _ack_error(ack: Dict[str, Any], index: int) -> ErrorPayload:
    """The refusal's error as the ack gives it, completed where a field is missing."""
    error = ack.get("error")
    payload: ErrorPayload = dict(error) if isinstance(error, dict) else {}
    payload.setdefault("type", "StepRefused")
    payload.setdefault("message", "the supervisor refused step %d" % index)
    payload.setdefault("traceback", "")
    payload.setdefault("retryable", False)
    return payload
