"""`stem_sdk.testing`: run_task's fake context (progress, logs, heartbeats, attempt and
headers), retries and failures as values, the simulated soft limit, lookups by name, and
StemWorker's clear error when the worker cannot start."""

import os
import sys

import pytest

from stem_sdk import Fatal, Retry, SoftTimeLimitExceeded, current
from stem_sdk.registry import Registry
from stem_sdk.testing import run_task
from stem_sdk.testing.worker import StemWorker, StemWorkerError

registry = Registry()


@registry.task("report")
def report(n):
    for i in range(n):
        current.progress({"current": i + 1, "total": n})
    current.heartbeat()
    current.log("done %d" % n, level="warning")
    return {"attempt": current.attempt, "left": current.retries_left, "tenant": current.headers.get("tenant"),
            "queue": current.queue, "id": current.id}


@registry.task("flaky")
def flaky(kind):
    if kind == "retry":
        raise Retry("later", countdown=2.5)
    if kind == "fatal":
        raise Fatal("never")
    raise ConnectionResetError("peer gone")


@registry.task("slow")
def slow():
    import time

    try:
        time.sleep(30)
    except SoftTimeLimitExceeded:
        return "cut short"
    return "slept"


def test_the_context_and_what_the_task_reports():
    run = run_task("report", 2, attempt=3, retries_left=1, headers={"tenant": "t-1"}, task_id="t-9",
                   queue="q", registry=registry)
    assert run.succeeded and run.state == "success"
    assert run.value == {"attempt": 3, "left": 1, "tenant": "t-1", "queue": "q", "id": "t-9"}
    assert run.progress == [{"current": 1, "total": 2}, {"current": 2, "total": 2}]
    assert run.logs == [("warning", "done 2")] and run.heartbeats == 1
    assert not current  # nothing left active after the call


def test_a_function_runs_by_itself_too():
    assert run_task(report, 0, registry=registry).get()["attempt"] == 1


def test_retries_and_failures_are_values():
    retry = run_task(flaky, "retry", registry=registry)
    assert retry.retried and retry.countdown == 2.5 and retry.retryable
    assert isinstance(retry.exception, Retry)
    fatal = run_task(flaky, "fatal", registry=registry)
    assert fatal.failed and not fatal.retryable and fatal.error["type"] == "Fatal"
    failed = run_task(flaky, "reset", registry=registry)
    assert failed.failed and failed.retryable
    assert failed.error["types"][:3] == ["ConnectionResetError", "ConnectionError", "OSError"]
    with pytest.raises(ConnectionResetError, match="peer gone"):
        failed.get()


def test_the_soft_limit_is_simulated():
    assert run_task(slow, soft_limit_after=0.05, registry=registry).value == "cut short"
    # Nothing is left armed: the next call runs to its end.
    assert run_task(report, 0, registry=registry).succeeded


def test_bad_calls_say_what_is_wrong():
    with pytest.raises(LookupError, match="no task named 'nope' is registered"):
        run_task("nope", registry=registry)
    with pytest.raises(ValueError, match="attempt must be at least 1"):
        run_task(report, 0, attempt=0, registry=registry)
    with pytest.raises(ValueError, match="soft_limit_after"):
        run_task(report, 0, soft_limit_after=-1, registry=registry)


def test_importing_the_helpers_does_not_import_pytest():
    import subprocess

    code = "import sys, stem_sdk.testing, stem_sdk.testing.worker; print('pytest' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.skipif(not os.environ.get("STEM_BIN"), reason="STEM_BIN is not set: StemWorker runs the real stem binary")
def test_a_worker_that_cannot_start_says_why(tmp_path):
    manifest = tmp_path / "stem.toml"
    manifest.write_text("[tasks.a]\nexec = [\"true\"]\nretry_onn = [\"E\"]\n")
    with pytest.raises(StemWorkerError, match="exited with status .* before it was ready"):
        StemWorker(manifest, tmp_path / "w").start()
    with pytest.raises(StemWorkerError, match="no manifest at"):
        StemWorker(tmp_path / "missing.toml")
