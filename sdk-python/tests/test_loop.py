"""The serve loop beyond the vectors: stdout is the protocol's alone, the soft limit
raises inside the running task only, bad results and exits are errors that leave the
loop serving, the context carries the envelope."""

import json
import os
import signal
import subprocess
import sys

from conftest import FIXTURES, SDK_DIR, task_message, wait_until


def test_print_fd1_and_subprocess_output_go_to_stderr(spawn):
    child = spawn()
    child.expect({"type": "hello", "protocol": 1, "sdk": "<any>", "tasks": "<any>", "pipeline": 32})
    child.send(task_message("t-1", "noisy"))
    child.expect({"type": "result", "id": "t-1", "value": "quiet"})
    assert child.finish() == 0
    err = child.drain_stderr()
    assert "printed by the task" in err
    assert "written to fd 1 by the task" in err
    assert "from a subprocess" in err


def test_hello_names_the_sdk_and_sorted_tasks(spawn):
    child = spawn()
    hello = child.expect({"type": "hello", "protocol": 1, "sdk": "<any>", "tasks": "<any>", "pipeline": 32})
    assert hello["sdk"].startswith("stem-python/")
    assert hello["tasks"] == sorted(hello["tasks"]) and "sleepy" in hello["tasks"]
    child.send({"type": "shutdown"})
    assert child.finish() == 0


def test_eof_without_shutdown_exits_zero(spawn):
    child = spawn()
    child.recv()
    child.send(task_message("t-1", "whoami"))
    child.expect({"type": "result", "id": "t-1", "value": "<any>"})
    assert child.finish() == 0


def sleep_until_signalled(child, task_id, sig):
    child.send(task_message(task_id, "sleepy", [30]))
    child.expect({"type": "progress", "id": task_id, "progress": "sleeping"})
    os.killpg(child.pid, sig)  # the supervisor signals the child's process group
    return child.expect({"type": "result", "id": task_id, "value": "<any>"}, timeout=5)


def test_soft_limit_raises_in_the_task_which_returns_a_partial_result(spawn):
    child = spawn()
    child.recv()
    result = sleep_until_signalled(child, "t-soft", signal.SIGUSR1)
    assert result["value"]["partial"] is True
    assert child.finish() == 0


def test_soft_signal_between_tasks_is_ignored(spawn):
    child = spawn()
    child.recv()
    os.killpg(child.pid, signal.SIGUSR1)
    child.send(task_message("t-1", "whoami"))
    child.expect({"type": "result", "id": "t-1", "value": "<any>"})
    os.killpg(child.pid, signal.SIGUSR1)
    result = sleep_until_signalled(child, "t-2", signal.SIGUSR1)
    assert result["value"]["partial"] is True
    assert child.finish() == 0


def test_soft_signal_is_taken_from_the_environment(spawn):
    child = spawn(env={"STEM_SOFT_SIGNAL": "SIGUSR2"})
    child.recv()
    result = sleep_until_signalled(child, "t-soft", signal.SIGUSR2)
    assert result["value"]["partial"] is True
    assert child.finish() == 0


def test_unknown_soft_signal_is_a_clear_startup_error(spawn):
    child = spawn(env={"STEM_SOFT_SIGNAL": "SIGNOPE"})
    assert child.proc.wait(10) == 2
    assert "SIGNOPE" in child.drain_stderr()


def test_unserializable_result_is_a_type_error_and_the_loop_goes_on(spawn):
    child = spawn()
    child.recv()
    child.send(task_message("t-set", "unserializable"))
    error = child.expect({"type": "error", "id": "t-set", "error": "<any>"})["error"]
    assert error["type"] == "TypeError"
    assert "unserializable" in error["message"] and "not JSON-serializable" in error["message"]
    assert "set" in error["message"]
    assert error["retryable"] is False
    child.send(task_message("t-nan", "not_a_number"))
    error = child.expect({"type": "error", "id": "t-nan", "error": "<any>"})["error"]
    assert "not JSON-serializable" in error["message"]
    child.send(task_message("t-ok", "whoami"))
    child.expect({"type": "result", "id": "t-ok", "value": "<any>"})
    assert child.finish() == 0


