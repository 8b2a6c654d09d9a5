"""Durable workflows for `asyncio`: `AsyncClient`'s workflow methods (`AsyncWorkflowProducer`,
a base of `AsyncClient`) and `AsyncWorkflowRun`, the handle on one run, with the same names,
results and errors as `Client`'s (`stem_sdk.workflow_client`), over `stem serve`'s API::

    async with AsyncClient("http://127.0.0.1:8750") as client:
        run = await client.start_workflow("checkout", [{"id": "o-7"}], id="checkout-o-7")
        await client.emit("shipment.o-7", {"tracking": "T-1"})
        print(await run.get(timeout=60))
"""

import asyncio
from typing import Any, Dict, List, Mapping, Optional, Sequence

from .http import MAX_POLL
from .producer_errors import ApiError, WorkflowFailed, WorkflowTimeout
from .spec import Duration, seconds
from .workflow_transport import (FINAL_STATES, Request, api_error, cancel_request, check_state, emit_request,
                                 list_request, rewind_request, show_request, start_body, start_request,
                                 waiters_request)

__all__ = ["AsyncWorkflowProducer", "AsyncWorkflowRun"]


class AsyncWorkflowProducer:
    """The workflow calls of `AsyncClient` (it needs the client's `request` and `timeout`)."""

    timeout: float

    async def request(self, method: str, path: str, body: Any = None, timeout: Optional[float] = None) -> Any:
        raise NotImplementedError

    async def _send(self, request: Request, wait: Optional[float] = None) -> Any:
        try:
            return await self.request(request.method, request.path, request.body, timeout=self.timeout + (wait or 0))
        except ApiError as e:
            raise api_error(e) from None

    async def start_workflow(self, name: str, args: Sequence[Any] = (), kwargs: Optional[Mapping[str, Any]] = None,
                             *, id: Optional[str] = None) -> "AsyncWorkflowRun":
        """`Client.start_workflow`: start a run (idempotent with `id`) and return its handle."""
        body = start_body(name, args, kwargs, id)
        started: Dict[str, Any] = await self._send(start_request(name, body))
        return AsyncWorkflowRun(started["run"], self, started=started)

    def workflow_run(self, run_id: str) -> "AsyncWorkflowRun":
        """A handle on a run started earlier; nothing is read yet."""
        return AsyncWorkflowRun(run_id, self)

    async def workflow_info(self, run_id: str, wait: Optional[float] = None) -> Dict[str, Any]:
        """`Client.workflow_info`: the run with its steps; with `wait`, once it ends or when
        `wait` seconds pass."""
        wait = None if wait is None else min(wait, MAX_POLL)
        view: Dict[str, Any] = await self._send(show_request(run_id, wait), wait)
        return view

    async def workflow_runs(self, state: Optional[str] = None, name: Optional[str] = None,
                            limit: int = 50) -> List[Dict[str, Any]]:
        """`Client.workflow_runs`: runs, newest first, by `state` and workflow `name`."""
        check_state(state)
        runs: List[Dict[str, Any]] = (await self._send(list_request(state, name, limit)))["runs"]
        return runs

    async def workflow_waiters(self, topic: Optional[str] = None, limit: int = 100) -> List[Dict[str, Any]]:
        """`Client.workflow_waiters`: the runs waiting for events, of one `topic` when given."""
        waiters: List[Dict[str, Any]] = (await self._send(waiters_request(topic, limit)))["waiters"]
        return waiters

    async def emit(self, topic: str, payload: Any = None) -> Dict[str, Any]:
        """`Client.emit`: every run waiting on `topic` resumes with `payload`;
        `{"topic", "resumed": N, "runs": [...]}`."""
        emitted: Dict[str, Any] = await self._send(emit_request(topic, payload))
        return emitted

    async def cancel_workflow(self, run_id: str) -> Dict[str, Any]:
        """`Client.cancel_workflow`: end a live run `cancelled`; returns the run."""
        view: Dict[str, Any] = await self._send(cancel_request(run_id))
        return view

    async def rewind_workflow(self, run_id: str, to: str) -> Dict[str, Any]:
        """`Client.rewind_workflow`: run the step `to` and every later one again; the run."""
        view: Dict[str, Any] = await self._send(rewind_request(run_id, to))
        return view


class AsyncWorkflowRun:
    """`WorkflowRun` for asyncio: `await run.get(timeout)`, `await run.state()`."""

    def __init__(self, run_id: str, client: AsyncWorkflowProducer, started: Optional[Dict[str, Any]] = None):
        self.id = run_id
        self.client = client
        #: What starting answered (`{"run", "workflow", "state", "created"}`), when started here.
        self.started = started or {"run": run_id}

    @property
    def created(self) -> bool:
        """False when a run with this id existed already: the start started nothing."""
        return bool(self.started.get("created", True))

    async def show(self) -> Dict[str, Any]:
        """The run as it stands, with its steps."""
        return await self.client.workflow_info(self.id)

    info = show

    async def state(self) -> Optional[str]:
        """The run's state now (a coroutine, unlike `WorkflowRun.state`)."""
        state: Optional[str] = (await self.show()).get("state")
        return state

    async def ready(self) -> bool:
        return await self.state() in FINAL_STATES

    async def wait(self, timeout: Optional[Duration] = None) -> Dict[str, Any]:
        """Waits for the run to end and returns it; `WorkflowTimeout` after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        limit = seconds(timeout)
        deadline = None if limit is None else loop.time() + limit
        while True:
            left = 30.0 if deadline is None else deadline - loop.time()
            view = await self.client.workflow_info(self.id, wait=max(left, 0.001))
            if view.get("state") in FINAL_STATES:
                return view
            if deadline is not None and loop.time() >= deadline:
                raise WorkflowTimeout(self.id, view.get("state"), limit)

    async def get(self, timeout: Optional[Duration] = None, propagate: bool = True) -> Any:
        """The run's result once it completes; `WorkflowFailed` when it ended otherwise (with
        `propagate=False`, the run instead)."""
        view = await self.wait(timeout)
        if view["state"] != "completed":
            if propagate:
                raise WorkflowFailed(view)
            return view
        return view.get("result")

    async def cancel(self) -> Dict[str, Any]:
        return await self.client.cancel_workflow(self.id)

    async def rewind(self, to: str) -> Dict[str, Any]:
        return await self.client.rewind_workflow(self.id, to)

    def __repr__(self) -> str:
        return "<AsyncWorkflowRun %s>" % self.id
