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

    def arm(self) -> None:
        """The task body starts: the soft signal raises from here on."""
        self._pending = False
        self._armed = True

    def disarm(self) -> None:
        """The task body ended."""
        self._armed = False
        self._pending = False

    @contextmanager
    def armed(self) -> Iterator[None]:
        """The task body: the soft signal raises in here."""
        self.arm()
        try:
            yield
        finally:
            self.disarm()

    def begin_write(self) -> bool:
        """A protocol write starts: the soft signal waits until it ends. Returns whether a
        write was already under way (for `end_write`)."""
        was_writing = self._writing
        self._writing = True
        return was_writing

    def end_write(self, was_writing: bool) -> None:
        """The write started by `begin_write` ended: raises the soft limit held back meanwhile."""
        self._writing = was_writing
        if not was_writing and self._pending and self._armed:
            self._pending = False
            raise SoftTimeLimitExceeded()

    def abort_write(self, was_writing: bool) -> None:
        """The write started by `begin_write` failed: what it held back stays held."""
        self._writing = was_writing

    @contextmanager
    def writing(self) -> Iterator[None]:
        """A protocol write: the soft signal waits until the line is out."""
        was_writing = self.begin_write()
        try:
            yield
        except BaseException:
            self.abort_write(was_writing)
            raise
        self.end_write(was_writing)


soft_limit = SoftLimit()
