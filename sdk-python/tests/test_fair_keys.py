"""Fairness keys from the producer: `fair_key` / `fair_weight` checked before sending, put on
the CLI's command line, refused by `stem_sdk.pg` (the SQL enqueue has no such fields), and —
when STEM_BIN is set — sent over each transport (HTTP sync and asyncio, the CLI one by one and
on stdin, batches too) to a real `stem serve` and read back from the queue's listing
(`GET /v1/queues/{q}/tasks`). No worker consumes the queue, so the tasks stay to be read."""

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import uuid

import pytest

from conftest import FIXTURES
from stem_sdk import pg
from stem_sdk.aio import AsyncClient
from stem_sdk.client import Client, InvalidTask
from stem_sdk.spec import as_spec, task_spec

STEM_BIN = os.environ.get("STEM_BIN")
needs_stem = pytest.mark.skipif(not STEM_BIN, reason="STEM_BIN is not set: the round trips need the stem binary")

MANIFEST = """
    [runtimes.python]
    command = [%s, %s]

    [tasks.echo]
    runtime = "python"
"""


# Checked before sending.

@pytest.mark.parametrize("options, error, said", [
    ({"fair_key": ""}, ValueError, "fair_key must be 1 to 256 bytes of UTF-8, got 0"),
    ({"fair_key": "é" * 129}, ValueError, "fair_key must be 1 to 256 bytes of UTF-8, got 258"),
    ({"fair_key": 7}, TypeError, "fair_key must be a string, got int"),
    ({"fair_key": "\ud800"}, ValueError, "fair_key is not valid UTF-8"),
    ({"fair_key": "t", "fair_weight": 0}, ValueError, "fair_weight must be from 1 to 100, got 0"),
    ({"fair_key": "t", "fair_weight": 101}, ValueError, "fair_weight must be from 1 to 100, got 101"),
    ({"fair_key": "t", "fair_weight": 2.5}, TypeError, "fair_weight must be an integer from 1 to 100"),
    ({"fair_key": "t", "fair_weight": True}, TypeError, "fair_weight must be an integer from 1 to 100"),
])
def test_bad_fairness_fields_are_refused_naming_the_field(options, error, said):
    with pytest.raises(error, match="task 'echo': " + said.replace("(", r"\(").replace(")", r"\)")):
        task_spec("echo", **options)
    with pytest.raises(error, match=said.split(",")[0]):
        as_spec(dict({"task": "echo"}, **options))
    with pytest.raises(error, match=said.split(",")[0]):
        Client(bin="/nonexistent/stem").enqueue("echo", **options)


def test_good_fairness_fields_are_sent_as_given():
    key = "é" * 128  # 256 bytes: the most a key may be
    assert task_spec("echo", fair_key=key, fair_weight=100)["fair_key"] == key
    assert task_spec("echo", fair_key="t", fair_weight=1)["fair_weight"] == 1
    # A weight alone is the server's to judge: the manifest's fair_key path may give the key.
    assert task_spec("echo", fair_weight=3) == {"task": "echo", "args": [], "kwargs": {}, "fair_weight": 3}
    assert "fair_key" not in task_spec("echo")


def test_the_cli_command_line_carries_the_key_and_weight(tmp_path):
    script = tmp_path / "stem"
    script.write_text("#!/bin/sh\nexec %s %s \"$@\"\n" % (sys.executable, FIXTURES / "fake_stem.py"))
    script.chmod(0o755)
    log = tmp_path / "argv.log"
    client = Client(bin=str(script), env=dict(os.environ, FAKE_STEM_LOG=str(log)))
    client.enqueue("add", [1], fair_key="-tenant a", fair_weight=7)
    argv = json.loads(log.read_text().splitlines()[0])
    assert "--fair-key=-tenant a" in argv and "--fair-weight=7" in argv


class _Psycopg:
    """A duck-typed psycopg 3 connection that fails the test if anything is sent."""

    def cursor(self):
        raise AssertionError("nothing may be sent")

    def execute(self, *args):
        raise AssertionError("nothing may be sent: %r" % (args,))


class _Asyncpg:
    async def fetchval(self, *args):
        raise AssertionError("nothing may be sent: %r" % (args,))


def test_the_sql_enqueue_refuses_fairness_fields_rather_than_drop_them():
    with pytest.raises(ValueError, match=r"^enqueue: fair_key: enqueue from SQL takes no fairness key"):
        pg.enqueue(_Psycopg(), "echo", fair_key="t", schema="stem")
    with pytest.raises(ValueError, match=r"^enqueue: fair_weight: "):
        Client(bin="/nonexistent/stem").enqueue("echo", fair_key=None, fair_weight=2, conn=_Psycopg())
    with pytest.raises(ValueError, match=r"^enqueue_many\[1\]: fair_key: "):
        pg.enqueue_many(_Psycopg(), [("echo", []), {"task": "echo", "fair_key": "t"}], schema="stem")

    async def main():
        with pytest.raises(ValueError, match=r"^enqueue: fair_key: "):
            await pg.enqueue_async(_Asyncpg(), "echo", fair_key="t", schema="stem")
        with pytest.raises(ValueError, match=r"^enqueue_many\[0\]: fair_weight: "):
            await pg.enqueue_many_async(_Asyncpg(), [{"task": "echo", "fair_weight": 2}], schema="stem")
        with pytest.raises(ValueError, match=r"^enqueue: fair_key: "):
            await AsyncClient("http://127.0.0.1:1").enqueue("echo", fair_key="t", conn=_Asyncpg())

    asyncio.run(main())


# Round trips through a real stem serve.

