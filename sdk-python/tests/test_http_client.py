"""The producer speaking `stem serve`'s HTTP API, sync and asyncio, against a real server and
a real worker on a private SQLite file (only when STEM_BIN is set): results, a failure's
error type, message and traceback, batches, revoke, typed API errors, tokens."""

import asyncio
import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest

from conftest import FIXTURES
from stem_sdk import ApiError, Client, TaskFailed, TaskTimeout
from stem_sdk.aio import AsyncClient

STEM_BIN = os.environ.get("STEM_BIN")
pytestmark = pytest.mark.skipif(not STEM_BIN, reason="STEM_BIN is not set: the HTTP client tests need the stem binary")

MANIFEST = """
    [runtimes.python]
    command = [%s, %s]
    isolation = "pool"

    [tasks.add]
    runtime = "python"

    [tasks.echo]
    runtime = "python"

    [tasks.boom]
    runtime = "python"
    max_retries = 0
"""


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """`stem serve` (tokens `admin` and `peek:read`) and a worker, on one SQLite file."""
    tmp = tmp_path_factory.mktemp("api")
    manifest = tmp / "stem.toml"
    manifest.write_text(textwrap.dedent(MANIFEST) % (json.dumps(sys.executable), json.dumps(str(FIXTURES / "vector_tasks.py"))))
    url = "sqlite://%s" % (tmp / "stem.db")
    env = dict(os.environ, STEM_BROKER_URL=url, STEM_RESULT_BACKEND_URL=url, STEM_API_TOKENS="admin,peek:read")
    server = subprocess.Popen([STEM_BIN, "serve", "--listen", "127.0.0.1:0", "--manifest", str(manifest)],
                              env=env, cwd=str(tmp), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = server.stdout.readline()
    assert "listening on" in line, line
    worker = subprocess.Popen([STEM_BIN, "worker", "--manifest", str(manifest), "--concurrency", "4"],
                              env=env, cwd=str(tmp), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    yield line.rsplit(" ", 1)[1].strip()
    _stop(worker)
    _stop(server)


def test_enqueue_and_get(api):
    with Client(url=api, token="admin") as client:
        assert client.enqueue("add", [2, 3]).get(timeout=60) == 5
        done = client.enqueue("echo", [1], {"k": "v"}, wait=True, timeout=60, headers={"h": "1"}, priority=5)
        assert done.ready() and done.get() == {"args": [1], "kwargs": {"k": "v"}}
        later = client.enqueue("add", [1, 1], countdown=dt.timedelta(milliseconds=200))
        assert later.get(timeout=60) == 2
        at = client.enqueue("add", [2, 2], eta=dt.datetime.now(dt.timezone.utc))
        assert at.get(timeout=60) == 4


def test_a_failure_carries_the_tasks_error(api):
    client = Client(url=api, token="admin")
    with pytest.raises(TaskFailed) as caught:
        client.enqueue("boom", ["disk on fire"]).get(timeout=60)
    e = caught.value
    assert (e.state, e.error_type, e.message) == ("failure", "BadInput", "disk on fire")
    assert "Traceback (most recent call last)" in e.traceback


def test_enqueue_many_in_batches(api):
    client = Client(url=api, token="admin")
    handles = client.enqueue_many([("add", [i, i]) for i in range(250)] + [{"task": "add", "args": [5, 5]}], batch_size=100)
    assert len(handles) == 251 and len({h.id for h in handles}) == 251
    assert [h.get(timeout=60) for h in handles[-3:]] == [496, 498, 10]


def test_revoke_and_timeout(api):
    client = Client(url=api, token="admin")
    later = client.enqueue("add", [1, 2], countdown=3600)
    with pytest.raises(TaskTimeout):
        later.get(timeout=0.3)
    assert client.revoke(later.id)["revoked"] is True


def test_api_errors_are_typed(api):
    client = Client(url=api, token="admin")
    with pytest.raises(ApiError) as caught:
        client.enqueue("nope")
    assert (caught.value.status, caught.value.code) == (400, "unknown_task")
    with pytest.raises(ApiError) as caught:
        client.enqueue_many([("add", [1, 2]), {"task": "add", "args": {"a": 1}}])
    assert caught.value.message == "tasks[1]: args: expected a JSON array"
    with pytest.raises(ApiError) as caught:
        Client(url=api, token="peek").enqueue("add", [1, 2])
    assert (caught.value.status, caught.value.code) == (403, "forbidden")
    with pytest.raises(ApiError) as caught:
        Client(url=api, token="wrong").info("x")
    assert caught.value.status == 401
    assert Client(url=api, token="peek").info("never-enqueued") == {"id": "never-enqueued", "state": "pending"}


def test_asyncio_client(api):
    async def main():
        async with AsyncClient(api, token="admin") as client:
            handles = [await client.enqueue("add", [i, 1]) for i in range(20)]
            values = await asyncio.gather(*(h.get(timeout=60) for h in handles))
            assert values == [i + 1 for i in range(20)]
            many = await client.enqueue_many([("add", [1, 1])] * 30)
            assert await many[-1].get(timeout=60) == 2
            with pytest.raises(TaskFailed) as caught:
                await (await client.enqueue("boom", ["async fire"])).get(timeout=60)
            assert caught.value.message == "async fire"
            with pytest.raises(ApiError):
                await client.enqueue("nope")

    asyncio.run(main())


def test_keep_alive_reuses_one_connection(api):
    client = Client(url=api, token="admin")
    started = time.monotonic()
    for i in range(200):
        client.enqueue("add", [i, 0])
    assert time.monotonic() - started < 30
    assert client.transport._local.conn.sock is not None, "the connection is kept open"
