"""What the `stem` CLI says reaches the SDK user, and a mistake raises one class whichever
transport reported it. Against the real binary (only when STEM_BIN is set): the CLI's `note:`
lines become `StemWarning`s (a store created in a fresh folder, a queue no live worker
consumes), none with a live worker on an existing store; an unknown task, a bad task option and
an unknown id raise `UnknownTask`, `InvalidTask` and `TaskNotFound` through the CLI, a real
`stem serve` and `AsyncClient` alike, still a `StemCliError` or an `ApiError`."""

import asyncio
import json
import os
import select
import subprocess
import sys
import textwrap
import time
import warnings

import pytest

from conftest import FIXTURES
from stem_sdk import (ApiError, Client, InvalidTask, StemCliError, StemWarning, TaskNotFound, UnknownTask)
from stem_sdk.aio import AsyncClient
from stem_sdk.cli_notes import notes, reason

STEM_BIN = os.environ.get("STEM_BIN")
needs_stem = pytest.mark.skipif(not STEM_BIN, reason="STEM_BIN is not set: these tests run the real stem binary")

MANIFEST = """
    [runtimes.python]
    command = [%s, %s]
    isolation = "process"

    [tasks.add]
    runtime = "python"
"""

#: Task options both transports refuse, each naming the option.
BAD_OPTIONS = [
    ({"countdown": "bogus"}, "countdown"),
    ({"priority": 99}, "priority"),
    ({"id": ""}, "id"),
    ({"max_retries": -1}, "max.retries"),
    ({"eta": "yesterday"}, "eta"),
    ({"queue": ""}, "queue"),
]


def _env():
    """This environment without the settings that would point the CLI elsewhere."""
    return {k: v for k, v in os.environ.items()
            if k not in ("STEM_BROKER_URL", "STEM_RESULT_BACKEND_URL", "STEM_MANIFEST", "STEM_API_URL", "STEM_API_TOKEN")}


def _folder(path):
    """`path` with a stem.toml declaring `add` (served by tests/fixtures/vector_tasks.py)."""
    (path / "stem.toml").write_text(textwrap.dedent(MANIFEST) % (
        json.dumps(sys.executable), json.dumps(str(FIXTURES / "vector_tasks.py"))))
    return path


