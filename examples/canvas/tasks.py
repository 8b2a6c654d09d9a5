"""Python tasks of the canvas example (served by a warm pool)."""

import os
import sys

try:
    import stem_sdk  # noqa: F401  (installed with `pip install ./sdk-python`)
except ImportError:  # running from a checkout without installing the SDK
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk-python"))

from stem_sdk import run, task


@task("square")
def square(n):
    return n * n


@task("boom")
def boom(n):
    raise ValueError("no square for %s today" % n)


@task("on_error")
def on_error(info):
    print("link_error: %s failed: %s" % (info["task_id"], (info.get("error") or {}).get("message")))
    return info["task_id"]


if __name__ == "__main__":
    run()
