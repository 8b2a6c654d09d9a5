"""The serve loop: claims stdin/stdout for the protocol, says `hello`, then runs each
`task` line's function and answers with `result` or `error` until `shutdown` or EOF.
`process` and `pool` isolation both use this loop, and pipeline: they take task lines written
ahead, answer each task as it ends (before the next starts) and honour `withdraw`;
`forkserver` reuses its pieces, one line at a time."""

import json
import json.encoder
import json.scanner
import os
import sys
import threading
from types import TracebackType
from typing import Any, Callable, Dict, Iterator, List, Optional, Set, Tuple, Union

from . import context, trace
from .errors import ErrorPayload, ProtocolBroken, error_payload, plain_error
from .lines import LineReader
from .registry import Registry, Workflow, default_registry
from .softlimit import soft_limit

Message = Dict[str, Any]
#: A task's outcome: its `result` line, ready to write, or the `error` object of its failure.
Outcome = Union[bytes, ErrorPayload]

PROTOCOL_VERSION = 1
SDK_VERSION = "0.1.0"
SDK_NAME = "stem-python/" + SDK_VERSION
ISOLATION_MODES = ("process", "pool", "forkserver")
MAX_LINE_BYTES = 16 * 1024 * 1024  # the supervisor refuses longer lines
#: How many task lines a pipelining serve loop takes ahead of the task it runs (`hello.pipeline`).
PIPELINE = 32


_encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))
_scan = json.scanner.make_scanner(json.JSONDecoder())  # type: ignore[attr-defined]


def encode(message: Message) -> bytes:
    """One protocol line as bytes; raises TypeError/ValueError for what JSON can't hold."""
    return _encoder.encode(message).encode("utf-8") + b"\n"


def _value_encoder() -> Callable[[Any], str]:
    """A JSON value's text, as `encode` writes it, by the C encoder made once (not per call);
    only the serve loop's thread uses it: its circular-reference marks are its own."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return _encoder.encode
    marks: Dict[int, Any] = {}
    c_encode = make(marks, _encoder.default, json.encoder.encode_basestring, None, ":", ",", False, False, False)

    def encode_value(value: Any) -> str:
        try:
            return "".join(c_encode(value, 0))
        except BaseException:
            marks.clear()  # a failure can leave a container's mark behind
            raise

    return encode_value


_encode_value = _value_encoder()
_encode_str = json.encoder.encode_basestring


def decode(raw: bytes) -> Any:
    """One line's JSON value; ValueError (json.loads's own) for what is not JSON."""
    try:
        text = raw.decode("utf-8").strip()
        value, end = _scan(text, 0)
        if end == len(text):
            return value
    except (UnicodeDecodeError, StopIteration, ValueError):
        pass
    return json.loads(raw)  # not the common case: json.loads says what is wrong, or decodes it


class Channel:
    """Writes protocol lines to the private protocol descriptor, whole and unbuffered, each
    with one write. A line may be held (`hold`: a `withdrawn`) to go out with the next write or
    at `flush`, whichever comes first; held lines go out before the next, so order is kept."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._lock = threading.Lock()
        self._held: List[bytes] = []

    def send(self, message: Message) -> None:
        self.write_line(encode(message))

    def write_line(self, data: bytes) -> None:
        """Writes `data` now, after any held answers."""
        was_writing = soft_limit.begin_write()
        try:
            with self._lock:
                if self._held:
                    self._held.append(data)
                    data = b"".join(self._held)
                    self._held = []
                self._write_all(data)
        except BaseException:
            soft_limit.abort_write(was_writing)
            raise
        soft_limit.end_write(was_writing)

    def hold(self, data: bytes) -> None:
        """Keeps a line for the next write."""
        self._held.append(data)

    def flush(self) -> None:
        """Writes the held lines, if any, in one write."""
        if self._held:
            self.write_line(b"")

    def _write_all(self, data: bytes) -> None:
        written = os.write(self.fd, data)
        if written < len(data):  # a partial write (a long line): the rest, without copies
            view = memoryview(data)[written:]
            while view:
                view = view[os.write(self.fd, view):]


def claim_stdio() -> Tuple[int, LineReader]:
    """Keep fds 0 and 1 for the protocol on private descriptors; point fd 1 and
    `sys.stdout` at stderr (so `print` and C code writing to fd 1 go there) and fd 0 at
    /dev/null (so a subprocess can't read task lines). Returns (out_fd, reader)."""
    sys.stdout.flush()
    out_fd = os.dup(1)  # os.dup makes non-inheritable descriptors: subprocesses don't get them
    in_fd = os.dup(0)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout = sys.stderr
    return out_fd, LineReader(in_fd)


