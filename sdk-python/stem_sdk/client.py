"""Producer side: enqueue tasks and read their results by running the `stem` CLI
(`STEM_BIN`, else `stem` on PATH) and parsing its `--json` output.

Shelling out to the CLI keeps this module dependency-free and means it works with every
broker and result backend the CLI supports (SQLite, Redis, Postgres, ...), configured the
same way: `broker=`/`backend=` here, or `STEM_BROKER_URL`/`STEM_RESULT_BACKEND_URL`.

    from stem_sdk.client import Client

    client = Client()
    result = client.enqueue("add", [2, 3])
    print(result.get(timeout=30))   # 5
"""

import json
import os
import shutil
import subprocess
import time

TERMINAL_STATES = ("success", "failure", "revoked")


class StemCliError(Exception):
    """The `stem` CLI failed: missing binary, non-zero exit, no JSON on stdout."""

    def __init__(self, message, command=None, returncode=None, stderr=""):
        super().__init__(message)
        self.command = command
        self.returncode = returncode
        self.stderr = stderr


class TaskFailed(Exception):
    """`AsyncResult.get()` of a task that ended in `failure` or `revoked`; `.error` is
    the recorded error (`type`, `message`, `traceback`, ...) and `.info` the whole record."""

    def __init__(self, info):
        self.info = info
        self.state = info.get("state")
        self.error = info.get("error") or {}
        kind = self.error.get("type", self.state) if isinstance(self.error, dict) else self.state
        message = self.error.get("message", "") if isinstance(self.error, dict) else str(self.error)
        super().__init__("task %s %s: %s: %s" % (info.get("id"), self.state, kind, message))


class Client:
    """Runs `stem enqueue` and `stem result` for this process.

    `bin`: the stem binary (default `STEM_BIN`, else `stem` on PATH); `broker` and
    `backend`: URLs passed as `--broker`/`--backend`; `env`/`cwd`: for the CLI process."""

    def __init__(self, broker=None, backend=None, bin=None, env=None, cwd=None):
        self.bin = bin or os.environ.get("STEM_BIN") or shutil.which("stem") or "stem"
        self.broker = broker
        self.backend = backend
        self.env = env
        self.cwd = cwd

    def enqueue(self, name, args=(), kwargs=None, *, queue=None, countdown=None, eta=None, priority=None):
        """Enqueue task `name`; returns an `AsyncResult` (its `.enqueued` is the CLI's JSON)."""
        argv = ["enqueue", name, "--args", json.dumps(list(args)), "--kwargs", json.dumps(kwargs or {})]
        if queue is not None:
            argv += ["--queue", str(queue)]
        if countdown is not None:
            argv += ["--countdown", str(countdown)]
        if eta is not None:
            argv += ["--eta", eta.isoformat() if hasattr(eta, "isoformat") else str(eta)]
        if priority is not None:
            argv += ["--priority", str(priority)]
        reply = self._stem(argv)
        if not isinstance(reply.get("id"), str):
            raise StemCliError("stem enqueue printed no task id: %r" % (reply,))
        return AsyncResult(reply["id"], self, enqueued=reply)

    def result(self, task_id, wait=False, timeout=None):
        """The task's record as the CLI prints it: `{"id", "state", "result"|"error", ...}`."""
        argv = ["result", str(task_id)]
        if wait:
            argv.append("--wait")
        return self._stem(argv, timeout)

    def submit_canvas(self, document):
        """Submit a canvas document (`stem canvas submit -`): `{"id", "published", "nodes"}`."""
        reply = self._stem(["canvas", "submit", "-"], input=json.dumps(document))
        if not isinstance(reply.get("id"), str):
            raise StemCliError("stem canvas submit printed no canvas id: %r" % (reply,))
        return reply

    def canvas(self, canvas_id):
        """A canvas's view (`stem canvas show`): its state, result, failed node and nodes."""
        return self._stem(["canvas", "show", str(canvas_id)])

    def async_result(self, task_id):
        """An `AsyncResult` for a task enqueued elsewhere."""
        return AsyncResult(task_id, self)

    def _stem(self, argv, timeout=None, input=None):
        argv = argv + ["--json"]
        if self.broker is not None:
            argv += ["--broker", self.broker]
        if self.backend is not None:
            argv += ["--backend", self.backend]
        command = [self.bin] + argv
        try:
            done = subprocess.run(
                command, stdin=subprocess.DEVNULL if input is None else None, input=input,
                capture_output=True, text=True,
                env=self.env, cwd=self.cwd, timeout=timeout,
            )
        except FileNotFoundError:
            raise StemCliError(
                "the stem CLI was not found at %r: set STEM_BIN or put stem on PATH" % self.bin, command
            ) from None
        except subprocess.TimeoutExpired:
            raise TimeoutError("stem %s did not finish within %ss" % (argv[0], timeout)) from None
        reply = _last_json_object(done.stdout)
        # `stem result --wait` of a failed task may exit non-zero and still print the record.
        if reply is not None and (done.returncode == 0 or "state" in reply):
            return reply
        if done.returncode == 0:
            raise StemCliError("stem %s printed no JSON object: %r" % (argv[0], done.stdout[:200]), command, 0, done.stderr)
        reason = _last_line(done.stderr) or "exit status %d" % done.returncode
        raise StemCliError("stem %s failed: %s" % (argv[0], reason), command, done.returncode, done.stderr)


class AsyncResult:
    """A handle on one enqueued task, like Celery's: `.id`, `.state`, `.ready()`, `.get()`."""

    def __init__(self, task_id, client, enqueued=None):
        self.id = task_id
        self.client = client
        self.enqueued = enqueued or {"id": task_id}

    def info(self):
        """The task's current record (no waiting)."""
        return self.client.result(self.id)

    @property
    def state(self):
        return self.info().get("state")

    def ready(self):
        return self.state in TERMINAL_STATES

    def get(self, timeout=None, propagate=True):
        """Wait for the task to finish and return its result value. A `failure` or
        `revoked` task raises `TaskFailed` (or, with `propagate=False`, returns its
        record); no outcome within `timeout` seconds raises `TimeoutError`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.001)
            info = self.client.result(self.id, wait=True, timeout=left)
            if info.get("state") in TERMINAL_STATES:
                break
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError("task %s is still %s after %ss" % (self.id, info.get("state"), timeout))
            time.sleep(0.1)  # `--wait` came back early (e.g. the task is waiting to retry)
        if info["state"] != "success":
            if propagate:
                raise TaskFailed(info)
            return info
        return info.get("result")

    def __repr__(self):
        return "<AsyncResult %s>" % self.id


def _last_json_object(text):
    """The JSON object on stdout; a CLI that also prints progress puts it on the last line."""
    text = (text or "").strip()
    if not text:
        return None
    for candidate in (text, text.splitlines()[-1]):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _last_line(text):
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""
