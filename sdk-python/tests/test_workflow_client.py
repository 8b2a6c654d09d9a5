"""The producer side of durable workflows against the real `stem` binary (only when STEM_BIN is
set): a real worker serving tests/fixtures/producer_flows.py and `stem serve`, on one private
SQLite file, driven through the CLI transport, the HTTP transport and `AsyncClient`: start,
suspension on an event, waiters, emit, result; idempotent start by id; cancel; rewind; unknown
runs and workflows; a failing run."""

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
from stem_sdk import (ApiError, Client, RunNotFound, StemCliError, UnknownWorkflow, WorkflowFailed,
                      WorkflowTimeout)
from stem_sdk.aio import AsyncClient

STEM_BIN = os.environ.get("STEM_BIN")
pytestmark = pytest.mark.skipif(not STEM_BIN, reason="STEM_BIN is not set: the workflow producer tests need the stem binary")

MANIFEST = """
    [runtimes.python]
    command = [%s, %s]
    isolation = "pool"

    [workflows.order]
    runtime = "python"
    max_retries = 0

    [workflows.doomed]
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
def stack(tmp_path_factory):
    """A worker and `stem serve` (token `admin`) on one SQLite file; yields (folder, store
    URL, API URL)."""
    tmp = tmp_path_factory.mktemp("wfprod")
    manifest = tmp / "stem.toml"
    manifest.write_text(textwrap.dedent(MANIFEST) % (json.dumps(sys.executable), json.dumps(str(FIXTURES / "producer_flows.py"))))
    url = "sqlite://%s" % (tmp / "stem.db")
    env = dict(os.environ, STEM_BROKER_URL=url, STEM_RESULT_BACKEND_URL=url, STEM_API_TOKENS="admin")
    procs = []
    try:
        server = subprocess.Popen([STEM_BIN, "serve", "--listen", "127.0.0.1:0", "--manifest", str(manifest)],
                                  env=env, cwd=str(tmp), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append(server)
        line = server.stdout.readline()
        assert "listening on" in line, line
        procs.append(subprocess.Popen([STEM_BIN, "worker", "--manifest", str(manifest), "--concurrency", "4"],
                                      env=env, cwd=str(tmp), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        yield tmp, url, line.rsplit(" ", 1)[1].strip()
    finally:
        for proc in reversed(procs):
            _stop(proc)


@pytest.fixture(params=["cli", "http"])
def client(request, stack):
    tmp, url, api = stack
    if request.param == "cli":
        c = Client(broker=url, backend=url, cwd=str(tmp))
        assert c.transport is c.cli
    else:
        c = Client(url=api, token="admin")
    yield c
    c.close()


def unique(prefix):
    return "%s-%s" % (prefix, uuid.uuid4().hex[:10])


def wait_for_waiter(client, topic, run_id, timeout=20.0):
    """Polls the waiters of `topic` until `run_id` is among them; returns that waiter."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for w in client.workflow_waiters(topic=topic):
            if w["run"] == run_id:
                return w
        time.sleep(0.05)
    raise AssertionError("run %s never waited on %s; it is %r" % (run_id, topic, client.workflow_info(run_id)))


def test_a_run_waits_for_its_event_and_completes_when_emitted(client):
    order = unique("o")
    topic = "ship." + order
    run = client.start_workflow("order", [order], {"total": 7})
    assert run.created and run.started["workflow"] == "order"
    waiter = wait_for_waiter(client, topic, run.id)
    assert waiter["topic"] == topic and waiter["index"] == 1
    assert run.state == "suspended" and not run.ready()
    with pytest.raises(WorkflowTimeout) as caught:
        run.wait(timeout=0.3)
    assert caught.value.state == "suspended" and caught.value.id == run.id
    assert isinstance(caught.value, TimeoutError)
    suspended = [r["id"] for r in client.workflow_runs(state="suspended", name="order", limit=1000)]
    assert run.id in suspended

    emitted = client.emit(topic, {"tracking": "T-1"})
    assert emitted["resumed"] == 1 and emitted["runs"] == [run.id] and emitted["topic"] == topic
    assert run.get(timeout=30) == {"charged": 7, "tracking": "T-1"}
    assert run.ready() and run.state == "completed"
    shown = client.workflow_run(run.id).show()
    assert [s["name"] for s in shown["steps"]] == ["charge", "shipped"]
    assert shown["args"] == [order] and shown["kwargs"] == {"total": 7}
    assert client.workflow_waiters(topic=topic) == []
    assert client.emit(topic, {"tracking": "late"})["resumed"] == 0
    assert run.id in [r["id"] for r in client.workflow_runs(state="completed", name="order", limit=1000)]


def test_starting_twice_with_one_id_starts_one_run_and_cancel_ends_it(client):
    run_id = unique("order")
    first = client.start_workflow("order", [run_id], id=run_id)
    second = client.start_workflow("order", [run_id, 99], id=run_id)
    assert (first.id, second.id) == (run_id, run_id)
    assert first.created and not second.created
    assert [r["id"] for r in client.workflow_runs(name="order", limit=1000)].count(run_id) == 1
    wait_for_waiter(client, "ship." + run_id, run_id)

    cancelled = second.cancel()
    assert cancelled["state"] == "cancelled"
    with pytest.raises(WorkflowFailed) as caught:
        first.get(timeout=10)
    assert caught.value.state == "cancelled" and caught.value.error_type == "Cancelled"
    assert caught.value.id == run_id and caught.value.info["steps"][0]["name"] == "charge"
    assert first.get(timeout=10, propagate=False)["state"] == "cancelled"
    assert client.workflow_waiters(topic="ship." + run_id) == []
    with pytest.raises((ApiError, StemCliError), match="already ended"):
        client.cancel_workflow(run_id)


