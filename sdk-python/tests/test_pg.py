"""Enqueue in the application's own Postgres transaction (`stem_sdk.pg`, `Client.enqueue(...,
conn=)`), with psycopg 3 and asyncpg against the real database and a real worker: a rolled-back
enqueue runs nothing, a committed one runs and its result is read back, a unique id enqueued
twice is one task, and a refused option is the driver's error inside the transaction.

Needs STEM_BIN, STEM_TEST_POSTGRES_URL, psycopg and asyncpg (test.sh installs them); skips
without them, except with CI=true, where it fails."""

import asyncio
import json
import os
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from conftest import FIXTURES
from stem_sdk import pg
from stem_sdk.aio import AsyncClient
from stem_sdk.client import Client

STEM_BIN = os.environ.get("STEM_BIN")
PG_URL = os.environ.get("STEM_TEST_POSTGRES_URL")

try:
    import asyncpg  # type: ignore
    import psycopg  # type: ignore
    missing = None
except ImportError as e:  # pragma: no cover - depends on the machine
    missing = str(e)

why = (not STEM_BIN and "STEM_BIN is not set") or (not PG_URL and "STEM_TEST_POSTGRES_URL is not set") or missing
if why and os.environ.get("CI") == "true":
    raise RuntimeError("the Postgres SDK tests cannot run under CI: %s (test.sh installs psycopg and asyncpg)" % why)
pytestmark = pytest.mark.skipif(bool(why), reason="%s" % why)


@pytest.fixture
def world(tmp_path):
    """A namespace of its own, migrated, with a real worker serving the vector tasks; yields
    (client, schema)."""
    namespace = "sdkpy_%s" % uuid.uuid4().hex[:12]
    manifest = tmp_path / "stem.toml"
    manifest.write_text(textwrap.dedent("""
        [runtimes.python]
        command = [%s, %s]
        isolation = "process"

        [tasks.add]
        runtime = "python"
    """) % (json.dumps(sys.executable), json.dumps(str(FIXTURES / "vector_tasks.py"))))
    env = dict(os.environ, STEM_BROKER_URL=PG_URL, STEM_RESULT_BACKEND_URL=PG_URL, STEM_NAMESPACE=namespace)
    subprocess.run([STEM_BIN, "migrate"], env=env, cwd=str(tmp_path), check=True, capture_output=True)
    proc = subprocess.Popen([STEM_BIN, "worker", "--manifest", str(manifest), "--concurrency", "2"],
                            env=env, cwd=str(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    client = Client(broker=PG_URL, backend=PG_URL, cwd=str(tmp_path), env={"STEM_NAMESPACE": namespace})
    try:
        yield client, pg.schema_name(namespace)
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute("DROP SCHEMA IF EXISTS %s CASCADE" % pg.schema_name(namespace))


def count_rows(schema, where=""):
    with psycopg.connect(PG_URL) as conn:
        return conn.execute("SELECT count(*) FROM %s.tasks %s" % (schema, where)).fetchone()[0]


def test_schema_names_follow_the_worker():
    assert pg.schema_name("stem") == "stem"
    assert pg.schema_name("My-App.v2") == "my_app_v2"
    assert pg.schema_name("1x") == "stem_1x"
    with pytest.raises(ValueError):
        pg.enqueue(object(), "add", schema="x; DROP TABLE t")


def test_psycopg_rollback_runs_nothing_commit_runs_once(world):
    client, schema = world
    with psycopg.connect(PG_URL) as conn:
        with pytest.raises(RuntimeError):
            with conn.transaction():
                pg.enqueue(conn, "add", [1, 1], schema=schema)
                raise RuntimeError("the order failed")
        with conn.transaction():
            task_id = pg.enqueue(conn, "add", [2, 3], schema=schema)
            assert count_rows(schema) == 0, "not visible before commit"
    assert client.result(task_id).get(timeout=60) == 5
    assert count_rows(schema) == 0

    ids = []
    with psycopg.connect(PG_URL) as conn, conn.transaction():
        ids = pg.enqueue_many(conn, [("add", [i, i]) for i in range(5)], schema=schema)
    assert [client.result(i).get(timeout=60) for i in ids] == [0, 2, 4, 6, 8]


def test_psycopg_unique_id_twice_is_one_task_and_bad_options_are_refused(world):
    client, schema = world
    order = "order-%s" % uuid.uuid4().hex[:8]
    with psycopg.connect(PG_URL) as conn:
        with conn.transaction():
            assert pg.enqueue(conn, "add", [1, 2], id=order, schema=schema) == order
            assert pg.enqueue(conn, "add", [5, 5], id=order, schema=schema) == order
        with pytest.raises(psycopg.errors.InvalidParameterValue, match=r"enqueue: options.max_retries: unknown option"):
            with conn.transaction():
                pg.enqueue(conn, "add", [1, 2], max_retries=3, schema=schema)
    assert client.result(order).get(timeout=60) == 3
    assert count_rows(schema, "WHERE task_id = '%s'" % order) == 0


def test_client_enqueue_with_conn_uses_the_namespace_schema(world, monkeypatch):
    client, schema = world
    monkeypatch.setenv("STEM_NAMESPACE", schema)
    with psycopg.connect(PG_URL) as conn:
        with conn.transaction():
            handle = client.enqueue("add", [20, 22], conn=conn, priority=5)
        with pytest.raises(ValueError, match="wait=True with conn"):
            client.enqueue("add", [1, 1], conn=conn, wait=True)
    assert handle.get(timeout=60) == 42


def test_asyncpg_and_async_psycopg_enqueue_in_their_transaction(world, monkeypatch):
    client, schema = world
    monkeypatch.setenv("STEM_NAMESPACE", schema)

    async def main():
        conn = await asyncpg.connect(PG_URL)
        try:
            try:
                async with conn.transaction():
                    await pg.enqueue_async(conn, "add", [9, 9])
                    raise RuntimeError("rolled back")
            except RuntimeError:
                pass
            async with conn.transaction():
                one = await pg.enqueue_async(conn, "add", [4, 5], id="a-%s" % uuid.uuid4().hex[:8])
                again = await pg.enqueue_async(conn, "add", [0, 0], id=one)
                many = await pg.enqueue_many_async(conn, [{"task": "add", "args": [1, 1]}])
                handle = await AsyncClient("http://127.0.0.1:1").enqueue("add", [6, 6], conn=conn)
            assert again == one
        finally:
            await conn.close()
        aconn = await psycopg.AsyncConnection.connect(PG_URL)
        async with aconn:
            async with aconn.transaction():
                other = await pg.enqueue_async(aconn, "add", [7, 7])
        return [one] + many + [handle.id, other]

    ids = asyncio.run(main())
    assert [client.result(i).get(timeout=60) for i in ids] == [9, 2, 12, 14]
    # Only those four ran: the rolled-back [9, 9] left no row and no record.
    deadline = time.monotonic() + 60
    while count_rows(schema) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert count_rows(schema) == 0
    with psycopg.connect(PG_URL) as conn:
        assert conn.execute("SELECT count(*) FROM %s.results" % schema).fetchone()[0] == 4
