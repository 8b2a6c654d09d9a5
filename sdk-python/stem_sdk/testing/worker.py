"""A real `stem worker` on a temporary embedded store, for tests: `StemWorker(manifest, dir)`
starts it (`start()`, or `with`), `client` enqueues to it and reads its results, `stop()`
ends it (SIGTERM, then SIGKILL after a grace). The pytest plugin `stem_sdk.testing.pytest`
wraps it in fixtures; this module needs only the standard library and the `stem` binary
(`STEM_BIN`, else `stem` on PATH)."""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from ..client import Client

#: Variables of the caller's environment that would point the worker or the client elsewhere.
_STRIPPED = ("STEM_API_URL", "STEM_API_TOKEN", "STEM_NAMESPACE")


class StemWorkerError(RuntimeError):
    """The worker could not start (its log's tail is in the message)."""


class StemWorker:
    """One `stem worker --manifest MANIFEST` on `sqlite://DIR/stem.db` (every store), run in
    the manifest's folder. `concurrency`, `queues` and `extra_args` go to `stem worker`;
    `env` adds variables for the worker and the client."""

    def __init__(self, manifest: Union[str, Path], directory: Union[str, Path, None] = None, *,
                 concurrency: int = 2, queues: Optional[List[str]] = None, extra_args: Optional[List[str]] = None,
                 env: Optional[Dict[str, str]] = None, bin: Optional[str] = None, ready_timeout: float = 30.0) -> None:
        self.manifest = Path(manifest).resolve()
        if not self.manifest.is_file():
            raise StemWorkerError("no manifest at %s (point stem_manifest or StemWorker at your stem.toml)" % self.manifest)
        self._own_dir = directory is None
        self.directory = Path(directory if directory is not None else tempfile.mkdtemp(prefix="stem-test-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.bin = bin or os.environ.get("STEM_BIN") or shutil.which("stem")
        if not self.bin:
            raise StemWorkerError("the stem binary was not found: set STEM_BIN or put stem on PATH")
        self.store = "sqlite://%s" % (self.directory / "stem.db")
        self.env = {k: v for k, v in os.environ.items() if k not in _STRIPPED}
        self.env.update({
            "STEM_MANIFEST": str(self.manifest),
            "STEM_BROKER_URL": self.store,
            "STEM_RESULT_BACKEND_URL": self.store,
            "STEM_REVOKE_STORE_URL": self.store,
            "STEM_SCHEDULE_STORE_URL": self.store,
        })
        self.env.update(env or {})
        self.argv = [self.bin, "worker", "--manifest", str(self.manifest), "--concurrency", str(concurrency)]
        if queues:
            self.argv += ["--queues", ",".join(queues)]
        self.argv += list(extra_args or [])
        self.log_path = self.directory / "worker.log"
        self.ready_timeout = ready_timeout
        self.process: Optional["subprocess.Popen[bytes]"] = None
        self.client = Client(bin=self.bin, env=self.env, cwd=str(self.manifest.parent))
        # The CLI, whatever STEM_API_URL says in the test's environment.
        self.client.transport = self.client.cli

    def start(self) -> "StemWorker":
        """Starts the worker and returns once it answers a ping; `StemWorkerError` (with its
        log) if it exits first or does not answer within `ready_timeout` seconds."""
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self.argv, cwd=str(self.manifest.parent), env=self.env,
                                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + self.ready_timeout
        while True:
            if self.process.poll() is not None:
                raise StemWorkerError("stem worker exited with status %s before it was ready:\n%s"
                                      % (self.process.returncode, self.log_tail()))
            if self._answers_ping():
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise StemWorkerError("stem worker did not answer a ping within %ss:\n%s" % (self.ready_timeout, self.log_tail()))
            time.sleep(0.05)

    def _answers_ping(self) -> bool:
        done = subprocess.run([self.bin, "worker", "ping", "--json", "--timeout", "1s"], env=self.env,
                              cwd=str(self.manifest.parent), capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            return False
        try:
            replies: Any = json.loads(done.stdout or "{}")
        except ValueError:
            return False
        return isinstance(replies, dict) and any(isinstance(r, dict) and r.get("ok") for r in replies.values())

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, grace: float = 10.0) -> Optional[int]:
        """A warm shutdown (SIGTERM), then SIGKILL to its process group after `grace` seconds;
        returns the exit status."""
        p = self.process
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(grace)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)
        return p.returncode

    def __enter__(self) -> "StemWorker":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
