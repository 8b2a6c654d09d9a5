"""What the `stem` CLI says on stderr, read for the CLI transport: its `note:` and `warning:`
lines become `StemWarning`s pointing at the caller's line (outside this package), and its
one-line reason for a failure is found among the rest (clap's usage hints, log lines)."""

import os
import sys
import warnings
from typing import List

from .producer_errors import StemWarning

#: The prefixes of the lines the CLI prints for the user while a command goes on.
PREFIXES = ("note:", "warning:")

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


def notes(stderr: str) -> List[str]:
    """The distinct `note:`/`warning:` lines of `stderr`, each without its prefix, in order."""
    found: List[str] = []
    for line in (stderr or "").splitlines():
        line = line.strip()
        for prefix in PREFIXES:
            if line.startswith(prefix):
                text = line[len(prefix):].strip()
                if text and text not in found:
                    found.append(text)
    return found


def warn_notes(stderr: str) -> None:
    """One `StemWarning` per distinct note of `stderr`."""
    texts = notes(stderr)
    if texts:
        level = _caller_level()
        for text in texts:
            warnings.warn(text, StemWarning, stacklevel=level)


def reason(stderr: str) -> str:
    """The CLI's one-line reason for a failure: its last `error:` line (clap follows it with
    usage hints), else the last line that is not a note; "" when it said nothing."""
    lines = [line.strip() for line in (stderr or "").splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith("error:"):
            return line
    rest = [line for line in lines if not line.startswith(PREFIXES)]
    return rest[-1] if rest else ""


def _caller_level() -> int:
    """The `stacklevel` (counted from `warn_notes`) of the first frame outside this package:
    the user's call, however deep the SDK's own calls went."""
    frame = sys._getframe(1)  # warn_notes's frame is level 1
    level = 1
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE_DIR):
        if frame.f_back is None:
            break
        frame = frame.f_back
        level += 1
    return level
