"""The producer client's CLI fallback: its command lines and parsing against a stand-in CLI
(always), and a round trip through the real `stem` binary and a worker (only when STEM_BIN
is set). The HTTP client is tested in test_http_client.py."""

import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import FIXTURES
from stem_sdk.client import Client, StemCliError, StemWarning, TaskFailed


@pytest.fixture
def fake(tmp_path):
    script = tmp_path / "stem"
    script.write_text("#!/bin/sh\nexec %s %s \"$@\"\n" % (sys.executable, FIXTURES / "fake_stem.py"))
    script.chmod(0o755)
    log = tmp_path / "argv.log"
    env = dict(os.environ, FAKE_STEM_LOG=str(log))
    client = Client(broker="sqlite://b.db", backend="sqlite://r.db", bin=str(script), env=env)

    def calls():
        return [json.loads(line) for line in log.read_text().splitlines()]

    client.calls = calls
    return client



def test_enqueue_builds_the_cli_command_and_reads_the_id(fake):
    result = fake.enqueue("add", [2, 3], {"x": 1}, queue="math", countdown=1.5, priority=3)
    assert result.id == "fake-add" and result.enqueued["state"] == "pending"
    assert fake.calls()[0] == [
        "enqueue", "add", "--args", "[2, 3]", "--kwargs", '{"x": 1}', "--queue=math",
        "--countdown=1.5", "--priority=3", "--json",
        "--broker", "sqlite://b.db", "--backend", "sqlite://r.db",
    ]
    assert result.get(timeout=10) == 5
    assert fake.calls()[1][:3] == ["result", "fake-add", "--wait"]


def test_a_failed_task_raises_task_failed_with_its_error(fake):
    result = fake.enqueue("boom", ["disk on fire"])
    with pytest.raises(TaskFailed, match="BadInput: disk on fire") as caught:
        result.get(timeout=10)
    assert caught.value.error["type"] == "BadInput" and caught.value.state == "failure"
    assert (caught.value.error_type, caught.value.message) == ("BadInput", "disk on fire")
    assert caught.value.traceback == "Traceback ..."
    assert result.get(timeout=10, propagate=False)["state"] == "failure"
    assert result.ready()


def test_get_times_out(fake):
    result = fake.async_result("fake-pending")
    assert result.state == "pending" and not result.ready()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        result.get(timeout=0.5)
    assert time.monotonic() - started < 5


def test_cli_failures_carry_the_one_line_reason(fake):
    with pytest.raises(StemCliError, match="cannot reach the broker") as caught:
        fake.enqueue("unreachable")
    assert caught.value.returncode == 1
    with pytest.raises(StemCliError, match="no task with id nope"):
        fake.info("nope")


def test_a_missing_binary_says_how_to_point_at_one(tmp_path):
    client = Client(bin=str(tmp_path / "no-such-stem"))
    with pytest.raises(StemCliError, match="STEM_BIN"):
        client.enqueue("add", [1, 2])


STEM_BIN = os.environ.get("STEM_BIN")
needs_stem = pytest.mark.skipif(not STEM_BIN, reason="STEM_BIN is not set: the real-CLI client tests need the stem binary")


