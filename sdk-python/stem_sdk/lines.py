"""The supervisor's stream read in batches: one `read` takes whatever lines are waiting, and
the serve loop (and a workflow's step exchange) takes them one by one from memory; `waiting()`
says whether a whole line is already here, and `poll()` takes what else has arrived without
blocking (a pipelining child does so before it starts each task written ahead).

Out-of-band lines (a pipelining child's `withdraw`) are taken aside as they are read, never
queued: a line holding the marker is offered to the taker set with `set_aside`, with whether any
line is queued ahead of it, and the lines it takes do not reach `readline`; every other line (a
task's, a workflow step's `step_ack`) keeps its place in order."""

import os
import select
from collections import deque
from typing import Callable, Deque, List, Optional

READ_BYTES = 1 << 16


class LineReader:
    """Lines of a file descriptor, read in chunks of whatever is available."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._lines: Deque[bytes] = deque()
        self._partial: List[bytes] = []
        self._partial_len = 0
        self._eof = False
        self._marker = b""
        self._take_aside: Optional[Callable[[bytes, bool], bool]] = None
        self._poller: Optional["select.poll"] = None

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        os.close(self.fd)

    def set_aside(self, marker: bytes, take: Callable[[bytes, bool], bool]) -> None:
        """From now on, offer each whole line holding `marker` to `take(line, queued)` as it is
        read (`queued`: whether a line waits ahead of it): the lines `take` returns True for are
        kept out of the queue."""
        self._marker = marker
        self._take_aside = take

    def waiting(self) -> bool:
        """Whether a whole line is buffered (taking it needs no read)."""
        return bool(self._lines)

    def poll(self) -> None:
        """Takes what has arrived on the descriptor, if anything, without blocking."""
        if self._eof:
            return
        if self._poller is None:
            self._poller = select.poll()
            self._poller.register(self.fd, select.POLLIN)
        if self._poller.poll(0):
            self._fill()

    def _fill(self) -> None:
        """One read: the whole lines it completes join the queue; b"" marks EOF."""
        chunk = os.read(self.fd, READ_BYTES)
        if not chunk:
            self._eof = True
            return
        lines: List[bytes] = []
        start = 0
        end = chunk.find(b"\n")
        if end != -1 and self._partial:
            self._partial.append(chunk[: end + 1])
            lines.append(b"".join(self._partial))
            self._partial = []
            self._partial_len = 0
            start = end + 1
        if start < len(chunk):
            parts = chunk[start:].split(b"\n") if start else chunk.split(b"\n")
            tail = parts.pop()
            lines.extend(part + b"\n" for part in parts)
            if tail:
                self._partial.append(tail)
                self._partial_len += len(tail)
        take = self._take_aside
        if take is not None and lines and (self._marker in chunk or self._marker in lines[0]):
            kept: List[bytes] = []
            for line in lines:
                if self._marker not in line or not take(line, bool(kept or self._lines)):
                    kept.append(line)
            lines = kept
        self._lines.extend(lines)

    def readline(self, limit: int = -1) -> bytes:
        """The next line with its `\\n`; at EOF the unterminated rest, then b"". With `limit`,
        a longer line comes back cut at `limit` bytes (the rest follows as its own lines)."""
        while not self._lines:
            if self._eof:
                if not self._partial:
                    return b""
                self._lines.append(b"".join(self._partial))
                self._partial = []
                self._partial_len = 0
                break
            if 0 <= limit <= self._partial_len:
                rest = b"".join(self._partial)
                self._partial = [rest[limit:]] if len(rest) > limit else []
                self._partial_len = len(rest) - limit
                return rest[:limit]
            self._fill()
        line = self._lines.popleft()
        if 0 <= limit < len(line):
            self._lines.appendleft(line[limit:])
            return line[:limit]
        return line

    def __iter__(self) -> "LineReader":
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line
