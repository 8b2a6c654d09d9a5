"""Python tasks for the python_pool example: served by warm, reused children."""

import os
import sys

try:
    import stem_sdk  # noqa: F401  (installed with `pip install ./sdk-python`)
except ImportError:  # running from a checkout
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk-python"))

from stem_sdk import current, run, task


@task("resize")
def resize(width, height, scale=0.5):
    current.progress({"stage": "resizing"})
    return {"width": int(width * scale), "height": int(height * scale), "pid": os.getpid()}


if __name__ == "__main__":
    run()
