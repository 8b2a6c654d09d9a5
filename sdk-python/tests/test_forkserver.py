"""Fork-server isolation against a real server: each task runs in its own fork that
leads its own process group, `forked` comes before the fork's lines, a fork that dies
without answering is reported as `ChildExited`, and no zombie is left behind."""

import os
import signal

from conftest import task_message, wait_until


def children_of(pid):
    """(pid, state) of every process whose parent is `pid`, from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            found.append((int(entry), fields[0]))
    return found


def no_children_left(server_pid):
    """The server reaps each fork just after it exits: poll, with a deadline, until it has."""
    wait_until(lambda: children_of(server_pid) == [], what="the server to reap its forks")


def start(spawn):
    child = spawn(isolation="forkserver")
    child.expect({"type": "hello", "protocol": 1, "sdk": "<any>", "tasks": "<any>"})
    return child


def run_task(child, task_id, name, args=()):
    child.send(task_message(task_id, name, args))
    pid = child.expect({"type": "forked", "id": task_id, "pid": "<any>"})["pid"]
    return pid, child.recv()


def test_each_task_runs_in_its_own_fork_which_leads_its_own_group(spawn):
    child = start(spawn)
    pid1, answer1 = run_task(child, "t-1", "whoami")
    pid2, answer2 = run_task(child, "t-2", "whoami")
    assert answer1["type"] == answer2["type"] == "result"
    assert pid1 != pid2 and child.pid not in (pid1, pid2)
    assert answer1["value"] == {"pid": pid1, "pgid": pid1, "ppid": child.pid}
    assert answer2["value"] == {"pid": pid2, "pgid": pid2, "ppid": child.pid}
    no_children_left(child.pid)
    assert child.finish() == 0


def test_a_fork_killed_with_sigkill_is_child_exited_and_is_reaped(spawn):
    child = start(spawn)
    child.send(task_message("t-kill", "sleepy", [30]))
    pid = child.expect({"type": "forked", "id": "t-kill", "pid": "<any>"})["pid"]
    child.expect({"type": "progress", "id": "t-kill", "progress": "sleeping"})
    os.killpg(pid, signal.SIGKILL)  # the hard limit: the fork's whole group
    error = child.expect({"type": "error", "id": "t-kill", "error": "<any>"})["error"]
    assert error["type"] == "ChildExited"
    assert "SIGKILL" in error["message"] and str(pid) in error["message"]
    assert error["traceback"] == ""
    assert not os.path.exists("/proc/%d" % pid), "the killed fork was not reaped"
    no_children_left(child.pid)
    # The server keeps serving.
    _, answer = run_task(child, "t-next", "whoami")
    assert answer["type"] == "result"
    assert child.finish() == 0


def test_a_running_fork_dies_with_its_server(spawn):
    child = start(spawn)
    child.send(task_message("t-orphan", "sleepy", [30]))
    pid = child.expect({"type": "forked", "id": "t-orphan", "pid": "<any>"})["pid"]
    child.expect({"type": "progress", "id": "t-orphan", "progress": "sleeping"})
    os.kill(child.pid, signal.SIGKILL)  # the server dies (as it would with its worker)

    def gone():
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().split(")")[-1].split()[0] == "Z"
        except OSError:
            return True

    wait_until(gone, what="the fork to die with its server")


def test_a_fork_that_exits_without_answering_is_child_exited(spawn):
    child = start(spawn)
    _, answer = run_task(child, "t-die", "dies")
    assert answer["type"] == "error" and answer["error"]["type"] == "ChildExited"
    assert "exited with status 7" in answer["error"]["message"]
    no_children_left(child.pid)
    assert child.finish() == 0


def test_soft_limit_reaches_the_fork_and_not_the_server(spawn):
    child = start(spawn)
    child.send(task_message("t-soft", "sleepy", [30]))
    pid = child.expect({"type": "forked", "id": "t-soft", "pid": "<any>"})["pid"]
    child.expect({"type": "progress", "id": "t-soft", "progress": "sleeping"})
    os.killpg(pid, signal.SIGUSR1)
    result = child.expect({"type": "result", "id": "t-soft", "value": "<any>"}, timeout=5)
    assert result["value"] == {"partial": True, "pid": pid}
    wait_until(lambda: not os.path.exists("/proc/%d" % pid), what="the fork to be reaped")
    assert child.finish() == 0


def test_errors_unknown_tasks_and_prints_in_forks(spawn):
    child = start(spawn)
    _, answer = run_task(child, "t-err", "nested_failure")
    assert answer["error"]["type"] == "ValueError" and "in inner" in answer["error"]["traceback"]
    child.send(task_message("t-none", "nope"))  # answered by the server, no fork
    child.expect({"type": "error", "id": "t-none", "error": {
        "type": "UnknownTask", "message": "no task named 'nope' is registered",
        "traceback": "", "retryable": False}})
    _, answer = run_task(child, "t-noisy", "noisy")
    assert answer == {"type": "result", "id": "t-noisy", "value": "quiet"}
    assert child.finish() == 0
    assert "printed by the task" in child.drain_stderr()


def test_many_tasks_leave_no_zombie(spawn):
    child = start(spawn)
    pids = set()
    for i in range(50):
        pid, answer = run_task(child, "t-%d" % i, "whoami")
        assert answer["type"] == "result"
        pids.add(pid)
    assert len(pids) == 50
    no_children_left(child.pid)
    assert child.finish() == 0
