"""The supervisor's stream read in batches: one `read` takes whatever lines are waiting, and
the serve loop (and a workflow's step exchange) takes them one by one from memory; `waiting()`
says whether a whole line is already here, so the loop writes a batch's answers only when it
has run every task the batch brought."""

import os
from collections import deque
from typing import Deque, List

READ_BYTES = 1 << 16


class LineReader:
    """Lines of a file descriptor, read in chunks of whatever is available."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._lines: Deque[bytes] = deque()
        self._partial: List[bytes] = []
        self._partial_len = 0
        self._eof = False

    def fileno(self) -> int:
        return self.fd

    def close(self) -> None:
        os.close(self.fd)

    def waiting(self) -> bool:
        """Whether a whole line is buffered (taking it needs no read)."""
        return bool(self._lines)

    def _fill(self) -> None:
        """One read: the whole lines it completes join the queue; b"" marks EOF."""
        chunk = os.read(self.fd, READ_BYTES)
        if not chunk:
            self._eof = True
            return
        start = 0
        end = chunk.find(b"\n")
        if end != -1 and self._partial:
            self._partial.append(chunk[: end + 1])
            self._lines.append(b"".join(self._partial))
            self._partial = []
            self._partial_len = 0
            start = end + 1
        if start < len(chunk):
            parts = chunk[start:].split(b"\n") if start else chunk.split(b"\n")
            tail = parts.pop()
            self._lines.extend(part + b"\n" for part in parts)
            if tail:
                self._partial.append(tail)
                self._partial_len += len(tail)

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