def warn(text: str) -> None:
    sys.stderr.write("stem_sdk: %s\n" % text)
    sys.stderr.flush()


class Withdrawals:
    """The ids `withdraw` lines named (a pipelining child's): taken aside from the stream as
    they are read, looked up when a task line's turn comes. A withdraw follows its task's line,
    so one read while no line is buffered names nothing that waits (ignored), and the noted ids
    are moot once no line is buffered (the serve loop clears them then): the set stays small."""

    MARKER = b'"withdraw"'

    def __init__(self) -> None:
        self.ids: Set[str] = set()

    def take(self, raw: bytes, queued: bool) -> bool:
        """Whether `raw` (a line holding the marker) is a `withdraw`; notes its id if it is and
        lines are `queued` ahead of it."""
        try:
            message = json.loads(raw)
        except ValueError:
            return False
        if not isinstance(message, dict) or message.get("type") != "withdraw":
            return False
        if not isinstance(message.get("id"), str):
            warn("ignoring a withdraw line without an id: %r" % (raw[:200],))
        elif queued:
            self.ids.add(message["id"])
        return True


def read_messages(reader: LineReader, channel: Optional[Channel] = None,
                  withdrawals: Optional[Withdrawals] = None) -> Iterator[Message]:
    """Supervisor messages, one per line; a line that isn't a JSON object is reported
    on stderr and skipped. Before a read that may block (no whole line buffered), the
    channel's held lines and stderr are flushed and the noted withdrawals forgotten; with
    `withdrawals`, before a line already buffered is taken, what else has arrived is read
    without blocking (so a `withdraw` is seen before its task's turn)."""
    while True:
        if not reader.waiting():
            if channel is not None:
                channel.flush()
                sys.stderr.flush()
            if withdrawals is not None:
                withdrawals.ids.clear()
        elif withdrawals is not None:
            reader.poll()
        raw = reader.readline()
        if not raw:
            return
        if not raw.strip():
            continue
        try:
            message = decode(raw)
        except ValueError as exc:
            warn("ignoring a line that is not JSON (%s): %r" % (exc, raw[:200]))
            continue
        if not isinstance(message, dict):
            warn("ignoring a line that is not a JSON object: %r" % (raw[:200],))
            continue
        yield message


def hello(registry: Registry, pipeline: bool = False) -> Message:
    message: Message = {"type": "hello", "protocol": PROTOCOL_VERSION, "sdk": SDK_NAME, "tasks": registry.names()}
    if pipeline:
        message["pipeline"] = PIPELINE
    return message


def check_task(registry: Registry, message: Message) -> Optional[ErrorPayload]:
    """The `error` object for a task line the SDK won't run, or None to run it."""
    name = message.get("name")
    if not isinstance(message.get("args", []), list) or not isinstance(message.get("kwargs", {}), dict):
        return plain_error("ProtocolError", "task %r: args must be an array and kwargs an object" % (name,), False)
    if registry.get(name) is None:
        return plain_error("UnknownTask", "no task named %r is registered" % (name,), False)
    return None


def execute(registry: Registry, channel: Channel, message: Message, reader: Optional[LineReader] = None) -> None:
    """Run one task line's function and write its `result` or `error` as it ends (one write,
    before anything else runs: the supervisor counts the next task's limits from it).
    `reader` is the supervisor's stream, which a workflow reads its steps' acks from (None
    in a fork, where the server owns it)."""
    fn = registry.get(message.get("name"))
    if fn is None or type(message.get("args", ())) is not list or type(message.get("kwargs", {})) is not dict:
        refusal = check_task(registry, message)
        if refusal is not None:
            channel.write_line(encode({"type": "error", "id": message["id"], "error": refusal}))
            return
        assert fn is not None  # a list or dict subclass passes check_task
    ctx = context.TaskContext(message, channel)
    context.activate(ctx)
    span = trace.start_span(ctx)
    outcome: Optional[Outcome] = None
    try:
        if isinstance(fn, Workflow):
            from .workflow_runner import run_workflow

            outcome = run_workflow(fn, ctx, message, channel, reader)
        else:
            outcome = run_task(fn, ctx)
    finally:
        if span is not None:
            span.end(error=outcome.get("message") if isinstance(outcome, dict) else None)
        context.activate(None)
    if isinstance(outcome, dict):
        outcome = encode({"type": "error", "id": ctx.id, "error": outcome})
    channel.write_line(outcome)


