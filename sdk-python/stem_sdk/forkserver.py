"""Fork-server isolation: this warm process has imported the task code once and forks a
fresh process per task. The fork leads its own process group (so the supervisor's soft
signal, SIGKILL and revokes reach the task and not the server), runs the task, writes its
lines to the shared stdout and exits; the server announces it with `forked` first, reaps
it, and answers `ChildExited` for it if it died without answering. Workflows are refused
here (`UnsupportedIsolation`): they need `process` or `pool` isolation."""

import gc
import os
import signal
import sys
import traceback
from typing import Any, Callable, NoReturn, Optional

from .errors import plain_error
from .lines import LineReader
from .loop import Channel, Message, dispatch, execute, read_messages
from .registry import Registry, Workflow

Prctl = Callable[..., Any]


def serve_forked(registry: Registry, channel: Channel, reader: LineReader) -> None:
    """Read task lines and run each in a fork, one at a time, until `shutdown` or EOF."""
    prctl = _prctl()  # looked up once here, not imported again in every fork
    try:
        for message in read_messages(reader, channel):
            if not dispatch(message, lambda m: run_in_fork(registry, channel, reader, m, prctl)):
                return
    finally:
        channel.flush()


def _prctl() -> Optional[Prctl]:
    """libc's prctl, or None where there is none (not Linux)."""
    try:
        import ctypes

        prctl: Prctl = ctypes.CDLL(None).prctl
        return prctl
    except (ImportError, OSError, AttributeError):
        return None


def run_in_fork(registry: Registry, channel: Channel, reader: LineReader, message: Message,
                prctl: Optional[Prctl] = None) -> None:
    fn = registry.get(message.get("name"))
    if fn is None or isinstance(fn, Workflow):
        # Answers UnknownTask, or refuses a workflow (its steps' acks come on the stream the
        # server reads), without forking.
        execute(registry, channel, message)
        return
    channel.flush()  # held lines go out once, not again from the fork
    go_r, go_w = os.pipe()  # server -> fork: `forked` is written, start
    done_r, done_w = os.pipe()  # fork -> server: the answer is written
    sys.stdout.flush()
    sys.stderr.flush()
    server_pid = os.getpid()
    # Objects the server holds go to the permanent generation: the fork's collector never
    # walks (and so never copies) the server's pages.
    gc.freeze()
    pid = os.fork()
    if pid == 0:
        os.close(go_w)
        os.close(done_r)
        _become_task_process(registry, channel, reader, message, go_r, done_w, server_pid, prctl)
    os.close(go_r)
    os.close(done_w)
    try:
        os.setpgid(pid, pid)  # the fork does this too; whichever runs first wins the race
    except OSError:
        pass
    try:
        channel.send({"type": "forked", "id": message["id"], "pid": pid})
        os.write(go_w, b"g")
    finally:
        os.close(go_w)
        _, status = os.waitpid(pid, 0)
    os.set_blocking(done_r, False)
    try:
        answered = os.read(done_r, 1) == b"d"
    except BlockingIOError:  # a grandchild still holds the write end
        answered = False
    finally:
        os.close(done_r)
    if not answered:
        failure = plain_error("ChildExited", "forked process %d %s before answering" % (pid, describe(status)), True)
        channel.send({"type": "error", "id": message["id"], "error": failure})


def _die_with_server(server_pid: int, prctl: Optional[Prctl]) -> None:
    """Ask Linux to SIGKILL this fork when the server dies (the server dies with its worker), so
    no task outlives its worker. Linux only; elsewhere a no-op."""
    if prctl is None:
        return
    try:
        prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != server_pid:  # the server died before the request took effect
        os._exit(1)


def _become_task_process(registry: Registry, channel: Channel, reader: LineReader, message: Message, go_r: int,
                         done_w: int, server_pid: int, prctl: Optional[Prctl]) -> NoReturn:
    """The fork's whole life; never returns."""
    code = 1
    try:
        try:
            os.setpgid(0, 0)
        except OSError:
            pass
        _die_with_server(server_pid, prctl)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        # The soft-limit handler is inherited from the server and stays installed.
        reader_fd = reader.fileno()
        started = os.read(go_r, 1) == b"g"
        os.close(go_r)
        os.close(reader_fd)  # the server owns the task stream
        if started:
            execute(registry, channel, message)
            channel.flush()
            os.write(done_w, b"d")
            code = 0
    except BaseException:
        try:
            traceback.print_exc()
        except BaseException:
            pass
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def describe(status: int) -> str:
    """`exited with status N` or `was killed by signal N (SIGNAME)`."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = "signal %d" % sig
        return "was killed by signal %d (%s)" % (sig, name)
    if os.WIFEXITED(status):
        return "exited with status %d" % os.WEXITSTATUS(status)
    return "ended with wait status %d" % status