def _stop(proc):
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _serve(folder, procs):
    """A real `stem serve` on 127.0.0.1:0 in `folder`; its URL, read from its "listening on" line."""
    server = subprocess.Popen([STEM_BIN, "serve", "--listen", "127.0.0.1:0", "--manifest", str(folder / "stem.toml")],
                              env=_env(), cwd=str(folder), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    procs.append(server)
    deadline, seen = time.monotonic() + 30, b""
    while b"\n" not in seen:
        left = deadline - time.monotonic()
        assert left > 0 and server.poll() is None, "stem serve did not say where it listens: %r" % seen
        if select.select([server.stdout], [], [], left)[0]:
            seen += os.read(server.stdout.fileno(), 4096)
    line = seen.decode().splitlines()[0]
    assert "listening on" in line, line
    return line.rsplit(" ", 1)[1].strip()


def _stem_warnings(record):
    return [str(w.message) for w in record if issubclass(w.category, StemWarning)]


def test_notes_and_reason_read_the_lines_meant_for_the_user():
    stderr = ("note: created the embedded store /x/stem.db (...)\n2026-01-01T00:00:00Z  WARN a log line\n"
              "note: created the embedded store /x/stem.db (...)\nwarning: clock skew\n"
              "error: invalid value '-1' for '--max-retries <N>': no\n\nFor more information, try '--help'.\n")
    assert notes(stderr) == ["created the embedded store /x/stem.db (...)", "clock skew"]
    assert reason(stderr) == "error: invalid value '-1' for '--max-retries <N>': no"
    assert reason("note: only a note\n") == "" and reason("stem: gone\n") == "stem: gone"


@needs_stem
def test_a_fresh_folder_warns_that_the_cli_created_a_store(tmp_path):
    client = Client(cwd=str(tmp_path), env=_env())
    with pytest.warns(StemWarning, match=r"created the embedded store .*stem\.db") as record:
        sent = client.enqueue("add", [1, 2])
    assert isinstance(sent.id, str) and sent.enqueued["state"] == "pending"
    assert (tmp_path / "stem.db").exists()
    created = [w for w in record if "created the embedded store" in str(w.message)]
    assert len(created) == 1 and created[0].filename == __file__  # points at the call above
    with warnings.catch_warnings(record=True) as again:
        warnings.simplefilter("always")
        client.enqueue("add", [3, 4])
    assert not [m for m in _stem_warnings(again) if "created the embedded store" in m]


@needs_stem
def test_no_live_worker_is_noted(tmp_path):
    client = Client(cwd=str(_folder(tmp_path)), env=_env())
    with pytest.warns(StemWarning, match="created the embedded store"):
        client.enqueue("add", [1, 2])
    # `stem enqueue --wait` notes at once that nothing consumes the queue; the timed-out
    # wait still prints the record, which the transport returns.
    with pytest.warns(StemWarning, match=r'no live worker consumes queue "default" \(no worker is live\)'):
        reply = client.cli.run(["enqueue", "add", "--wait", "--timeout", "300ms"])
    assert reply["state"] == "pending"
    # A plain enqueue warns exactly what the binary notes for the same command.
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        client.enqueue("add", [5, 6])
    direct = subprocess.run([STEM_BIN, "enqueue", "add", "--args", "[5, 6]", "--json"], cwd=str(tmp_path),
                            env=_env(), capture_output=True, text=True, timeout=60)
    assert direct.returncode == 0, direct.stderr
    assert _stem_warnings(record) == notes(direct.stderr)


@needs_stem
def test_no_warning_on_an_existing_store_with_a_live_worker(tmp_path):
    folder = _folder(tmp_path)
    procs = [subprocess.Popen([STEM_BIN, "worker", "--concurrency", "2"], env=_env(), cwd=str(folder),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 30
        while not (folder / "stem.db").exists():
            assert time.monotonic() < deadline and procs[0].poll() is None, "the worker created no stem.db"
            time.sleep(0.05)
        client = Client(cwd=str(folder), env=_env())
        assert client.enqueue("add", [2, 3]).get(timeout=60) == 5  # the worker is live
        with warnings.catch_warnings(record=True) as record:
            warnings.simplefilter("always")
            assert client.enqueue("add", [4, 5], wait=True, timeout=60).get() == 9
            waited = client.cli.run(["enqueue", "add", "--args", "[1, 1]", "--wait", "--timeout", "60s"])
        assert waited["state"] == "success" and waited["result"] == 2
        assert _stem_warnings(record) == []
    finally:
        for proc in procs:
            _stop(proc)


@pytest.fixture(scope="module")
def folder_and_url(tmp_path_factory):
    """A folder whose stem.toml declares `add` only, and a real `stem serve` with it (on the
    folder's stem.db, which it creates)."""
    folder = _folder(tmp_path_factory.mktemp("mistakes"))
    procs = []
    try:
        url = _serve(folder, procs)
        assert (folder / "stem.db").exists()
        yield folder, url
    finally:
        for proc in procs:
            _stop(proc)


@pytest.fixture(params=["cli", "http"])
def transport(request, folder_and_url):
    """(client, the class every error of that transport also is)."""
    folder, url = folder_and_url
    if request.param == "cli":
        # The server made the folder's stem.db: the CLI finds it, and notes nothing.
        return Client(cwd=str(folder), env=_env()), StemCliError
    return Client(url=url), ApiError


@needs_stem
def test_the_same_mistake_raises_the_same_class_over_either_transport(transport):
    client, transport_error = transport
    with pytest.raises(UnknownTask, match='unknown task "nope"') as caught:
        client.enqueue("nope", [1])
    assert isinstance(caught.value, transport_error)
    with pytest.raises(UnknownTask, match='unknown task "nope"') as caught:
        client.enqueue_many([("add", [1, 2]), ("nope", [])])
    assert isinstance(caught.value, transport_error)
    for options, named in BAD_OPTIONS:
        with pytest.raises(InvalidTask, match=named) as invalid:
            client.enqueue("add", [1, 2], **options)
        assert isinstance(invalid.value, transport_error), options
    with pytest.raises(TaskNotFound, match='no task "never-enqueued" is known') as missing:
        client.revoke("never-enqueued")
    assert isinstance(missing.value, transport_error)
    assert isinstance(client.enqueue("add", [1, 2]).id, str)  # a good one still goes


@needs_stem
def test_the_old_except_clauses_still_catch_them(folder_and_url):
    folder, url = folder_and_url
    try:
        Client(cwd=str(folder), env=_env()).enqueue("nope")
    except StemCliError as e:
        assert isinstance(e, UnknownTask) and e.returncode == 2 and 'unknown task "nope"' in str(e)
    else:
        raise AssertionError("the CLI took an unknown task")
    try:
        Client(url=url).enqueue("nope")
    except ApiError as e:
        assert isinstance(e, UnknownTask) and (e.status, e.code) == (400, "unknown_task")
    else:
        raise AssertionError("stem serve took an unknown task")


@needs_stem
def test_the_async_client_raises_the_same_classes(folder_and_url):
    _, url = folder_and_url

    async def main():
        async with AsyncClient(url) as client:
            with pytest.raises(UnknownTask, match='unknown task "nope"') as caught:
                await client.enqueue("nope")
            assert isinstance(caught.value, ApiError) and caught.value.code == "unknown_task"
            with pytest.raises(UnknownTask):
                await client.enqueue_many([("add", [1]), ("nope", [])])
            with pytest.raises(InvalidTask, match="countdown"):
                await client.enqueue("add", [1, 2], countdown="bogus")
            with pytest.raises(TaskNotFound):
                await client.revoke("never-enqueued")
            assert isinstance((await client.enqueue("add", [1, 2])).id, str)

    asyncio.run(main())
