"""Replays every shared transcript in protocol/vectors/ against a real child process:
the `to_child` lines go to its stdin, its stdout must be exactly the `from_child` lines
(as JSON values, "<any>" matching anything), and it must exit 0.

The same transcripts are replayed in fork-server isolation too, where each task the
child serves is first announced by a `forked` line naming the forked pid. The workflow
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


def replay(path, isolation):
    child = Child("vector_workflows.py" if is_workflow(path) else "vector_tasks.py", isolation=isolation)
    try:
        for step in load(path):
            if "to_child" in step:
                message = step["to_child"]
                child.send(message)
                if isolation == "forkserver" and message["type"] == "task" and message["name"] in FIXTURE_TASKS:
                    forked = child.expect({"type": "forked", "id": message["id"], "pid": "<any>"})
                    assert isinstance(forked["pid"], int) and forked["pid"] != child.pid
            else:
                child.expect(step["from_child"])
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
    replay(path, "forkserver")


@pytest.mark.parametrize("path", [p for p in VECTORS if is_workflow(p)], ids=lambda p: p.stem)
def test_workflow_vector_in_pool(path):
    replay(path, "pool")


def test_the_workflow_vectors_are_there():
    assert {p.stem for p in VECTORS if is_workflow(p)} >= {
        "workflow_first", "workflow_refused", "workflow_replay", "workflow_steps", "workflow_versions"}
