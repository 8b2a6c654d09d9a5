"""The task spec a producer sends (`{"task", "args", "kwargs", ...}`), built from the same
options in both SDKs: `queue`, `countdown` (seconds, a `timedelta` or `"5s"`), `eta` (a
`datetime`, an RFC 3339 string or epoch milliseconds), `priority` (0-9), `max_retries`,
`headers`, `id`, `fair_key` (a tenant, say: within a queue and priority, keys are served
round-robin) and `fair_weight` (1-100). A task enqueued while a task runs (or with `TRACEPARENT` set) carries that
trace context in `headers["traceparent"]`."""

import datetime as _dt
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

from . import trace as _trace

Countdown = Union[int, float, str, _dt.timedelta]
#: A duration as every Stem flag and both SDKs take it: seconds, a `timedelta`, or text like
#: "500ms", "3s", "2m", "1h", "1d" (a bare number is seconds).
Duration = Union[int, float, str, _dt.timedelta]
Eta = Union[_dt.datetime, str, int]
TaskSpec = Dict[str, Any]

TERMINAL_STATES = ("success", "failure", "revoked", "expired", "skipped")


def check_wait(name: str, wait: bool, ignore_result: bool, in_transaction: bool) -> None:
    """Refuses a `wait` that cannot be kept: with `ignore_result` (no result to wait for) or in an
    application's transaction (`conn=`: the task is published only when it commits)."""
    if wait and ignore_result:
        raise ValueError("task %r: wait needs a result to wait for: not with ignore_result" % (name,))
    if wait and in_transaction:
        raise ValueError("wait=True with conn: the task is published when conn's transaction commits")


def task_spec(
    name: str,
    args: Sequence[Any] = (),
    kwargs: Optional[Mapping[str, Any]] = None,
    *,
    queue: Optional[str] = None,
    countdown: Optional[Countdown] = None,
    eta: Optional[Eta] = None,
    priority: Optional[int] = None,
    max_retries: Optional[int] = None,
    headers: Optional[Mapping[str, str]] = None,
    id: Optional[str] = None,
    unique_key: Optional[str] = None,
    unique_for: Optional[Countdown] = None,
    expires: Optional[Union[Countdown, _dt.datetime]] = None,
    time_limit: Optional[Duration] = None,
    soft_time_limit: Optional[Duration] = None,
    ignore_result: bool = False,
    fair_key: Optional[str] = None,
    fair_weight: Optional[int] = None,
) -> TaskSpec:
    """The JSON spec of one task; options left as `None` are not sent (server defaults).
    `time_limit` / `soft_time_limit` (seconds or text like "30s") may only lower the
    manifest's; `ignore_result` keeps no record of a success. `fair_key` (1 to 256 bytes) and
    `fair_weight` (1 to 100; a key of weight 3 gets three turns to one of weight 1): within a
    queue and priority, tasks with keys are served round-robin across keys. A weight without
    a key is sent as it is: the manifest's `fair_key` path may give the key (else the server
    refuses it)."""
    if countdown is not None and eta is not None:
        raise ValueError("give countdown or eta, not both")
    if isinstance(args, (str, bytes, bytearray)) or not isinstance(args, Iterable):
        raise TypeError(
            "task %r: args must be a list or tuple of arguments, got %s %r (for one argument "
            "write args=[%r])" % (name, type(args).__name__, args, args)
        )
    if kwargs is not None and not isinstance(kwargs, Mapping):
        raise TypeError("task %r: kwargs must be a mapping, got %s" % (name, type(kwargs).__name__))
    spec: TaskSpec = {"task": name, "args": list(args), "kwargs": dict(kwargs or {})}
    if queue is not None:
        spec["queue"] = queue
    if countdown is not None:
        spec["countdown"] = countdown.total_seconds() if isinstance(countdown, _dt.timedelta) else countdown
    if eta is not None:
        spec["eta"] = _eta(eta)
    if priority is not None:
        spec["priority"] = priority
    if max_retries is not None:
        spec["max_retries"] = max_retries
    traceparent = _trace.producer_traceparent(headers)
    if headers or traceparent:
        spec["headers"] = dict(headers or {})
        if traceparent:
            spec["headers"][_trace.HEADER] = traceparent
    if id is not None:
        spec["id"] = id
    if unique_key is not None:
        spec["unique_key"] = unique_key
    if unique_for is not None:
        spec["unique_for"] = unique_for.total_seconds() if isinstance(unique_for, _dt.timedelta) else unique_for
    if expires is not None:
        if isinstance(expires, _dt.datetime):
            spec["expires"] = _eta(expires)
        elif isinstance(expires, _dt.timedelta):
            spec["expires"] = f"{expires.total_seconds()}s"
        else:
            spec["expires"] = expires
    for field, limit in (("time_limit", time_limit), ("soft_time_limit", soft_time_limit)):
        value = seconds(limit)
        if value is not None:
            if value <= 0:
                raise ValueError("task %r: %s must be above 0 seconds, got %r" % (name, field, limit))
            spec[field] = value
    if ignore_result:
        spec["ignore_result"] = True
    if fair_key is not None:
        spec["fair_key"] = fair_key
    if fair_weight is not None:
        spec["fair_weight"] = fair_weight
    check_fair(name, spec)
    return spec


