"""Workflows beyond the shared transcripts: durations and `until` as the `sleep` op carries
them, the idempotency key outside a step, suspension that `except Exception` cannot swallow,
durable retries with a delay, not-retried failures, the `call` and `child` op shapes, matching
by name across versions, a stream that breaks the protocol, and the registry's side."""

import datetime as dt

import pytest

from conftest import task_message
from stem_sdk import Registry, StepFailed
from stem_sdk.registry import Workflow
from stem_sdk.workflow_time import duration_ms, epoch_ms

HELLO = {"type": "hello", "protocol": 1, "sdk": "<any>", "tasks": "<any>", "pipeline": 32}


def resume(task_id, name, args=(), journal=(), version=1, code_version=1, run=None):
    """A `wf:NAME` task line carrying its run."""
    run = run or task_id.split(".")[0]
    workflow = {"run": run, "name": name, "version": version, "code_version": code_version,
                "now": 1700000000000, "journal": list(journal)}
    return task_message(task_id, "wf:" + name, args, queue="workflows", workflow=workflow)


def step(task_id, index, name, op, **fields):
    message = {"type": "step", "id": task_id, "index": index, "name": name, "op": op}
    message.update(fields)
    return message


def ack(task_id, index, suspended=False):
    message = {"type": "step_ack", "id": task_id, "index": index, "ok": True}
    if suspended:
        message["suspended"] = True
    return message


def suspended_result(task_id):
    return {"type": "result", "id": task_id, "value": None}


@pytest.fixture
def child(spawn):
    c = spawn("workflow_tasks.py")
    hello = c.expect(HELLO)
    assert "wf:nap" in hello["tasks"] and "plain" in hello["tasks"]
    return c


# Durations and points in time.


def test_durations_in_milliseconds():
    assert duration_ms(90) == 90_000
    assert duration_ms(0.25) == 250
    assert duration_ms("500ms") == 500
    assert duration_ms("90s") == 90_000
    assert duration_ms("2d") == 172_800_000
    assert duration_ms("1h30m") == 5_400_000
    assert duration_ms("1m30s") == 90_000
    assert duration_ms("2d12h") == 216_000_000
    assert duration_ms(dt.timedelta(minutes=2)) == 120_000
    for bad in ("soon", "1h30x", "-5s", -1, True, float("inf")):
        with pytest.raises((ValueError, TypeError)):
            duration_ms(bad)


def test_points_in_time_in_epoch_milliseconds():
    assert epoch_ms(1700000100) == 1700000100000
    assert epoch_ms(1700000100.5) == 1700000100500
    aware = dt.datetime(2023, 11, 14, 22, 15, 0, tzinfo=dt.timezone.utc)
    assert epoch_ms(aware) == int(aware.timestamp()) * 1000
    naive = dt.datetime(2023, 11, 14, 22, 15, 0)
    assert epoch_ms(naive) == int(naive.astimezone().timestamp()) * 1000  # local time
    with pytest.raises(TypeError):
        epoch_ms("tomorrow")


@pytest.mark.parametrize("value, delay_ms", [("1h30m", 5_400_000), (90, 90_000), ("500ms", 500), ("2d", 172_800_000)])
def test_sleep_sends_its_duration_in_ms(child, value, delay_ms):
    child.send(resume("n-1.1", "nap", ["duration", value]))
    child.expect(step("n-1.1", 0, "nap", "sleep", delay_ms=delay_ms))
    child.send(ack("n-1.1", 0, suspended=True))
    child.expect(suspended_result("n-1.1"))
    assert child.finish() == 0


@pytest.mark.parametrize("how", ["until_epoch", "until_datetime", "until_naive"])
def test_sleep_until_sends_epoch_ms(child, how):
    child.send(resume("n-2.1", "nap", [how, 1700000100]))
    child.expect(step("n-2.1", 0, "nap", "sleep", until=1700000100000))
    child.send(ack("n-2.1", 0, suspended=True))
    child.expect(suspended_result("n-2.1"))
    assert child.finish() == 0


def test_sleep_done_returns_and_both_forms_at_once_are_refused(child):
    done = {"index": 0, "name": "nap", "kind": "sleep", "state": "done", "attempt": 1, "wake_at": 1}
    child.send(resume("n-3.2", "nap", ["duration", 5], journal=[done]))
    child.expect({"type": "result", "id": "n-3.2", "value": "woke"})
    child.send(resume("n-4.1", "nap", ["both", 5]))
    error = child.expect({"type": "error", "id": "n-4.1", "error": "<any>"})["error"]
    assert error["type"] == "TypeError" and "one of them" in error["message"]
    assert child.finish() == 0


