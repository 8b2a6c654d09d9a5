"""No-op Python task for the drain benchmarks: imports the SDK from the checkout (no install
needed) and returns its first argument."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk-python"))

from stem_sdk import run, task  # noqa: E402


@task("noop")
def noop(*args, **kwargs):
    return args[0] if args else None


if __name__ == "__main__":
    run()
