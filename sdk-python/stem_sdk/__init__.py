"""Stem's Python SDK.

Task side (stdlib only; runs inside the child process the Stem worker starts)::

    from stem_sdk import task, run, current

    @task("add")
    def add(a, b):
        current.progress({"step": 1})
        return a + b

    if __name__ == "__main__":
        run()

Durable workflows (`stem_sdk.workflow`): `@workflow("checkout")` serves the task
`wf:checkout`, replaying the function with a `WorkflowContext` on every resume::

    from stem_sdk import workflow

    @workflow("checkout")
    def checkout(ctx, order):
        charge = ctx.step("charge", charge_card, order)
        ctx.sleep("cool_off", "2d")
        return charge

Producer side: `stem_sdk.Client` (and `stem_sdk.aio.AsyncClient`), which speaks the
HTTP API of `stem serve`, or runs the `stem` CLI when no API URL is given; and the canvas
builders (`signature`, `chain`, `group`, `chord`; `stem_sdk.canvas`)::

    from stem_sdk import chord, signature

    print(chord([signature("add", 1, 2), signature("add", 3, 4)], signature("tsum")).submit().get())

Workflow runs from the producer side: `Client().start_workflow("checkout", [order])` returns a
`WorkflowRun` (`.get(timeout)`, `.cancel()`, `.rewind(step)`); `Client().emit(topic, payload)`
resumes the runs waiting on a topic (`stem_sdk.workflow_client`)::

    from stem_sdk import Client

    client = Client()
    run = client.start_workflow("checkout", [{"id": "o-7"}], id="checkout-o-7")
    client.emit("shipment.o-7", {"tracking": "T-1"})
    print(run.get(timeout=60))
"""

from typing import TYPE_CHECKING, Any

from .context import TaskContext, current
from .errors import Fatal, Nondeterminism, Retry, SoftTimeLimitExceeded, StepFailed
from .loop import PROTOCOL_VERSION, SDK_VERSION, run
from .registry import Registry, default_registry, task
from .workflow import Event, WorkflowContext, workflow

if TYPE_CHECKING:
    from .canvas import CanvasResult, chain, chord, group, signature
    from .client import AsyncResult, Client
    from .producer_errors import (ApiError, InvalidTask, RunNotFound, StemCliError, StemError, StemWarning,
                                  TaskFailed, TaskNotFound, TaskTimeout, UnknownTask, UnknownWorkflow,
                                  WorkflowFailed, WorkflowTimeout)
    from .workflow_client import WorkflowRun

__version__ = SDK_VERSION

# The producer side (the HTTP client, canvas builders) is imported on first use: a task child
# never needs it, and `http.client`, `ssl` and `email` would double its start-up time.
_LAZY = {
    "CanvasResult": "canvas",
    "chain": "canvas",
    "chord": "canvas",
    "group": "canvas",
    "signature": "canvas",
    "AsyncResult": "client",
    "Client": "client",
    "ApiError": "producer_errors",
    "StemCliError": "producer_errors",
    "StemError": "producer_errors",
    "StemWarning": "producer_errors",
    "InvalidTask": "producer_errors",
    "TaskFailed": "producer_errors",
    "TaskNotFound": "producer_errors",
    "TaskTimeout": "producer_errors",
    "UnknownTask": "producer_errors",
    "RunNotFound": "producer_errors",
    "UnknownWorkflow": "producer_errors",
    "WorkflowFailed": "producer_errors",
    "WorkflowTimeout": "producer_errors",
    "WorkflowRun": "workflow_client",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError("module 'stem_sdk' has no attribute %r" % (name,))
    import importlib

    value = getattr(importlib.import_module("." + module, __name__), name)
    globals()[name] = value
    return value

__all__ = [
    "ApiError",
    "AsyncResult",
    "Event",
    "Nondeterminism",
    "StepFailed",
    "WorkflowContext",
    "workflow",
    "CanvasResult",
    "Client",
    "StemCliError",
    "StemError",
    "StemWarning",
    "InvalidTask",
    "TaskNotFound",
    "TaskTimeout",
    "UnknownTask",
    "Fatal",
    "PROTOCOL_VERSION",
    "Registry",
    "Retry",
    "SoftTimeLimitExceeded",
    "TaskContext",
    "TaskFailed",
    "RunNotFound",
    "UnknownWorkflow",
    "WorkflowFailed",
    "WorkflowRun",
    "WorkflowTimeout",
    "chain",
    "chord",
    "current",
    "default_registry",
    "group",
    "run",
    "signature",
    "task",
    "__version__",
]