# The idempotency key and suspension.


def test_idempotency_key_outside_a_step_is_an_error(child):
    child.send(resume("k-1.1", "keyless"))
    error = child.expect({"type": "error", "id": "k-1.1", "error": "<any>"})["error"]
    assert error["type"] == "RuntimeError" and "idempotency_key" in error["message"]
    assert child.finish() == 0


@pytest.mark.parametrize("broad", [False, True])
def test_code_that_catches_the_suspension_runs_no_further(child, broad):
    child.send(resume("s-1.1", "swallow", [broad]))
    child.expect(step("s-1.1", 0, "nap", "sleep", delay_ms=1000))
    child.send(ack("s-1.1", 0, suspended=True))
    # `except Exception` never sees it; code that catches BaseException and returns still
    # ends the resume suspended, not with its own value.
    child.expect(suspended_result("s-1.1"))
    assert child.finish() == 0


def test_a_refused_suspending_op_ends_the_resume_with_the_acks_error(child):
    child.send(resume("s-2.1", "swallow", [True]))
    child.expect(step("s-2.1", 0, "nap", "sleep", delay_ms=1000))
    refusal = {"type": "Cancelled", "message": "run s-2 was cancelled", "traceback": "", "retryable": False}
    child.send({"type": "step_ack", "id": "s-2.1", "index": 0, "ok": False, "error": refusal})
    child.expect({"type": "error", "id": "s-2.1", "error": refusal})
    assert child.finish() == 0


# Steps: durable retries, failures that are not retried.


def test_a_retry_with_a_delay_suspends_and_the_next_resume_runs_the_next_attempt(child):
    err = {"type": "ValueError", "message": "failed with key r-1/flap/1", "traceback": "<any>", "retryable": True,
           "types": ["ValueError", "Exception", "BaseException"]}
    child.send(resume("r-1.1", "patient"))
    child.expect(step("r-1.1", 0, "flap", "start", attempt=1))
    child.expect(step("r-1.1", 0, "flap", "retry", attempt=1, error=err, delay_ms=30000))
    child.send(ack("r-1.1", 0, suspended=True))
    child.expect(suspended_result("r-1.1"))

    # The timer's resume: the entry is `retrying` at the next attempt.
    retrying = {"index": 0, "name": "flap", "kind": "step", "state": "retrying", "attempt": 2,
                "error": {"type": "ValueError", "message": "...", "traceback": "", "retryable": True}}
    child.send(resume("r-1.2", "patient", journal=[retrying]))
    child.expect(step("r-1.2", 0, "flap", "start", attempt=2))
    err2 = dict(err, message="failed with key r-1/flap/2")
    # The ack of a delayed retry suspends the run even when it does not say so.
    child.expect(step("r-1.2", 0, "flap", "retry", attempt=2, error=err2, delay_ms=30000))
    child.send(ack("r-1.2", 0))
    child.expect(suspended_result("r-1.2"))

    child.send(resume("r-1.3", "patient", journal=[dict(retrying, attempt=3)]))
    child.expect(step("r-1.3", 0, "flap", "start", attempt=3))
    err3 = dict(err, message="failed with key r-1/flap/3")
    child.expect(step("r-1.3", 0, "flap", "fail", attempt=3, error=err3))
    child.send(ack("r-1.3", 0))
    error = child.expect({"type": "error", "id": "r-1.3", "error": "<any>"})["error"]
    assert error["type"] == "StepFailed" and error["retryable"] is False
    assert error["message"] == 'step "flap" failed: ValueError: failed with key r-1/flap/3'
    assert child.finish() == 0


def test_a_fatal_step_is_not_retried(child):
    child.send(resume("f-1.1", "fatal_step"))
    child.expect(step("f-1.1", 0, "refuse", "start", attempt=1))
    fatal = {"type": "Fatal", "message": "never again", "traceback": "<any>", "retryable": False,
             "types": ["Fatal", "Exception", "BaseException"]}
    child.expect(step("f-1.1", 0, "refuse", "fail", attempt=1, error=fatal))
    child.send(ack("f-1.1", 0))
    child.expect({"type": "result", "id": "f-1.1", "value": {"type": "Fatal", "message": "never again", "step": "refuse"}})
    assert child.finish() == 0


