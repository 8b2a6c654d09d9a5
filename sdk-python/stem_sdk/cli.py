"""The fallback when no API URL is given: run the `stem` CLI (`STEM_BIN`, else the binary
this package carries (stem_sdk.binary), else `stem` on PATH) and parse its `--json` output.
Works with every store the CLI supports, configured the same way (`broker=`/`backend=`, or
`STEM_BROKER_URL`/`STEM_RESULT_BACKEND_URL`), and needs no server: the embedded SQLite default
just works.

What the CLI notes on stderr while a command works (`note: created the embedded store ...`,
`note: no live worker consumes queue ...`) is surfaced as a `StemWarning`; a task it refuses
raises the class `stem serve` would answer with (`UnknownTask`, `InvalidTask`, `TaskNotFound`),
as a `StemCliError` too."""

import datetime as _dt
import json
import os
import re
import shutil
import subprocess
from typing import Any, Dict, List, Optional, Type, Union

from .binary import packaged_stem
from .cli_notes import reason as _reason
from .cli_notes import warn_notes
from .producer_errors import CliInvalidTask, CliTaskNotFound, CliUnknownTask, StemCliError


#: The most bytes of args and kwargs put on a command line; bigger payloads go on stdin.
ARGV_PAYLOAD_MAX = 64 * 1024


