"""Times in a workflow's calls, as its `step` messages carry them: a duration (seconds, a
`timedelta`, or text like "500ms", "90s", "2d", and sums like "1h30m") in milliseconds, and
a point in time (`until`: a `datetime`, or epoch seconds) in epoch milliseconds."""

import datetime as _dt
import math
import re
from typing import Union

from .spec import Duration, seconds

#: A point in time: a `datetime` (a naive one is local time) or epoch seconds.
When = Union[_dt.datetime, int, float]

_PIECE = re.compile(r"(\d+(?:\.\d+)?)([a-z]+)")
_SUM = re.compile(r"(?:\d+(?:\.\d+)?[a-z]+){2,}")


def duration_seconds(value: Duration) -> float:
    """`value` in seconds. Text takes the SDK's one duration syntax (`spec.seconds`), and
    also a sum of such parts with no spaces between them: "1h30m", "2d12h", "1m30s"."""
    if isinstance(value, str) and _SUM.fullmatch(value.strip()):
        total = sum(_one(number + unit) for number, unit in _PIECE.findall(value.strip()))
    else:
        total = _one(value)
    if not math.isfinite(total):
        raise ValueError("a duration must be finite, got %r" % (value,))
    return total


def _one(value: Duration) -> float:
    parsed = seconds(value)
    if parsed is None:
        raise TypeError("a duration is seconds, a timedelta or text like \"90s\", got None")
    return parsed


def duration_ms(value: Duration) -> int:
    """`value` in whole milliseconds (rounded)."""
    return int(round(duration_seconds(value) * 1000))


def epoch_ms(value: When) -> int:
    """`value` (a `datetime`, naive meaning local time, or epoch seconds) in epoch milliseconds."""
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.astimezone()
        return int(round(value.timestamp() * 1000))
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("until is a datetime or epoch seconds, got %r" % (value,))
    if not math.isfinite(value):
        raise ValueError("until must be finite, got %r" % (value,))
    return int(round(value * 1000))
