"""The monolith's background task: what the web request should not wait for."""

import os
import sys

try:
    import stem_sdk  # noqa: F401  (installed with `pip install ./sdk-python`)
except ImportError:  # running from a checkout without installing the SDK
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk-python"))

from stem_sdk import run, task


@task("send_welcome")
def send_welcome(email):
    if "@" not in email:
        raise ValueError("not an email address: %r" % email)
    return "welcome mail sent to %s" % email


if __name__ == "__main__":
    run()
