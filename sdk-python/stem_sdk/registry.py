"""The task registry: `@task` records functions by name so the serve loop can look
them up when a `task` line names one; `@workflow` records a workflow's function as the
task `wf:NAME` that runs its resumes."""

import inspect
from typing import Any, Callable, Dict, List, Optional, TypeVar, Union, overload

F = TypeVar("F", bound=Callable[..., Any])

#: A workflow's resumes are deliveries of the task `wf:NAME`.
WORKFLOW_PREFIX = "wf:"


class Workflow:
    """A registered workflow: its name and its function, called `fn(ctx, *args, **kwargs)`.
    The serve loop runs it with a `WorkflowContext` instead of calling it as a task."""

    __slots__ = ("name", "fn")

    def __init__(self, name: str, fn: Callable[..., Any]) -> None:
        self.name = name
        self.fn = fn

    @property
    def task_name(self) -> str:
        return WORKFLOW_PREFIX + self.name

    def __call__(self, ctx: Any, *args: Any, **kwargs: Any) -> Any:
        return self.fn(ctx, *args, **kwargs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workflow) and other.name == self.name and other.fn is self.fn

    def __hash__(self) -> int:
        return hash((self.name, id(self.fn)))

    def __repr__(self) -> str:
        return "<Workflow %s %s>" % (self.name, _where(self.fn))


class Registry:
    """Task names mapped to the functions that run them."""

    def __init__(self) -> None:
        self._tasks: Dict[str, Callable[..., Any]] = {}

    def add(self, name: str, fn: F) -> F:
        if not isinstance(name, str) or not name:
            raise ValueError("a task name must be a non-empty string, got %r" % (name,))
        existing = self._tasks.get(name)
        if existing is not None and existing != fn:
            raise ValueError("a task named %r is already registered (%s)" % (name, _where(existing)))
        self._tasks[name] = fn
        return fn

    def get(self, name: Any) -> Optional[Callable[..., Any]]:
        return self._tasks.get(name) if isinstance(name, str) else None

    def names(self) -> List[str]:
        return sorted(self._tasks)

    def __contains__(self, name: object) -> bool:
        return name in self._tasks

    def __len__(self) -> int:
        return len(self._tasks)

    @overload
    def task(self, name_or_fn: F, *, name: Optional[str] = None) -> F: ...

    @overload
    def task(self, name_or_fn: Optional[str] = None, *, name: Optional[str] = None) -> Callable[[F], F]: ...

    def task(self, name_or_fn: Union[str, F, None] = None, *, name: Optional[str] = None) -> Union[F, Callable[[F], F]]:
        """Register a function as a task: `@task`, `@task()`, `@task("add")` or
        `@task(name="add")`. The function is returned unchanged."""
        if callable(name_or_fn):
            return self.add(name or name_or_fn.__name__, name_or_fn)
        chosen = name_or_fn if name_or_fn is not None else name

        def register(fn: F) -> F:
            return self.add(chosen or fn.__name__, fn)

        return register

    @overload
    def workflow(self, name_or_fn: F, *, name: Optional[str] = None) -> F: ...

    @overload
    def workflow(self, name_or_fn: Optional[str] = None, *, name: Optional[str] = None) -> Callable[[F], F]: ...

    def workflow(self, name_or_fn: Union[str, F, None] = None, *,
                 name: Optional[str] = None) -> Union[F, Callable[[F], F]]:
        """Register a workflow: `@workflow("checkout")` (also bare, `()` or `name=`) serves
        the task `wf:checkout`, calling the function `fn(ctx, *args, **kwargs)` with a
        `WorkflowContext`. The function is returned unchanged. Workflows are plain (sync)
        functions: the serve loop runs no coroutines."""
        if callable(name_or_fn):
            return self._add_workflow(name or name_or_fn.__name__, name_or_fn)
        chosen = name_or_fn if name_or_fn is not None else name

        def register(fn: F) -> F:
            return self._add_workflow(chosen or fn.__name__, fn)

        return register

    def _add_workflow(self, name: str, fn: F) -> F:
        if not isinstance(name, str) or not name:
            raise ValueError("a workflow name must be a non-empty string, got %r" % (name,))
        if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
            raise TypeError(
                "workflow %r is an async function: the serve loop runs workflows as plain "
                "functions (write it with def, not async def)" % (name,)
            )
        self.add(WORKFLOW_PREFIX + name, Workflow(name, fn))
        return fn


def _where(fn: Any) -> str:
    if isinstance(fn, Workflow):
        fn = fn.fn
    return "%s.%s" % (getattr(fn, "__module__", "?"), getattr(fn, "__qualname__", repr(fn)))


default_registry = Registry()
task = default_registry.task
workflow = default_registry.workflow
