"""Schedule helpers of the producer (`Client.schedule`, `.schedules`, `.unschedule`): they
run the `stem schedule` commands through the CLI transport, since schedules have no HTTP
route. `schedule` writes a one-schedule TOML file and runs `stem schedule apply FILE --json`;
the CLI checks it (the task against the manifest, the cron, the time zone) and a refusal is
a `StemCliError` naming the field. An API client needs the `stem` binary for these too, and
`broker=`/`backend=` (or `STEM_BROKER_URL`) naming the same store as the server."""

import datetime as _dt
import json
import os
import tempfile
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .cli import CliTransport

__all__ = ["schedule", "schedules", "unschedule", "schedule_toml"]

Duration = Union[str, int, float]
PathLike = Union[str, "os.PathLike[str]"]


def schedule_toml(id: str, task: str, *, every: Optional[Duration] = None, cron: Optional[str] = None,
                  timezone: Optional[str] = None, at: Union[str, _dt.datetime, None] = None,
                  anchor: Optional[str] = None, args: Optional[Sequence[Any]] = None,
                  kwargs: Optional[Mapping[str, Any]] = None, queue: Optional[str] = None,
                  priority: Optional[int] = None, headers: Optional[Mapping[str, str]] = None,
                  enabled: Optional[bool] = None, jitter: Optional[Duration] = None,
                  expires: Optional[Duration] = None, catch_up: Optional[str] = None,
                  max_catch_up: Optional[int] = None) -> str:
    """The `[schedules."ID"]` table `stem schedule apply` reads; fields left `None` are left out."""
    fields: List[Tuple[str, Any]] = [
        ("task", task), ("every", every), ("cron", cron), ("timezone", timezone),
        ("at", at.isoformat() if isinstance(at, _dt.datetime) else at), ("anchor", anchor),
        ("args", None if args is None else list(args)), ("kwargs", kwargs), ("queue", queue),
        ("priority", priority), ("headers", headers), ("enabled", enabled), ("jitter", jitter),
        ("expires", expires), ("catch_up", catch_up), ("max_catch_up", max_catch_up),
    ]
    text = "[schedules.%s]\n" % _toml_string(str(id))
    return text + "".join("%s = %s\n" % (k, _toml_value(v)) for k, v in fields if v is not None)


def schedule(cli: CliTransport, id: str, task: str, *, manifest: Optional[PathLike] = None,
             **fields: Any) -> Dict[str, Any]:
    """Create or update schedule `id` firing `task`; returns what `stem schedule apply` did
    (`{"created": [...], "updated": [...], "unchanged": [...], "pruned": [...]}`)."""
    text = schedule_toml(id, task, **fields)
    fd, path = tempfile.mkstemp(suffix=".toml", prefix="stem-schedule-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        argv = ["schedule", "apply", path]
        if manifest is not None:
            argv += ["--manifest", os.fspath(manifest)]
        return cli.run(argv)
    finally:
        os.unlink(path)


def schedules(cli: CliTransport) -> List[Dict[str, Any]]:
    """Every stored schedule with its state (`stem schedule list --json`)."""
    return cli.run_list(["schedule", "list"])


def unschedule(cli: CliTransport, id: str) -> Dict[str, Any]:
    """Delete schedule `id` (`stem schedule delete ID --yes --json`)."""
    return cli.run(["schedule", "delete", str(id), "--yes"])


def _toml_string(s: str) -> str:
    # A JSON string is a TOML basic string, once non-ASCII is kept as is (JSON would write
    # astral characters as surrogate pairs, which TOML refuses) and DEL is escaped.
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_value(v: Any) -> str:
    """A TOML value for a schedule field: strings, numbers, booleans, arrays, tables."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, _dt.datetime):
        return _toml_string(v.isoformat())
    if isinstance(v, (list, tuple)):
        return "[%s]" % ", ".join(_toml_value(x) for x in v)
    if isinstance(v, Mapping):
        return "{%s}" % ", ".join("%s = %s" % (_toml_string(str(k)), _toml_value(x)) for k, x in v.items())
    raise TypeError("cannot write %r into a schedule (TOML has no null)" % (v,))
