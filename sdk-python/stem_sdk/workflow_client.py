"""The producer side of durable workflows: `Client`'s methods to start runs, emit events,
list, cancel and rewind runs (`WorkflowProducer`, a base of `Client`), and `WorkflowRun`, the
handle on one run. They go through `stem serve` when the client has an API URL, else through
the `stem wf` CLI, with the same results and errors either way::

    from stem_sdk import Client

    client = Client()
    run = client.start_workflow("checkout", [{"id": "o-7"}], id="checkout-o-7")
    client.emit("shipment.o-7", {"tracking": "T-1"})     # {"resumed": 1, ...}
    print(run.get(timeout=60))                             # the run's result

A run that ends `failed`, `cancelled` or `timed_out` makes `get` raise `WorkflowFailed`; a
wait that runs out raises `WorkflowTimeout`; an unknown run id `RunNotFound`, an undeclared
workflow `UnknownWorkflow`.
"""

import time
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from .cli import CliTransport
from .http import HttpTransport
from .producer_errors import WorkflowFailed, WorkflowTimeout
from .spec import Duration, seconds
from .workflow_transport import FINAL_STATES, CliWorkflows, HttpWorkflows, check_state, start_body

__all__ = ["WorkflowProducer", "WorkflowRun"]


class WorkflowProducer:
    """The workflow calls of `Client` (it needs the client's `transport`)."""

    transport: Union[HttpTransport, CliTransport]

    def _workflows(self) -> Union[HttpWorkflows, CliWorkflows]:
        if isinstance(self.transport, HttpTransport):
            return HttpWorkflows(self.transport)
        return CliWorkflows(self.transport)

    def start_workflow(self, name: str, args: Sequence[Any] = (), kwargs: Optional[Mapping[str, Any]] = None, *,
                       id: Optional[str] = None, manifest: Optional[str] = None) -> "WorkflowRun":
        """Start a run of workflow `name` (declared in the manifest as `[workflows.NAME]`) and
        return its handle. With `id`, starting is idempotent: a second start with the same id
        starts nothing and returns the first run (`handle.created` is then False).
        `manifest`: the stem.toml the CLI reads (default: ./stem.toml in the client's `cwd`,
        or `STEM_MANIFEST`); `stem serve` uses its own. `args`/`kwargs` that are not JSON raise
        `TypeError`; an undeclared workflow `UnknownWorkflow`."""
        body = start_body(name, args, kwargs, id)
        started = self._workflows().start(name, body, manifest)
        return WorkflowRun(started["run"], self, started=started)

    def workflow_run(self, run_id: str) -> "WorkflowRun":
        """A handle on a run started earlier (here or elsewhere); nothing is read yet."""
        return WorkflowRun(run_id, self)

    def workflow_info(self, run_id: str, wait: Optional[float] = None) -> Dict[str, Any]:
        """The run with its `steps` (`{"id", "workflow", "state", "result"|"error", ...}`); with
        `wait`, waits up to that many seconds for it to end (it answers the run as it stands
        then). An unknown id raises `RunNotFound`."""
        return self._workflows().show(run_id, wait)

    def workflow_runs(self, state: Optional[str] = None, name: Optional[str] = None,
                      limit: int = 50) -> List[Dict[str, Any]]:
        """Runs, newest first, without their steps: only those in `state` (running, suspended,
        completed, failed, cancelled, timed_out) and of workflow `name` when given."""
        check_state(state)
        return self._workflows().list(state, name, limit)

    def workflow_waiters(self, topic: Optional[str] = None, limit: int = 100) -> List[Dict[str, Any]]:
        """The runs waiting for events (`{"topic", "run", "index", "deadline", "since"}`), of
        one `topic` when given."""
        return self._workflows().waiters(topic, limit)

    def emit(self, topic: str, payload: Any = None) -> Dict[str, Any]:
        """Emit an event: every run waiting on `topic` resumes with `payload` (any JSON).
        Returns `{"topic", "resumed": N, "runs": [...]}`; an event nobody waits for resumes
        nobody and is not kept (`resumed` is 0)."""
        return self._workflows().emit(topic, payload)

    def cancel_workflow(self, run_id: str) -> Dict[str, Any]:
        """End a live run `cancelled` (a step running now is stopped); returns the run. A run
        already ended raises `ApiError` (`workflow_conflict`) or `StemCliError`."""
        return self._workflows().cancel(run_id)

    def rewind_workflow(self, run_id: str, to: str) -> Dict[str, Any]:
        """Rewind a run to its first step named `to`: that step and every later one run again
        (the run is `suspended` until its resume runs); returns the run. A step the run does not
        have raises `ApiError` (`workflow_conflict`) or `StemCliError`, naming its steps."""
        return self._workflows().rewind(run_id, to)


class WorkflowRun:
    """A handle on one workflow run: `.id`, `.show()`, `.state`, `.wait()`, `.get()`,
    `.cancel()`, `.rewind(to)`. Every call reads the store again (a rewind may bring an
    ended run back)."""

    def __init__(self, run_id: str, client: WorkflowProducer, started: Optional[Dict[str, Any]] = None):
        self.id = run_id
        self.client = client
        #: What starting answered (`{"run", "workflow", "state", "created"}`), when started here.
        self.started = started or {"run": run_id}

    @property
    def created(self) -> bool:
        """False when a run with this id existed already: the start started nothing."""
        return bool(self.started.get("created", True))

    def show(self) -> Dict[str, Any]:
        """The run as it stands, with its steps."""
        return self.client.workflow_info(self.id)

    info = show

    @property
    def state(self) -> Optional[str]:
        state: Optional[str] = self.show().get("state")
        return state

    def ready(self) -> bool:
        """True once the run has ended (completed, failed, cancelled or timed out)."""
        return self.state in FINAL_STATES

    def wait(self, timeout: Optional[Duration] = None) -> Dict[str, Any]:
        """Waits for the run to end and returns it (with its steps); `WorkflowTimeout` after
        `timeout` seconds (`None`: no limit). A suspended run stays suspended until what it
        waits for comes: waiting does not resume it."""
        limit = seconds(timeout)
        deadline = None if limit is None else time.monotonic() + limit
        while True:
            left = 30.0 if deadline is None else deadline - time.monotonic()
            view = self.client.workflow_info(self.id, wait=max(left, 0.001))
            if view.get("state") in FINAL_STATES:
                return view
            if deadline is not None and time.monotonic() >= deadline:
                raise WorkflowTimeout(self.id, view.get("state"), limit)

    def get(self, timeout: Optional[Duration] = None, propagate: bool = True) -> Any:
        """The run's result once it completes. A run that ended `failed`, `cancelled` or
        `timed_out` raises `WorkflowFailed` (with `propagate=False`, returns the run instead)."""
        view = self.wait(timeout)
        if view["state"] != "completed":
            if propagate:
                raise WorkflowFailed(view)
            return view
        return view.get("result")

    def cancel(self) -> Dict[str, Any]:
        """`Client.cancel_workflow` of this run."""
        return self.client.cancel_workflow(self.id)

    def rewind(self, to: str) -> Dict[str, Any]:
        """`Client.rewind_workflow` of this run."""
        return self.client.rewind_workflow(self.id, to)

    def __repr__(self) -> str:
        return "<WorkflowRun %s>" % self.id
