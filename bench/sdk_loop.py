"""The Python SDK's own CPU per task: `loop.execute` in this process on an in-memory channel
(no pipe, no syscall): the task line's parse, the context, the call, the answer's encoding,
each answer written as its task ends (the channel's flush, kept every 32 tasks for SDKs that
hold answers, has nothing to do). Prints the best of
ROUNDS runs of N no-op tasks as "US_CPU_PER_TASK".

usage: sdk_loop.py [N [ROUNDS]]"""

import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "sdk-python"))

from stem_sdk import loop  # noqa: E402
from stem_sdk.registry import Registry  # noqa: E402

BATCH = 32


class MemoryChannel(loop.Channel):
    """A channel whose writes land in memory: counts bytes, keeps nothing."""

    def __init__(self) -> None:
        super().__init__(-1)
        self.written = 0

    def _write_all(self, data: bytes) -> None:
        self.written += len(data)


def one_round(registry, raws):
    channel = MemoryChannel()
    flush = getattr(channel, "flush", None)
    execute = loop.execute
    loads = getattr(loop, "decode", json.loads)  # what the serve loop parses a line with
    t0 = time.process_time()
    for i, raw in enumerate(raws):
        execute(registry, channel, loads(raw))
        if flush is not None and i % BATCH == BATCH - 1:
            flush()
    if flush is not None:
        flush()
    t1 = time.process_time()
    assert channel.written > 0
    return (t1 - t0) * 1e6 / len(raws)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 50000
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    registry = Registry()
    registry.add("noop", lambda *args, **kwargs: args[0] if args else None)
    raws = [
        json.dumps({"type": "task", "id": "t%d" % i, "name": "noop", "args": [i], "kwargs": {}, "queue": "bench",
                    "attempt": 1, "retries_left": 0, "headers": {}}).encode() + b"\n"
        for i in range(n)
    ]
    print("%.2f" % min(one_round(registry, raws) for _ in range(rounds)))


if __name__ == "__main__":
    main()
