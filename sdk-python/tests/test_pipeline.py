"""Pipelining against a real child over real pipes: task lines written ahead of the running
task, each task answered as it ends (before the next starts), `withdraw` honoured for a task
still waiting and ignored for one that started or that never came, and limits written ahead
(`time_limit_ms`) counted from the task's own start. A task waits on a file the test makes, so
nothing here sleeps and hopes."""

import time

import pytest

from conftest import task_message

HELLO = {"type": "hello", "protocol": 1, "sdk": "<any>", "tasks": "<any>", "pipeline": 32}


@pytest.fixture
def pool(spawn):
    child = spawn(isolation="pool")
    child.expect(HELLO)
    return child


def test_process_isolation_says_pipeline_too(spawn):
    child = spawn(isolation="process")
    child.expect(HELLO)
    assert child.finish() == 0


def test_an_answer_is_written_before_the_next_task_starts(pool, tmp_path):
    gate = tmp_path / "go"
    # One write: both lines arrive together. The second task writes nothing until the file
    # exists, and the file is made only once the first task's answer has been read here.
    pool.send_all([task_message("a", "whoami"), task_message("b", "wait_for", [str(gate)])])
    pool.expect({"type": "result", "id": "a", "value": "<any>"})
    gate.touch()
    pool.expect({"type": "result", "id": "b", "value": "released"})
    assert pool.finish() == 0


def test_a_withdraw_that_comes_while_an_earlier_task_runs_is_honoured(pool, tmp_path):
    gate = tmp_path / "go"
    pool.send_all([
        task_message("a", "wait_for", [str(gate), True]),
        task_message("b", "whoami"),
        task_message("c", "whoami"),
    ])
    pool.expect({"type": "progress", "id": "a", "progress": "waiting"})  # a runs; b and c wait
    pool.send({"type": "withdraw", "id": "b"})
    pool.send({"type": "withdraw", "id": "a"})  # too late: a started (ignored, no line)
    gate.touch()
    pool.expect({"type": "result", "id": "a", "value": "released"})
    pool.expect({"type": "withdrawn", "id": "b"})
    pool.expect({"type": "result", "id": "c", "value": "<any>"})
    assert pool.finish() == 0
    assert "ignoring" not in pool.drain_stderr()


def test_a_withdraw_of_nothing_waiting_is_ignored_and_forgotten(pool):
    # Read while no line waits: it names no waiting task, so the same id's line runs later.
    pool.send({"type": "withdraw", "id": "x"})
    pool.send(task_message("x", "whoami"))
    pool.expect({"type": "result", "id": "x", "value": "<any>"})
    # Noted behind a waiting line, then moot once the lines are done: not kept for later.
    pool.send_all([task_message("y", "whoami"), {"type": "withdraw", "id": "z"}])
    pool.expect({"type": "result", "id": "y", "value": "<any>"})
    pool.send(task_message("z", "whoami"))
    pool.expect({"type": "result", "id": "z", "value": "<any>"})
    assert pool.finish() == 0
    assert "ignoring" not in pool.drain_stderr()


def test_consecutive_withdrawn_tasks_keep_their_order(pool):
    pool.send_all([
        task_message("w-1", "whoami"),
        task_message("w-2", "whoami"),
        task_message("w-3", "whoami"),
        task_message("w-4", "whoami"),
        {"type": "withdraw", "id": "w-3"},
        {"type": "withdraw", "id": "w-2"},
    ])
    pool.expect({"type": "result", "id": "w-1", "value": "<any>"})
    pool.expect({"type": "withdrawn", "id": "w-2"})
    pool.expect({"type": "withdrawn", "id": "w-3"})
    pool.expect({"type": "result", "id": "w-4", "value": "<any>"})
    assert pool.finish() == 0


def test_limits_written_ahead_count_from_the_tasks_own_start(pool, tmp_path):
    gate = tmp_path / "go"
    pool.send_all([
        task_message("a", "wait_for", [str(gate), True]),
        task_message("b", "context", time_limit_ms=60000, soft_time_limit_ms=30000),
    ])
    pool.expect({"type": "progress", "id": "a", "progress": "waiting"})  # b's line is read
    read_by = time.time() * 1000
    # Let the clock move well past the moment b's line was read before b can start.
    while time.time() * 1000 < read_by + 50:
        time.sleep(0.01)
    released = int(time.time() * 1000)
    gate.touch()
    pool.expect({"type": "result", "id": "a", "value": "released"})
    value = pool.expect({"type": "result", "id": "b", "value": "<any>"})["value"]
    done = time.time() * 1000
    assert released + 60000 <= value["deadline"] <= done + 60000, (released, value, done)
    assert released + 30000 <= value["soft_deadline"] <= done + 30000, (released, value, done)
    # A deadline given as such is kept as it is.
    pool.send(task_message("c", "context", deadline=4102444800000, soft_deadline=4102444790000))
    value = pool.expect({"type": "result", "id": "c", "value": "<any>"})["value"]
    assert (value["deadline"], value["soft_deadline"]) == (4102444800000, 4102444790000)
    assert pool.finish() == 0


def test_a_step_ack_that_holds_the_withdraw_marker_still_reaches_its_step(spawn):
    child = spawn("workflow_tasks.py", isolation="pool")
    child.expect(HELLO)
    workflow = {"run": "n-1", "name": "nap", "version": 1, "code_version": 1, "now": 1700000000000, "journal": []}
    child.send(task_message("n-1.1", "wf:nap", ["duration", 5], queue="workflows", workflow=workflow))
    child.expect({"type": "step", "id": "n-1.1", "index": 0, "name": "nap", "op": "sleep", "delay_ms": 5000})
    child.send({"type": "step_ack", "id": "n-1.1", "index": 0, "ok": True, "suspended": True, "note": "withdraw"})
    child.expect({"type": "result", "id": "n-1.1", "value": None})
    assert child.finish() == 0
