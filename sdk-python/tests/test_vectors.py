"""Replays every shared transcript in protocol/vectors/ against a real child process:
the `to_child` lines go to its stdin, its stdout must be exactly the `from_child` lines
(as JSON values, "<any>" matching anything), and it must exit 0.

In `process` and `pool` isolation, the `to_child` lines that follow one another are written
with one write, so the child reads them together, as a pipelining supervisor's lines written
ahead (the `withdraw` in pipeline.jsonl is read before its task's turn, every time).

The same transcripts are replayed in fork-server isolation too, where each task the
child serves is first announced by a `forked` line naming the forked pid, and `hello` has
no `pipeline` (the supervisor never writes ahead to a fork server). The workflow
transcripts (`workflow_*.jsonl`) are replayed with the fixture workflows registered too, in
`process` and `pool` isolation (workflows need one of them: a step's ack is read from the
child's stdin); the others without them."""

import json

import pytest

from conftest import VECTORS_DIR, Child

# canvas.jsonl holds canvas documents (test_canvas.py replays it) and signing.jsonl signing
# cases (test_signing.py): not transcripts.
VECTORS = sorted(p for p in VECTORS_DIR.glob("*.jsonl") if p.stem not in ("canvas", "signing"))
FIXTURE_TASKS = {"add", "boom", "echo", "fatal", "progress", "retry_later"}


def load(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def test_the_shared_vectors_are_there():
    assert len(VECTORS) >= 8, "expected the shared vectors in %s" % VECTORS_DIR


def is_workflow(path):
    return path.stem.startswith("workflow_")


def writes_ahead(path):
    """Whether the transcript needs a pipelining child (its lines carry `withdraw`)."""
    return any(step.get("to_child", {}).get("type") == "withdraw" for step in load(path))


def replay(path, isolation):
    child = Child("vector_workflows.py" if is_workflow(path) else "vector_tasks.py", isolation=isolation)
    unsent = []
    try:
        for step in load(path):
            if "to_child" in step:
                message = step["to_child"]
                if isolation != "forkserver":
                    unsent.append(message)
                    continue
                child.send(message)
                if message["type"] == "task" and message["name"] in FIXTURE_TASKS:
                    forked = child.expect({"type": "forked", "id": message["id"], "pid": "<any>"})
                    assert isinstance(forked["pid"], int) and forked["pid"] != child.pid
            else:
                if unsent:
                    child.send_all(unsent)
                    unsent = []
                expected = step["from_child"]
                if isolation == "forkserver" and expected["type"] == "hello":
                    expected = {k: v for k, v in expected.items() if k != "pipeline"}
                child.expect(expected)
        if unsent:
            child.send_all(unsent)
        assert child.finish() == 0, child.drain_stderr()
    finally:
        child.kill()


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_vector(path):
    replay(path, "forkserver" if path.stem.startswith("forkserver") else "process")


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.stem)
def test_vector_in_fork_server(path):
    if path.stem.startswith("forkserver"):
        pytest.skip("a fork-server transcript already carries its forked lines")
    if is_workflow(path):
        pytest.skip("workflows need process or pool isolation (test_workflow.py checks the refusal)")
    if writes_ahead(path):
        pytest.skip("the supervisor never writes ahead to a fork server")
    replay(path, "forkserver")


@pytest.mark.parametrize("path", [p for p in VECTORS if is_workflow(p) or writes_ahead(p)], ids=lambda p: p.stem)
def test_vector_in_pool(path):
    replay(path, "pool")


def test_the_pipelining_vector_is_there():
    assert any(writes_ahead(p) for p in VECTORS)


def test_the_workflow_vectors_are_there():
    assert {p.stem for p in VECTORS if is_workflow(p)} >= {
        "workflow_first", "workflow_refused", "workflow_replay", "workflow_steps", "workflow_versions"}
