"""The task registry: `@task` records functions by name so the serve loop can look
them up when a `task` line names one."""


class Registry:
    """Task names mapped to the functions that run them."""

    def __init__(self):
        self._tasks = {}

    def add(self, name, fn):
        if not isinstance(name, str) or not name:
            raise ValueError("a task name must be a non-empty string, got %r" % (name,))
        existing = self._tasks.get(name)
        if existing is not None and existing is not fn:
            raise ValueError("a task named %r is already registered (%s)" % (name, _where(existing)))
        self._tasks[name] = fn
        return fn

    def get(self, name):
        return self._tasks.get(name)

    def names(self):
        return sorted(self._tasks)

    def __contains__(self, name):
        return name in self._tasks

    def __len__(self):
        return len(self._tasks)

    def task(self, name_or_fn=None, *, name=None):
        """Register a function as a task: `@task`, `@task()`, `@task("add")` or
        `@task(name="add")`. The function is returned unchanged."""
        if callable(name_or_fn):
            return self.add(name or name_or_fn.__name__, name_or_fn)
        chosen = name_or_fn if name_or_fn is not None else name

        def register(fn):
            return self.add(chosen or fn.__name__, fn)

        return register


def _where(fn):
    return "%s.%s" % (getattr(fn, "__module__", "?"), getattr(fn, "__qualname__", repr(fn)))


default_registry = Registry()
task = default_registry.task