@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`stem serve` on a private SQLite file (no worker); yields (url, sqlite url, dir)."""
    tmp = tmp_path_factory.mktemp("fair")
    manifest = tmp / "stem.toml"
    manifest.write_text(textwrap.dedent(MANIFEST) % (json.dumps(sys.executable), json.dumps(str(FIXTURES / "vector_tasks.py"))))
    db = "sqlite://%s" % (tmp / "stem.db")
    env = dict(os.environ, STEM_BROKER_URL=db, STEM_RESULT_BACKEND_URL=db)
    env.pop("STEM_API_TOKENS", None)
    server = subprocess.Popen([STEM_BIN, "serve", "--listen", "127.0.0.1:0", "--manifest", str(manifest)],
                              env=env, cwd=str(tmp), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        assert "listening on" in line, line
        yield line.rsplit(" ", 1)[1].strip(), db, tmp
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def listed(url, queue):
    """The fairness fields of every task waiting in `queue`, by task id."""
    with Client(url=url) as reader:
        tasks = reader.transport.request("GET", "/v1/queues/%s/tasks?limit=1000" % queue)["tasks"]
    return {t["id"]: (t["fair_key"], t["fair_weight"]) for t in tasks}


def a_queue():
    return "fair-%s" % uuid.uuid4().hex[:8]


@needs_stem
def test_over_http_sync_and_in_batches(served):
    url, _, _ = served
    queue = a_queue()
    with Client(url=url) as client:
        one = client.enqueue("echo", [1], queue=queue, fair_key="tenant-a", fair_weight=3)
        plain = client.enqueue("echo", [2], queue=queue)
        batch = client.enqueue_many([{"task": "echo", "queue": queue, "fair_key": "tenant-b"},
                                     task_spec("echo", queue=queue, fair_key="tenant-ü", fair_weight=100)])
    assert listed(url, queue) == {one.id: ("tenant-a", 3), plain.id: (None, None),
                                  batch[0].id: ("tenant-b", None), batch[1].id: ("tenant-ü", 100)}


@needs_stem
def test_over_http_asyncio(served):
    url, _, _ = served
    queue = a_queue()

    async def main():
        async with AsyncClient(url) as client:
            one = await client.enqueue("echo", [1], queue=queue, fair_key="tenant-a", fair_weight=5)
            many = await client.enqueue_many([{"task": "echo", "queue": queue, "fair_key": "tenant-b", "fair_weight": 2}])
            return one.id, many[0].id

    one, other = asyncio.run(main())
    assert listed(url, queue) == {one: ("tenant-a", 5), other: ("tenant-b", 2)}


@needs_stem
def test_over_the_cli_one_by_one_on_stdin_and_in_batches(served):
    url, db, tmp = served
    queue = a_queue()
    client = Client(broker=db, backend=db, cwd=str(tmp))
    one = client.enqueue("echo", [1], queue=queue, fair_key="-tenant a", fair_weight=4)
    big = client.enqueue("echo", ["x" * 70_000], queue=queue, fair_key="tenant-big", fair_weight=2)
    batch = client.enqueue_many([{"task": "echo", "queue": queue, "fair_key": "tenant-b"},
                                 {"task": "echo", "queue": queue, "fair_key": "tenant-c", "fair_weight": 9}])
    assert listed(url, queue) == {one.id: ("-tenant a", 4), big.id: ("tenant-big", 2),
                                  batch[0].id: ("tenant-b", None), batch[1].id: ("tenant-c", 9)}


@needs_stem
def test_a_weight_without_a_key_is_refused_by_the_server_naming_fair_weight(served):
    url, db, tmp = served
    with pytest.raises(InvalidTask, match="fair_weight"):
        Client(url=url).enqueue("echo", queue=a_queue(), fair_weight=2)
    with pytest.raises(InvalidTask, match="fair_weight"):
        Client(broker=db, backend=db, cwd=str(tmp)).enqueue("echo", queue=a_queue(), fair_weight=2)


PG_URL = os.environ.get("STEM_TEST_POSTGRES_URL")


@pytest.mark.skipif(not (STEM_BIN and PG_URL), reason="needs STEM_BIN and STEM_TEST_POSTGRES_URL")
def test_the_sql_function_has_no_fairness_fields_so_the_sdk_refuses_them_first(tmp_path):
    psycopg = pytest.importorskip("psycopg")
    namespace = "sdkfair_%s" % uuid.uuid4().hex[:12]
    schema = pg.schema_name(namespace)
    env = dict(os.environ, STEM_BROKER_URL=PG_URL, STEM_RESULT_BACKEND_URL=PG_URL, STEM_NAMESPACE=namespace)
    subprocess.run([STEM_BIN, "migrate"], env=env, cwd=str(tmp_path), check=True, capture_output=True)
    try:
        with psycopg.connect(PG_URL) as conn:
            # Were the SDK to pass them through, the database would refuse them by name: the
            # day it takes them, this fails and the SDK should send them.
            with pytest.raises(psycopg.errors.InvalidParameterValue, match=r"enqueue: options.fair_key: unknown option"):
                with conn.transaction():
                    conn.execute("SELECT %s.enqueue('echo', '[]', '{}', '{\"fair_key\": \"t\"}')" % schema)
            with conn.transaction():
                with pytest.raises(ValueError, match=r"^enqueue: fair_key: "):
                    pg.enqueue(conn, "echo", fair_key="t", schema=schema)
                # Nothing was sent: the transaction goes on.
                assert pg.enqueue(conn, "echo", schema=schema)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS %s CASCADE" % schema)