def test_traceback_starts_at_the_task_and_names_where_it_failed(spawn):
    child = spawn()
    child.recv()
    child.send(task_message("t-err", "nested_failure"))
    error = child.expect({"type": "error", "id": "t-err", "error": "<any>"})["error"]
    assert error["type"] == "ValueError" and error["message"] == "deep down"
    assert error["retryable"] is True and "countdown" not in error
    assert error["traceback"].startswith("Traceback (most recent call last):")
    assert "in nested_failure" in error["traceback"] and "in inner" in error["traceback"]
    assert "loop.py" not in error["traceback"]
    assert child.finish() == 0


def test_sys_exit_in_a_task_is_an_error_not_the_end_of_the_child(spawn):
    child = spawn(isolation="pool")
    child.recv()
    child.send(task_message("t-exit", "exits"))
    error = child.expect({"type": "error", "id": "t-exit", "error": "<any>"})["error"]
    assert error["type"] == "SystemExit" and error["message"] == "3"
    child.send(task_message("t-ok", "whoami"))
    child.expect({"type": "result", "id": "t-ok", "value": "<any>"})
    assert child.finish() == 0


def test_context_carries_the_envelope(spawn):
    child = spawn()
    child.recv()
    message = task_message(
        "t-ctx", "context", attempt=3, retries_left=2, deadline=4102444800000,
        soft_deadline=4102444790000, headers={"trace": "abc"}, queue="emails",
    )
    child.send(message)
    child.expect({"type": "result", "id": "t-ctx", "value": {
        "id": "t-ctx", "name": "context", "attempt": 3, "retries_left": 2,
        "deadline": 4102444800000, "soft_deadline": 4102444790000,
        "headers": {"trace": "abc"}, "queue": "emails", "active": True,
    }})
    child.send(task_message("t-ctx2", "context"))
    value = child.expect({"type": "result", "id": "t-ctx2", "value": "<any>"})["value"]
    assert value["deadline"] is None and value["soft_deadline"] is None and value["attempt"] == 1
    assert child.finish() == 0


def test_garbage_and_unknown_lines_are_skipped(spawn):
    child = spawn()
    child.recv()
    child.proc.stdin.write(b"this is not json\n[1,2]\n{\"type\":\"mystery\"}\n")
    child.proc.stdin.flush()
    child.send(task_message("t-1", "whoami"))
    child.expect({"type": "result", "id": "t-1", "value": "<any>"})
    assert child.finish() == 0
    assert "not JSON" in child.drain_stderr() and "mystery" in child.drain_stderr()


def test_malformed_args_are_a_protocol_error(spawn):
    child = spawn()
    child.recv()
    child.send(dict(task_message("t-bad", "whoami"), args={"not": "a list"}))
    child.expect({"type": "error", "id": "t-bad", "error": {
        "type": "ProtocolError", "message": "<any>", "traceback": "", "retryable": False}})
    assert child.finish() == 0


def test_unknown_isolation_is_refused(spawn):
    child = spawn(isolation="threads")
    wait_until(lambda: child.proc.poll() is not None, what="the child to exit")
    assert child.proc.returncode == 2
    assert "threads" in child.drain_stderr()


def test_a_result_longer_than_a_protocol_line_is_refused(spawn):
    child = spawn()
    child.recv()
    child.send(task_message("t-huge", "huge", [17]))
    error = child.expect({"type": "error", "id": "t-huge", "error": "<any>"})["error"]
    assert error["type"] == "ResultTooLarge" and error["retryable"] is False
    child.send(task_message("t-fits", "huge", [1]))
    assert len(child.expect({"type": "result", "id": "t-fits", "value": "<any>"})["value"]) == 1024 * 1024
    assert child.finish() == 0


def test_python_dash_m_imports_task_modules_and_serves():
    env = dict(os.environ, PYTHONPATH=str(SDK_DIR), STEM_ISOLATION="process")
    done = subprocess.run(
        [sys.executable, "-m", "stem_sdk", "vector_tasks"], cwd=str(FIXTURES), env=env,
        input=json.dumps(task_message("t-1", "add", [2, 3])) + "\n", capture_output=True, text=True, timeout=30,
    )
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert lines[0]["type"] == "hello" and "add" in lines[0]["tasks"]
    assert lines[1:] == [{"type": "result", "id": "t-1", "value": 5}]