def test_rewind_runs_the_steps_again(client):
    order = unique("r")
    topic = "ship." + order
    run = client.start_workflow("order", [order], {"total": 3})
    wait_for_waiter(client, topic, run.id)
    assert client.emit(topic, {"tracking": "first"})["resumed"] == 1
    assert run.get(timeout=30)["tracking"] == "first"

    with pytest.raises((ApiError, StemCliError), match='no step "nope".*charge, shipped'):
        run.rewind("nope")
    rewound = run.rewind("shipped")
    assert rewound["state"] in ("suspended", "running")
    wait_for_waiter(client, topic, run.id)
    assert [s["name"] for s in run.show()["steps"]] == ["charge", "shipped"]
    assert client.emit(topic, {"tracking": "second"})["resumed"] == 1
    assert run.get(timeout=30) == {"charged": 3, "tracking": "second"}


def test_unknown_runs_and_workflows_and_bad_arguments(client):
    transport_error = ApiError if client.transport is not client.cli else StemCliError
    for call in (lambda: client.workflow_run("no-such-run").show(),
                 lambda: client.cancel_workflow("no-such-run"),
                 lambda: client.rewind_workflow("no-such-run", "charge")):
        with pytest.raises(RunNotFound, match="no-such-run") as caught:
            call()
        assert isinstance(caught.value, transport_error)
        assert 'no workflow run "no-such-run"' in str(caught.value)
        if transport_error is ApiError:
            assert (caught.value.status, caught.value.code) == (404, "run_not_found")
        else:
            assert str(caught.value).startswith("stem wf ") and caught.value.returncode != 0
    with pytest.raises(RunNotFound):
        client.workflow_run("no-such-run").get(timeout=1)
    with pytest.raises(UnknownWorkflow, match='unknown workflow "nope"') as unknown:
        client.start_workflow("nope")
    assert isinstance(unknown.value, transport_error)
    with pytest.raises(TypeError, match="workflow order: args: not JSON"):
        client.start_workflow("order", [object()])
    with pytest.raises(TypeError, match="workflow order: args: expected a list or tuple, got str"):
        client.start_workflow("order", "o-1")
    with pytest.raises(TypeError, match="workflow order: kwargs: expected a mapping"):
        client.start_workflow("order", [], [1])
    with pytest.raises(TypeError, match="emit t: payload: not JSON"):
        client.emit("t", {1, 2})
    with pytest.raises(ValueError, match="state: unknown run state 'done'"):
        client.workflow_runs(state="done")


def test_a_failing_run_raises_workflow_failed(client):
    run = client.start_workflow("doomed", ["because"])
    with pytest.raises(WorkflowFailed, match="failed: Fatal: doomed: because") as caught:
        run.get(timeout=30)
    assert caught.value.state == "failed" and caught.value.error_type == "Fatal"
    assert caught.value.message == "doomed: because" and "producer_flows.py" in caught.value.traceback
    assert run.state == "failed"
    assert run.id in [r["id"] for r in client.workflow_runs(state="failed", name="doomed", limit=1000)]


def test_the_async_client(stack):
    _, _, api = stack

    async def main():
        async with AsyncClient(api, token="admin") as client:
            order = unique("a")
            topic = "ship." + order
            run = await client.start_workflow("order", [order], {"total": 5}, id=order)
            again = await client.start_workflow("order", [order], id=order)
            assert run.created and not again.created and again.id == run.id == order
            deadline = time.monotonic() + 20
            while not [w for w in await client.workflow_waiters(topic=topic) if w["run"] == order]:
                assert time.monotonic() < deadline, "the run never waited on its event"
                await asyncio.sleep(0.05)
            assert await run.state() == "suspended" and not await run.ready()
            assert order in [r["id"] for r in await client.workflow_runs(state="suspended", name="order", limit=1000)]
            with pytest.raises(WorkflowTimeout):
                await run.wait(timeout=0.3)
            # Two waits at once on one client, and the emit that ends them.
            waits = asyncio.gather(run.get(timeout=30), client.workflow_run(order).get(timeout=30))
            assert (await client.emit(topic, {"tracking": "A-1"}))["resumed"] == 1
            assert await waits == [{"charged": 5, "tracking": "A-1"}] * 2

            with pytest.raises(ApiError, match="no step"):
                await run.rewind("nope")
            assert (await run.rewind("shipped"))["state"] in ("suspended", "running")
            while not await client.workflow_waiters(topic=topic):
                assert time.monotonic() < deadline + 20, "the rewound run never waited again"
                await asyncio.sleep(0.05)
            assert (await run.cancel())["state"] == "cancelled"
            with pytest.raises(WorkflowFailed) as caught:
                await run.get(timeout=10)
            assert caught.value.state == "cancelled"

            with pytest.raises(RunNotFound) as missing:
                await client.workflow_run("no-such-run").show()
            assert isinstance(missing.value, ApiError) and missing.value.code == "run_not_found"
            with pytest.raises(UnknownWorkflow):
                await client.start_workflow("nope")
            with pytest.raises(WorkflowFailed, match="doomed: async"):
                await (await client.start_workflow("doomed", ["async"])).get(timeout=30)

    asyncio.run(main())
