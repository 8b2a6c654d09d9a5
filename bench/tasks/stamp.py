"""Latency probe for bench/latency.sh: `stamp(t)` returns the ms between `t`, the producer's
CLOCK_MONOTONIC timestamp taken just before it published, and the moment the task function
starts in the child (the same clock, shared by every process on the machine)."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk-python"))

from stem_sdk import run, task  # noqa: E402


@task("stamp")
def stamp(t=None, *args, **kwargs):
    started = time.monotonic() * 1000
    return None if t is None else started - t


if __name__ == "__main__":
    run()