#: The longest fairness key, in bytes of UTF-8 (the envelope's limit).
MAX_FAIR_KEY_BYTES = 256
#: The largest fairness weight.
MAX_FAIR_WEIGHT = 100


def check_fair(name: str, spec: Mapping[str, Any]) -> None:
    """Refuses a spec's `fair_key` that is not a string of 1 to 256 bytes (UTF-8) and a
    `fair_weight` that is not an integer from 1 to 100, naming the task and the field."""
    key = spec.get("fair_key")
    if "fair_key" in spec:
        if not isinstance(key, str):
            raise TypeError("task %r: fair_key must be a string, got %s" % (name, type(key).__name__))
        try:
            size = len(key.encode("utf-8"))
        except UnicodeEncodeError:
            raise ValueError("task %r: fair_key is not valid UTF-8 (a lone surrogate)" % (name,)) from None
        if not 1 <= size <= MAX_FAIR_KEY_BYTES:
            raise ValueError("task %r: fair_key must be 1 to %d bytes of UTF-8, got %d"
                             % (name, MAX_FAIR_KEY_BYTES, size))
    weight = spec.get("fair_weight")
    if "fair_weight" in spec:
        if isinstance(weight, bool) or not isinstance(weight, int):
            raise TypeError("task %r: fair_weight must be an integer from 1 to %d, got %r"
                            % (name, MAX_FAIR_WEIGHT, weight))
        if not 1 <= weight <= MAX_FAIR_WEIGHT:
            raise ValueError("task %r: fair_weight must be from 1 to %d, got %d" % (name, MAX_FAIR_WEIGHT, weight))


_UNITS = {"": 1.0, "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
          "ms": 0.001, "msec": 0.001, "millisecond": 0.001, "milliseconds": 0.001,
          "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
          "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
          "d": 86400.0, "day": 86400.0, "days": 86400.0}


def seconds(value: Optional[Duration]) -> Optional[float]:
    """A duration in seconds (`None` stays `None`): the one syntax of the CLI and both SDKs."""
    if value is None:
        return None
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bool):
        raise TypeError("a duration is seconds or text like \"3s\", got %r" % (value,))
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError("a duration cannot be negative, got %r" % (value,))
        return float(value)
    text = str(value).strip()
    if text.startswith("-"):
        raise ValueError("a duration cannot be negative, got %r" % (value,))
    number = text.rstrip("abcdefghijklmnopqrstuvwxyz").strip()
    unit = text[len(number):].strip()
    try:
        amount = float(number)
    except ValueError:
        raise ValueError("invalid duration %r: expected e.g. \"500ms\", \"5s\", \"2m\"" % (value,)) from None
    if unit not in _UNITS:
        raise ValueError("invalid duration %r: unknown unit %r (use ms, s, m, h or d)" % (value, unit))
    if amount < 0:
        raise ValueError("a duration cannot be negative, got %r" % (value,))
    return amount * _UNITS[unit]


def _eta(eta: Eta) -> Union[str, int]:
    if isinstance(eta, _dt.datetime):
        if eta.tzinfo is None:
            eta = eta.astimezone()  # a naive datetime is local time
        return eta.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")
    return eta


def as_spec(item: Union[TaskSpec, Sequence[Any]]) -> TaskSpec:
    """A spec from a dict (already one) or a `(name, args[, kwargs])` tuple."""
    if isinstance(item, Mapping):
        spec = dict(item)
        check_fair(str(spec.get("task")), spec)
        return spec
    name, *rest = item
    return task_spec(name, *rest)


def chunks(items: Iterable[TaskSpec], size: int) -> Iterable[List[TaskSpec]]:
    batch: List[TaskSpec] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
