"""Shared helpers: start a real child process that serves the protocol, talk to it line
by line with deadlines, and match messages against expected ones (`"<any>"` matches
anything)."""

import json
import os
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

SDK_DIR = Path(__file__).resolve().parents[1]
FIXTURES = SDK_DIR / "tests" / "fixtures"
VECTORS_DIR = SDK_DIR.parent / "protocol" / "vectors"
ANY = "<any>"
REST = "<rest>"

# Test the source tree, installed or not.
if str(SDK_DIR) not in sys.path:
    sys.path.insert(0, str(SDK_DIR))


def matches(expected, actual):
    """JSON-value equality where the string "<any>" in `expected` matches anything, and
    "<rest>" as a list's last element matches the rest of the list (any length)."""
    if expected == ANY:
        return True
    if isinstance(expected, dict):
        return (
            isinstance(actual, dict)
            and expected.keys() == actual.keys()
            and all(matches(v, actual[k]) for k, v in expected.items())
        )
    if isinstance(expected, list) and expected[-1:] == [REST]:
        head = expected[:-1]
        return (
            isinstance(actual, list)
            and len(actual) >= len(head)
            and all(matches(e, a) for e, a in zip(head, actual))
        )
    if isinstance(expected, list):
        return (
            isinstance(actual, list)
            and len(expected) == len(actual)
            and all(matches(e, a) for e, a in zip(expected, actual))
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return type(expected) is type(actual) and expected == actual
    return expected == actual


class Child:
    """A real child process running a fixture script, driven over its pipes."""

    def __init__(self, script, isolation="process", env=None):
        full_env = dict(os.environ)
        full_env.update({"STEM_PROTOCOL": "1", "STEM_ISOLATION": isolation})
        full_env.pop("STEM_SOFT_SIGNAL", None)
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [sys.executable, str(FIXTURES / script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            start_new_session=True,  # its own process group, as the supervisor does it
        )
        self._buffer = b""
        self.stderr_text = None

    @property
    def pid(self):
        return self.proc.pid

    def send(self, message):
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def send_all(self, messages):
        """Writes the lines of `messages` with one write (a child reads them with one read)."""
        data = "".join(json.dumps(message) + "\n" for message in messages).encode()
        assert len(data) <= select.PIPE_BUF, "one write of %d bytes may reach the child in pieces" % len(data)
        os.write(self.proc.stdin.fileno(), data)

    def recv(self, timeout=10.0):
        """The next stdout line as JSON, or None at EOF."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no line from the child within %ss; stderr: %s" % (timeout, self.drain_stderr()))
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    if self._buffer:
                        raise AssertionError("unterminated last line: %r" % self._buffer)
                    return None
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            return json.loads(line)
        except ValueError:
            raise AssertionError("stdout line is not JSON: %r" % line)

    def expect(self, expected, timeout=10.0):
        actual = self.recv(timeout)
        assert actual is not None and matches(expected, actual), "expected %r, got %r" % (expected, actual)
        return actual

    def finish(self, timeout=10.0):
        """Close stdin, check nothing more is on stdout, and return the exit status."""
        if not self.proc.stdin.closed:
            self.proc.stdin.close()
        extra = self.recv(timeout)
        assert extra is None, "unexpected stdout line after the last expected one: %r" % (extra,)
        code = self.proc.wait(timeout)
        self.drain_stderr()
        return code

    def drain_stderr(self):
        if self.stderr_text is None and self.proc.poll() is not None:
            self.stderr_text = self.proc.stderr.read().decode(errors="replace")
        return self.stderr_text

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except ProcessLookupError:
                pass
            self.proc.wait(5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                stream.close()
            except OSError:
                pass


@pytest.fixture
def spawn():
    children = []

    def start(script="extra_tasks.py", **kwargs):
        child = Child(script, **kwargs)
        children.append(child)
        return child

    yield start
    for child in children:
        child.kill()


def task_message(task_id, name, args=(), kwargs=None, **extra):
    message = {
        "type": "task",
        "id": task_id,
        "name": name,
        "args": list(args),
        "kwargs": kwargs or {},
        "queue": "default",
        "attempt": 1,
        "retries_left": 0,
        "headers": {},
    }
    message.update(extra)
    return message


def wait_until(predicate, timeout=5.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("timed out waiting for %s" % what)