class CliTransport:
    def __init__(self, broker: Optional[str] = None, backend: Optional[str] = None, bin: Optional[str] = None,
                 env: Optional[Dict[str, str]] = None, cwd: Optional[str] = None):
        self.bin = bin or os.environ.get("STEM_BIN") or packaged_stem() or shutil.which("stem") or "stem"
        self.broker = broker
        self.backend = backend
        self.env = env
        self.cwd = cwd

    def enqueue(self, specs: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
        if len(specs) == 1:
            return [self._enqueue_one(specs[0])]
        lines = "".join(json.dumps(s) + "\n" for s in specs)
        reply = self._task_command(["enqueue", "--stdin"], stdin=lines)
        return [{"id": i, "state": "pending"} for i in reply["ids"]]

    def _enqueue_one(self, spec: Dict[str, Any]) -> Dict[str, Any]:
        args, kwargs = json.dumps(spec.get("args", [])), json.dumps(spec.get("kwargs", {}))
        if len(args) + len(kwargs) > ARGV_PAYLOAD_MAX:
            # Too big for a command line (the kernel takes at most 128 KiB per argument): the
            # spec goes on stdin instead.
            reply = self._task_command(["enqueue", "--stdin"], stdin=json.dumps(spec) + "\n")
            return {"id": reply["ids"][0], "state": "pending"}
        argv = ["enqueue", spec["task"], "--args", args, "--kwargs", kwargs]
        # `--flag=VALUE`: a value starting with "-" (an id, a negative number the CLI refuses
        # by name) is not taken for a flag.
        if "queue" in spec:
            argv.append("--queue=%s" % spec["queue"])
        if "countdown" in spec:
            argv.append("--countdown=%s" % spec["countdown"])
        if "eta" in spec:
            # The CLI takes RFC 3339 as it is, and epoch milliseconds.
            argv.append("--eta=%s" % (spec["eta"] if isinstance(spec["eta"], str) else _eta_ms(spec["eta"])))
        for flag in ("priority", "max_retries", "id", "unique_key", "unique_for", "expires",
                     "time_limit", "soft_time_limit", "fair_key", "fair_weight"):
            if flag in spec:
                argv.append("--%s=%s" % (flag.replace("_", "-"), spec[flag]))
        if spec.get("ignore_result"):
            argv.append("--ignore-result")
        for k, v in spec.get("headers", {}).items():
            argv.append("--header=%s=%s" % (k, v))
        reply = self._task_command(argv)
        if not isinstance(reply.get("id"), str):
            raise StemCliError("stem enqueue printed no task id: %r" % (reply,))
        return reply

    def info(self, task_id: str, wait: Optional[float] = None) -> Dict[str, Any]:
        argv = ["result", str(task_id)]
        if wait:
            argv += ["--wait", "--timeout", "%.3f" % wait]
        return self.run(argv, timeout=None if not wait else wait + 30)

    def revoke(self, task_id: str, terminate: bool = False, reason: Optional[str] = None) -> Dict[str, Any]:
        return self._task_command(["revoke", str(task_id)] + (["--terminate"] if terminate else []))

    def _task_command(self, argv: List[str], stdin: Optional[str] = None) -> Dict[str, Any]:
        """`run`, a refused task raised as its own class (see `task_error`)."""
        try:
            return self.run(argv, stdin=stdin)
        except StemCliError as e:
            typed = task_error(e)
            if typed is e:
                raise
            raise typed from None

    def close(self) -> None:
        pass

    def run(self, argv: List[str], timeout: Optional[float] = None, stdin: Optional[str] = None) -> Dict[str, Any]:
        """Runs `stem ARGV --json` and returns the JSON object it printed."""
        reply: Dict[str, Any] = self.run_json(argv, timeout, stdin, want=dict)
        return reply

    def run_list(self, argv: List[str], timeout: Optional[float] = None) -> List[Any]:
        """Runs `stem ARGV --json` for a command that prints a JSON array (e.g. `schedule list`)."""
        reply: List[Any] = self.run_json(argv, timeout, want=list)
        return reply

    def run_json(self, argv: List[str], timeout: Optional[float] = None, stdin: Optional[str] = None,
                 want: "Union[Type[Dict[str, Any]], Type[List[Any]]]" = dict) -> Any:
        argv = argv + ["--json"]
        if self.broker is not None:
            argv += ["--broker", self.broker]
        if self.backend is not None:
            argv += ["--backend", self.backend]
        command = [self.bin] + argv
        try:
            done = subprocess.run(
                command, input=stdin, stdin=None if stdin is not None else subprocess.DEVNULL,
                capture_output=True, text=True, env=self.env, cwd=self.cwd, timeout=timeout,
            )
        except FileNotFoundError:
            raise StemCliError(
                "the stem CLI was not found at %r: set STEM_BIN, install the stem-sdk wheel that "
                "carries it or put stem on PATH, or give Client(url=...) to use `stem serve`" % self.bin, command
            ) from None
        except subprocess.TimeoutExpired:
            raise TimeoutError("stem %s did not finish within %ss" % (argv[0], timeout)) from None
        warn_notes(done.stderr)
        reply = _last_json(done.stdout, want)
        # `stem result --wait` of a failed or timed-out task exits non-zero and still prints the record.
        if reply is not None and (done.returncode == 0 or (isinstance(reply, dict) and "state" in reply)):
            return reply
        if done.returncode == 0:
            raise StemCliError("stem %s printed no JSON %s: %r" % (argv[0], "array" if want is list else "object", done.stdout[:200]), command, 0, done.stderr)
        reason = _last_line(done.stderr) or "exit status %d" % done.returncode
        raise StemCliError("stem %s failed: %s" % (argv[0], reason), command, done.returncode, done.stderr)


#: The CLI's reasons (without "error: ") for a task the manifest does not declare, a task
#: option it refuses (clap's `invalid value 'X' for '--flag'`, its own `--flag ...` checks, an
#: envelope rule, a field of a `--stdin` line, a spec field judged with the manifest like
#: `fair_weight: a fair_weight needs a fair_key`), and an id it knows nothing of.
_UNKNOWN_TASK = re.compile(r'(stdin line \d+: )?unknown task "')
_SPEC_FIELDS = ("countdown|eta|priority|max_retries|headers|id|unique_key|unique_for|expires|time_limit|"
                "soft_time_limit|ignore_result|fair_key|fair_weight")
_INVALID_TASK = re.compile(r"stdin line \d+: [\w.\[\]]+: |invalid value '.*' for '--|--[\w-]+|malformed task envelope|"
                           r"(%s): " % _SPEC_FIELDS)
_TASK_NOT_FOUND = re.compile(r'no task ".*" is known')


def task_error(e: StemCliError) -> StemCliError:
    """`e` as `CliUnknownTask`, `CliInvalidTask` or `CliTaskNotFound` when the CLI's reason
    says so (the same mistakes `stem serve` answers with `unknown_task`, `invalid_field` or
    `invalid_task`, and `task_not_found`), else `e` itself."""
    said = _last_line(e.stderr)
    if e.returncode in (None, 0) or not said:
        return e
    said = said[len("error:"):].strip() if said.startswith("error:") else said
    kind = (CliUnknownTask if _UNKNOWN_TASK.match(said) else CliInvalidTask if _INVALID_TASK.match(said)
            else CliTaskNotFound if _TASK_NOT_FOUND.match(said) else None)
    return e if kind is None else kind(str(e), e.command, e.returncode, e.stderr)


def _eta_ms(eta: Any) -> int:
    if isinstance(eta, str):
        at = _dt.datetime.fromisoformat(eta.replace("Z", "+00:00"))
        return int(at.timestamp() * 1000)
    return int(eta)


def _last_json(text: str, want: "Union[Type[Dict[str, Any]], Type[List[Any]]]" = dict) -> Any:
    """The JSON value of type `want` (an object or an array) on stdout, else None; a CLI
    that also prints progress puts it on the last line."""
    text = (text or "").strip()
    if not text:
        return None
    for candidate in (text, text.splitlines()[-1]):
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, want):
            return value
    return None


def _last_line(text: str) -> str:
    """The CLI's one-line reason on stderr `text` (see `cli_notes.reason`)."""
    return _reason(text)
