"""The microservice's worker tasks."""

import os
import sys

try:
    import stem_sdk  # noqa: F401  (installed with `pip install ./sdk-python`)
except ImportError:  # running from a checkout without installing the SDK
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk-python"))

from stem_sdk import run, task


@task("resize")
def resize(image, width):
    return {"image": image, "width": width, "thumbnail": "%s@%dw" % (image, width)}


@task("add")
def add(a, b):
    return a + b


if __name__ == "__main__":
    run()