def test_a_result_json_cannot_hold_fails_the_step_without_retries(child):
    child.send(resume("u-1.1", "unjsonable"))
    child.expect(step("u-1.1", 0, "set", "start", attempt=1))
    failed = child.expect(step("u-1.1", 0, "set", "fail", attempt=1, error="<any>"))
    assert failed["error"]["type"] == "TypeError" and failed["error"]["retryable"] is False
    child.send(ack("u-1.1", 0))
    child.expect({"type": "result", "id": "u-1.1", "value": "TypeError"})
    assert child.finish() == 0


def test_a_workflow_call_inside_a_step_fails_the_step(child):
    child.send(resume("i-1.1", "nested"))
    child.expect(step("i-1.1", 0, "outer", "start", attempt=1))
    failed = child.expect(step("i-1.1", 0, "outer", "fail", attempt=1, error="<any>"))
    assert "inside a step" in failed["error"]["message"]
    child.send(ack("i-1.1", 0))
    child.expect({"type": "result", "id": "i-1.1", "value": "RuntimeError"})
    assert child.finish() == 0


# Calls, children, events: op shapes and recorded outcomes.


def test_call_options_hold_only_what_is_given(child):
    child.send(resume("c-1.1", "caller_options", ["all"]))
    options = {"queue": "node", "priority": 3, "max_retries": 2, "time_limit": 90, "countdown": 2.5}
    child.expect(step("c-1.1", 0, "invoice", "call", task="render", args=[1], kwargs={"lang": "fr"}, options=options))
    child.send(ack("c-1.1", 0, suspended=True))
    child.expect(suspended_result("c-1.1"))
    child.send(resume("c-2.1", "caller_options", ["none"]))
    child.expect(step("c-2.1", 0, "render", "call", task="render", args=[], kwargs={}))
    child.send(ack("c-2.1", 0, suspended=True))
    child.expect(suspended_result("c-2.1"))
    assert child.finish() == 0


def test_start_child_op_and_its_recorded_outcomes(child):
    child.send(resume("p-1.1", "parent"))
    child.expect(step("p-1.1", 0, "sub", "child", workflow="refund", args=["o-1"], kwargs={"full": True}))
    child.send(ack("p-1.1", 0, suspended=True))
    child.expect(suspended_result("p-1.1"))
    # Still waiting: the op is sent again.
    waiting = {"index": 0, "name": "sub", "kind": "child", "state": "waiting", "attempt": 1, "target": "p-1:0"}
    child.send(resume("p-1.2", "parent", journal=[waiting]))
    child.expect(step("p-1.2", 0, "sub", "child", workflow="refund", args=["o-1"], kwargs={"full": True}))
    child.send(ack("p-1.2", 0, suspended=True))
    child.expect(suspended_result("p-1.2"))
    child.send(resume("p-1.3", "parent", journal=[dict(waiting, state="done", result={"refunded": 7})]))
    child.expect({"type": "result", "id": "p-1.3", "value": {"child": {"refunded": 7}}})
    error = {"type": "Failed", "message": "the card was gone", "traceback": "", "retryable": True}
    child.send(resume("p-2.3", "parent", journal=[dict(waiting, state="failed", error=error)]))
    child.expect({"type": "result", "id": "p-2.3", "value": {"failed": "Failed", "message": "the card was gone"}})
    assert child.finish() == 0


def test_wait_without_timeout_and_its_event(child):
    child.send(resume("w-1.1", "waiter"))
    child.expect(step("w-1.1", 0, "shipped", "wait", topic="shipment.o-1"))
    child.send(ack("w-1.1", 0, suspended=True))
    child.expect(suspended_result("w-1.1"))
    done = {"index": 0, "name": "shipped", "kind": "event", "state": "done", "attempt": 1,
            "result": {"tracking": "T9"}, "topic": "shipment.o-1"}
    child.send(resume("w-1.2", "waiter", journal=[done]))
    child.expect({"type": "result", "id": "w-1.2", "value": {"timed_out": False, "payload": {"tracking": "T9"}}})
    assert child.finish() == 0


# Versions.


def entry(index, name, result):
    return {"index": index, "name": name, "kind": "step", "state": "done", "attempt": 1, "result": result}