@pytest.fixture
def worker(tmp_path):
    """A real `stem worker` on a private SQLite file, serving the vector fixture tasks."""
    manifest = tmp_path / "stem.toml"
    manifest.write_text(textwrap.dedent("""
        [runtimes.python]
        command = [%s, %s]
        isolation = "process"

        [tasks.add]
        runtime = "python"

        [tasks.boom]
        runtime = "python"
        max_retries = 0
    """) % (json.dumps(sys.executable), json.dumps(str(FIXTURES / "vector_tasks.py"))))
    url = "sqlite://%s" % (tmp_path / "stem.db")
    env = dict(os.environ, STEM_BROKER_URL=url, STEM_RESULT_BACKEND_URL=url)
    proc = subprocess.Popen(
        [STEM_BIN, "worker", "--manifest", str(manifest), "--concurrency", "2"],
        env=env, cwd=str(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    yield Client(broker=url, backend=url, cwd=str(tmp_path))
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@needs_stem
def test_real_cli_round_trip(worker):
    assert worker.enqueue("add", [2, 3]).get(timeout=60) == 5


@needs_stem
def test_real_cli_failure(worker):
    with pytest.raises(TaskFailed) as caught:
        worker.enqueue("boom", ["disk on fire"]).get(timeout=60)
    assert caught.value.error["type"] == "BadInput"
    assert caught.value.error["message"] == "disk on fire"


def test_schedule_helpers_apply_list_and_delete(fake, tmp_path):
    done = fake.schedule("x", "tick", every="30s", args=[1, "a"], kwargs={"k": True},
                         catch_up="all", headers={"team": "ops"}, manifest=tmp_path / "stem.toml")
    assert done["created"] == ["x"]
    argv = fake.calls()[0]
    assert argv[:2] == ["schedule", "apply"] and argv[3:5] == ["--manifest", str(tmp_path / "stem.toml")]
    with open(fake.env["FAKE_STEM_LOG"] + ".toml") as f:
        written = f.read()
    assert written == (
        '[schedules."x"]\ntask = "tick"\nevery = "30s"\nargs = [1, "a"]\nkwargs = {"k" = true}\n'
        'headers = {"team" = "ops"}\ncatch_up = "all"\n'
    )
    assert fake.schedules() == [{"id": "x", "run_count": 3}]
    assert fake.unschedule("x") == {"deleted": "x"}
    assert fake.calls()[2][:4] == ["schedule", "delete", "x", "--yes"]
    with pytest.raises(StemCliError, match="schedules.x.task: unknown task"):
        fake.schedule("x", "nope", every="1s")


@needs_stem
def test_schedule_round_trip_through_the_real_cli(tmp_path):
    (tmp_path / "stem.toml").write_text('[tasks.tick]\nexec = ["true"]\n')
    client = Client(broker="sqlite://%s" % (tmp_path / "stem.db"), cwd=str(tmp_path))
    assert client.schedule("nightly", "tick", cron="30 2 * * *", timezone="Europe/Paris")["created"] == ["nightly"]
    assert client.schedule("nightly", "tick", cron="0 3 * * *", timezone="Europe/Paris")["updated"] == ["nightly"]
    [listed] = client.schedules()
    assert listed["id"] == "nightly" and listed["when"] == 'cron "0 3 * * *" in Europe/Paris'
    with pytest.raises(StemCliError, match="schedules.bad.timezone: unknown time zone"):
        client.schedule("bad", "tick", cron="* * * * *", timezone="Mars/Base")
    client.unschedule("nightly")
    assert client.schedules() == []


def test_async_client_schedule_helpers_run_the_cli(fake):
    import asyncio

    from stem_sdk.aio import AsyncClient

    async def main():
        client = AsyncClient("http://127.0.0.1:9", bin=fake.bin, env=fake.env)
        assert (await client.schedule("x", "tick", cron="0 3 * * *"))["created"] == ["x"]
        assert await client.schedules() == [{"id": "x", "run_count": 3}]
        assert await client.unschedule("x") == {"deleted": "x"}

    asyncio.run(main())
    assert [argv[:2] for argv in fake.calls()] == [["schedule", "apply"], ["schedule", "list"], ["schedule", "delete"]]
    with open(fake.env["FAKE_STEM_LOG"] + ".toml") as f:
        assert f.read() == '[schedules."x"]\ntask = "tick"\ncron = "0 3 * * *"\n'


def test_durations_are_one_syntax():
    from stem_sdk.spec import seconds
    import datetime
    assert seconds("500ms") == 0.5 and seconds("3s") == 3 and seconds("2m") == 120
    assert seconds(1.5) == 1.5 and seconds("2") == 2 and seconds(datetime.timedelta(minutes=1)) == 60
    assert seconds(None) is None
    for bad in ("3 parsecs", "soon", -1, "-2s"):
        with pytest.raises(ValueError):
            seconds(bad)


def test_get_takes_a_duration_string(fake):
    assert fake.enqueue("add", [2, 3]).get(timeout="10s") == 5


@needs_stem
def test_real_cli_big_args_and_iso_eta(worker):
    big = "x" * 3_000_000  # more than one command-line argument may hold
    assert worker.enqueue("add", [big, "y"]).get(timeout="60s") == big + "y"
    with pytest.warns(StemWarning, match="in the past; the task runs as soon as a worker is free"):
        past = worker.enqueue("add", [1, 2], eta="2020-01-01T00:00:00Z")
    assert past.get(timeout="60s") == 3


@needs_stem
def test_real_cli_ids_dedup_and_expiry(tmp_path):
    url = "sqlite://%s" % (tmp_path / "stem.db")
    client = Client(broker=url, backend=url, cwd=str(tmp_path))
    first = client.enqueue("add", [1, 2], id="job-7")
    again = client.enqueue("add", [1, 2], id="job-7")
    assert (first.duplicate, again.duplicate, again.id) == (False, True, "job-7")
    keyed = client.enqueue("add", [1], unique_key="k", unique_for="1m")
    assert client.enqueue("add", [2], unique_key="k", unique_for=60).duplicate
    assert not keyed.duplicate
    soon = client.enqueue("add", [1, 2], expires="1m")
    assert soon.enqueued.get("duplicate") is False


def test_a_string_for_args_is_refused_not_split_into_characters() -> None:
    from stem_sdk.spec import task_spec
    import pytest as _pytest

    with _pytest.raises(TypeError, match=r"args must be a list or tuple.*args=\['12'\]"):
        task_spec("add", "12")  # type: ignore[arg-type]
    with _pytest.raises(TypeError, match="kwargs must be a mapping"):
        task_spec("add", [1], [("a", 1)])  # type: ignore[arg-type]
    assert task_spec("add", (1, 2))["args"] == [1, 2]
