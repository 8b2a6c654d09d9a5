"""The running task's context: `current` reads like Celery's `self.request` (id, name,
attempt, retries_left, deadline, soft_deadline, headers, traceparent) and adds `progress()`,
`heartbeat()` and `log()`, which write protocol lines for the task."""


class TaskContext:
    """One task's envelope fields plus the calls that report on it."""

    def __init__(self, message, channel):
        self._channel = channel
        self.id = message["id"]
        self.name = message.get("name")
        self.args = list(message.get("args") or [])
        self.kwargs = dict(message.get("kwargs") or {})
        self.queue = message.get("queue")
        self.attempt = message.get("attempt", 1)
        self.retries_left = message.get("retries_left", 0)
        self.deadline = message.get("deadline")  # epoch ms of the hard limit, or None
        self.soft_deadline = message.get("soft_deadline")  # epoch ms of the soft limit, or None
        self.headers = dict(message.get("headers") or {})
        # The span this task's own work hangs under (set while it runs; see stem_sdk.trace).
        self.traceparent = None

    def progress(self, value):
        """Report progress: any JSON value, e.g. `{"current": 3, "total": 10}`."""
        self._channel.send({"type": "progress", "id": self.id, "progress": value})

    def heartbeat(self):
        """Tell the supervisor the task is alive."""
        self._channel.send({"type": "heartbeat", "id": self.id})

    def log(self, message, level="info"):
        """Send a log line to the supervisor's log, tagged with this task's id."""
        self._channel.send({"type": "log", "id": self.id, "level": str(level), "message": str(message)})

    def __repr__(self):
        return "<TaskContext %s id=%s attempt=%s>" % (self.name, self.id, self.attempt)


_active = None


def activate(ctx):
    """Make `ctx` the current task's context (None between tasks)."""
    global _active
    _active = ctx


class _Current:
    """Proxy to the running task's context; falsy between tasks. Reading a field
    outside a task raises RuntimeError."""

    __slots__ = ()

    def _get(self):
        if _active is None:
            raise RuntimeError("stem_sdk.current is only available while a task runs")
        return _active

    def __getattr__(self, attr):
        return getattr(self._get(), attr)

    def __bool__(self):
        return _active is not None

    def __repr__(self):
        return repr(_active) if _active is not None else "<no current task>"


current = _Current()