def test_when_versions_differ_entries_match_by_name_and_new_calls_go_after_the_last(child):
    journal = [entry(0, "b", "B then"), entry(1, "tick", "tick 1"), entry(2, "old", "gone"),
               entry(3, "a", "A then"), entry(4, "tick", "tick 2")]
    child.send(resume("v-1.3", "renamed", journal=journal, version=1, code_version=2))
    child.expect(step("v-1.3", 5, "new", "start", attempt=1))
    child.expect(step("v-1.3", 5, "new", "done", attempt=1, result="new"))
    child.send(ack("v-1.3", 5))
    child.expect({"type": "result", "id": "v-1.3", "value": ["A then", "new", ["tick 1", "tick 2"], "B then"]})
    assert child.finish() == 0


def test_under_one_version_another_name_is_nondeterminism(child):
    child.send(resume("v-2.3", "renamed", journal=[entry(0, "b", "B then")], version=2, code_version=2))
    error = child.expect({"type": "error", "id": "v-2.3", "error": "<any>"})["error"]
    assert error["type"] == "Nondeterminism" and error["retryable"] is False
    assert error["message"] == 'step 0 was "b" when recorded, the code now asks for "a"'
    assert child.finish() == 0


# The stream and the isolation.


def test_a_line_that_is_not_the_ack_ends_the_child(child):
    child.send(resume("x-1.1", "nap", ["duration", 5]))
    child.expect(step("x-1.1", 0, "nap", "sleep", delay_ms=5000))
    child.send({"type": "task", "id": "x-2.1", "name": "plain", "args": [], "kwargs": {}})
    assert child.recv() is None  # nothing more on stdout
    assert child.proc.wait(10) == 1
    assert "expected the step_ack of step 0" in child.drain_stderr()


def test_an_ack_for_another_step_ends_the_child(child):
    child.send(resume("x-3.1", "nap", ["duration", 5]))
    child.expect(step("x-3.1", 0, "nap", "sleep", delay_ms=5000))
    child.send(ack("x-3.1", 1, suspended=True))
    assert child.recv() is None
    assert child.proc.wait(10) == 1


def test_a_workflow_without_its_run_is_a_protocol_error(child):
    child.send(task_message("x-4.1", "wf:nap", ["duration", 5]))
    error = child.expect({"type": "error", "id": "x-4.1", "error": "<any>"})["error"]
    assert error["type"] == "ProtocolError" and error["retryable"] is False
    child.send(task_message("x-5.1", "plain"))
    child.expect({"type": "result", "id": "x-5.1", "value": "plain"})  # still serving
    assert child.finish() == 0


def test_the_fork_server_refuses_workflows(spawn):
    c = spawn("workflow_tasks.py", isolation="forkserver")
    c.expect({k: v for k, v in HELLO.items() if k != "pipeline"})  # no writing ahead to a fork server
    c.send(resume("fs-1.1", "nap", ["duration", 5]))
    error = c.expect({"type": "error", "id": "fs-1.1", "error": "<any>"})["error"]
    assert error["type"] == "UnsupportedIsolation" and error["retryable"] is False
    c.send(task_message("fs-2.1", "plain"))
    c.expect({"type": "forked", "id": "fs-2.1", "pid": "<any>"})
    c.expect({"type": "result", "id": "fs-2.1", "value": "plain"})
    assert c.finish() == 0


# The registry's side.


def test_workflow_decorator_registers_the_wf_task():
    registry = Registry()

    @registry.workflow("checkout")
    def checkout(ctx, order):
        return order

    @registry.workflow
    def refund(ctx):
        return None

    assert registry.names() == ["wf:checkout", "wf:refund"]
    registered = registry.get("wf:checkout")
    assert isinstance(registered, Workflow) and registered.fn is checkout and registered.name == "checkout"
    assert checkout(None, 7) == 7  # the function is returned unchanged
    registry.workflow("checkout")(checkout)  # the same function again is no conflict
    with pytest.raises(ValueError, match="already registered"):
        registry.workflow("checkout")(lambda ctx: None)


def test_async_workflows_are_refused():
    registry = Registry()

    async def checkout(ctx):
        return None

    with pytest.raises(TypeError, match="async"):
        registry.workflow("checkout")(checkout)


def test_step_failed_carries_the_recorded_error():
    e = StepFailed.from_error("charge", {"type": "CardDeclined", "message": "no funds", "traceback": "tb"})
    assert (e.step, e.type, e.message, e.traceback) == ("charge", "CardDeclined", "no funds", "tb")
    assert str(e) == 'step "charge" failed: CardDeclined: no funds'
