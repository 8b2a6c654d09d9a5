"""The soft time limit: a handler for `STEM_SOFT_SIGNAL` (default SIGUSR1) that raises
`SoftTimeLimitExceeded` in the running task, and does nothing between tasks.

While a protocol line is being written the exception is held back and raised right
after, so a signal never cuts a line in half."""

import signal
from contextlib import contextmanager
from types import FrameType
from typing import Iterator, Optional

from .errors import SoftTimeLimitExceeded

DEFAULT_SIGNAL = "SIGUSR1"


def parse_signal(name: Optional[str]) -> int:
    """`SIGUSR1`, `USR1` or a number, as a signal number."""
    text = (name or DEFAULT_SIGNAL).strip().upper()
    if text.isdigit():
        return int(text)
    if not text.startswith("SIG"):
        text = "SIG" + text
    try:
        return int(getattr(signal.Signals, text))
    except AttributeError:
        raise ValueError("STEM_SOFT_SIGNAL names no signal: %r" % (name,)) from None


class SoftLimit:
    """Whether a task is running, and whether the soft signal came while a line was
    being written."""

    def __init__(self) -> None:
        self.signum: Optional[int] = None
        self._armed = False
        self._writing = False
        self._pending = False

    def install(self, name: Optional[str] = None) -> None:
        self.signum = parse_signal(name)
        signal.signal(self.signum, self._on_signal)

    def _on_signal(self, signum: int, frame: Optional[FrameType]) -> None:
        if not self._armed:
            return
        if self._writing:
            self._pending = True
            return
        raise SoftTimeLimitExceeded()

    @contextmanager
    def armed(self) -> Iterator[None]:
        """The task body: the soft signal raises in here."""
        self._pending = False
        self._armed = True
        try:
            yield
        finally:
            self._armed = False
            self._pending = False

    @contextmanager
    def writing(self) -> Iterator[None]:
        """A protocol write: the soft signal waits until the line is out."""
        was_writing = self._writing
        self._writing = True
        try:
            yield
        finally:
            self._writing = was_writing
        if not was_writing and self._pending and self._armed:
            self._pending = False
            raise SoftTimeLimitExceeded()


soft_limit = SoftLimit()
