"""How the serve loop runs one resume of a workflow (a `wf:NAME` task line with its
`workflow` field): the function replays with a `WorkflowContext`, and the resume ends with
the function's result, with `result` null when the run suspended, or with an `error` (the
function's, a refused step's, a `Nondeterminism`)."""

from typing import Any, Optional

from .context import TaskContext
from .errors import ErrorPayload, ProtocolBroken, error_payload, plain_error
from .lines import LineReader
from .loop import Channel, Message, Outcome, encode, result_line, traceback_from
from .registry import Workflow
from .softlimit import soft_limit
from .workflow import WorkflowContext
from .workflow_exchange import Exchange, Halt, Refused, Suspend
from .workflow_journal import check_entries


def check_run(run: Any) -> Optional[str]:
    """Why a task line's `workflow` field is not a run the SDK can replay, or None."""
    if not isinstance(run, dict):
        return "a workflow task needs its run in the `workflow` field (an object)"
    for key in ("run", "name"):
        if not isinstance(run.get(key), str) or not run[key]:
            return "workflow.%s must be a non-empty string" % key
    for key in ("version", "code_version"):
        if isinstance(run.get(key), bool) or not isinstance(run.get(key), int):
            return "workflow.%s must be an integer" % key
    return check_entries(run.get("journal"))


def run_workflow(wf: Workflow, task: TaskContext, message: Message, channel: Channel,
                 reader: Optional[LineReader]) -> Outcome:
    """Runs one resume: its `result` line, or the error payload of its failure."""
    run: Any = message.get("workflow")
    problem = check_run(run)
    if problem is not None:
        return plain_error("ProtocolError", "task %r: %s" % (task.name, problem), False)
    if reader is None:
        return plain_error(
            "UnsupportedIsolation",
            "workflow %r needs process or pool isolation: a step's ack is read from the child's stdin" % (wf.name,),
            False,
        )
    exchange = Exchange(channel, reader, task.id)
    ctx = WorkflowContext(task, run, exchange)
    failure: Optional[ErrorPayload] = None
    value: Any = None
    try:
        with soft_limit.armed():
            value = wf.fn(ctx, *task.args, **task.kwargs)
    except Halt:
        pass  # recorded by the exchange
    except (Exception, SystemExit) as exc:
        failure = error_payload(exc, traceback_from(exc, run_workflow))
    # What ended the resume wins over what the code did after (code that caught it).
    halted = exchange.halted
    if isinstance(halted, ProtocolBroken):
        raise halted
    if isinstance(halted, Suspend):
        return encode({"type": "result", "id": task.id, "value": None})
    if isinstance(halted, Refused):
        return halted.error
    if halted is not None:
        # The SDK's own verdict (as a supervisor's error): no type chain to match rules on.
        payload = error_payload(halted)
        payload.pop("types", None)
        return payload
    if failure is not None:
        return failure
    return result_line(task, value)
