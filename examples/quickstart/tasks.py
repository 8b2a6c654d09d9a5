"""Quickstart tasks for the Python runtime of stem.toml."""

import os
import subprocess
import sys
import time

try:
    import stem_sdk  # noqa: F401  (installed with `pip install ./sdk-python`)
except ImportError:  # running from a checkout without installing the SDK
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk-python"))

from stem_sdk import SoftTimeLimitExceeded, run, task


@task("add")
def add(a, b):
    print(f"adding {a} and {b}")  # goes to stderr, logged by the worker with the task id
    return a + b


class InventoryError(Exception):
    pass


@task("fail")
def fail(item="widget"):
    raise InventoryError(f"no {item} left in stock")


@task("sleepy")
def sleepy(seconds=30):
    # A grandchild in the task's process group: the hard limit kills it too.
    subprocess.Popen(["sleep", "613"])
    try:
        time.sleep(seconds)
    except SoftTimeLimitExceeded:
        print("soft limit reached; ignoring it and sleeping on")
        time.sleep(seconds)
    return "woke up"


if __name__ == "__main__":
    run()