def run_task(fn: Callable[..., Any], ctx: context.TaskContext) -> Outcome:
    """Runs the task: its `result` line, or the error payload of its failure."""
    try:
        try:
            soft_limit.arm()
            value = fn(*ctx.args, **ctx.kwargs)
        finally:
            soft_limit.disarm()
    except (Exception, SystemExit) as exc:
        return error_payload(exc, traceback_from(exc, run_task))
    return result_line(ctx, value)


def traceback_from(exc: BaseException, caller: Callable[..., Any]) -> Optional[TracebackType]:
    """`exc`'s traceback started at the code's frame, not at `caller`'s call site."""
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame.f_code is getattr(caller, "__code__", None) and tb.tb_next is not None:
        tb = tb.tb_next
    return tb


def result_line(ctx: context.TaskContext, value: Any) -> Outcome:
    """The task's `result` line for `value`, or the error of a value no line can hold."""
    try:
        text = '{"type":"result","id":%s,"value":%s}\n' % (_encode_str(ctx.id), _encode_value(value))
        line = text.encode("utf-8")
    except (TypeError, ValueError) as exc:
        # Deterministic: running the task again would redo its work and fail the same way.
        return plain_error(
            type(exc).__name__,
            "the result of task %r is not JSON-serializable: %s" % (ctx.name, exc),
            False,
        )
    if len(line) - 1 <= MAX_LINE_BYTES:
        return line
    return plain_error(
        "ResultTooLarge",
        "the result of task %r is %d bytes of JSON; a protocol line holds at most %d"
        % (ctx.name, len(line) - 1, MAX_LINE_BYTES),
        False,
    )


def dispatch(message: Message, on_task: Callable[[Message], None]) -> bool:
    """Handle one supervisor message; returns False on `shutdown`."""
    kind = message.get("type")
    if kind == "shutdown":
        return False
    if kind == "task":
        if not isinstance(message.get("id"), str):
            warn("ignoring a task line without an id: %r" % (message,))
        else:
            on_task(message)
    elif kind == "withdraw":
        pass  # not taken aside (a fork server, never written ahead): names no waiting task
    else:
        warn("ignoring a message of unknown type %r" % (kind,))
    return True


def serve(registry: Registry, channel: Channel, reader: LineReader) -> None:
    """`process` and `pool` isolation: tasks one after another in this process, each answered
    as it ends. Lines written ahead wait in the reader; a task a `withdraw` named is answered
    `withdrawn` (held to go out with the next write, at the latest before the next task starts
    or the loop waits) and not run."""
    withdrawals = Withdrawals()
    reader.set_aside(Withdrawals.MARKER, withdrawals.take)
    withdrawn = withdrawals.ids

    def on_task(message: Message) -> None:
        if withdrawn and message["id"] in withdrawn:
            withdrawn.discard(message["id"])
            channel.hold(encode({"type": "withdrawn", "id": message["id"]}))
            return
        channel.flush()
        execute(registry, channel, message, reader)

    try:
        for message in read_messages(reader, channel, withdrawals):
            if not dispatch(message, on_task):
                return
    finally:
        channel.flush()


def run(registry: Optional[Registry] = None, isolation: Optional[str] = None) -> None:
    """Serve the child protocol on stdin/stdout, then exit 0 on `shutdown` or EOF.

    `isolation` defaults to `STEM_ISOLATION` (`process`, `pool` or `forkserver`)."""
    registry = registry if registry is not None else default_registry
    isolation = isolation or os.environ.get("STEM_ISOLATION") or "process"
    if isolation not in ISOLATION_MODES:
        warn("unknown isolation %r (one of %s)" % (isolation, ", ".join(ISOLATION_MODES)))
        sys.exit(2)
    out_fd, reader = claim_stdio()
    channel = Channel(out_fd)
    try:
        soft_limit.install(os.environ.get("STEM_SOFT_SIGNAL"))
    except ValueError as exc:
        warn(str(exc))
        sys.exit(2)
    try:
        channel.send(hello(registry, pipeline=isolation != "forkserver"))
        if isolation == "forkserver":
            from .forkserver import serve_forked

            serve_forked(registry, channel, reader)
        else:
            serve(registry, channel, reader)
    except BrokenPipeError:
        warn("the supervisor closed the protocol pipe; exiting")
        sys.stderr.flush()
        os._exit(1)
    except ProtocolBroken as exc:
        warn("%s; exiting" % (exc,))
        sys.stderr.flush()
        sys.exit(1)
    sys.stderr.flush()
    sys.exit(0)
