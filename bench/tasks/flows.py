"""Workflows for bench/workflows.sh: `ten` runs ten no-op steps and returns; `parked` waits for
an event on its own topic (it stays suspended: the memory figure); `noop` is the plain task
the ten-step chains are made of. Imports the SDK from the checkout."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk-python"))

from stem_sdk import run, task, workflow  # noqa: E402


def nothing(i):
    return i


@task("noop")
def noop(*args, **kwargs):
    return args[0] if args else None


@workflow("ten")
def ten(ctx, n):
    for i in range(10):
        ctx.step("s%d" % i, nothing, i)
    return n


@workflow("parked")
def parked(ctx, n):
    return ctx.wait_for_event("park", "park.%d" % n).payload


if __name__ == "__main__":
    run()
