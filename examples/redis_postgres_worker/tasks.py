"""Tasks for the redis_postgres_worker example."""

import os
import sys

try:
    import stem_sdk  # noqa: F401
except ImportError:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "sdk-python"))

from stem_sdk import Fatal, current, run, task


@task("charge")
def charge(customer, cents):
    if cents <= 0:
        raise Fatal(f"refusing to charge {cents} cents")
    return {"customer": customer, "charged": cents, "attempt": current.attempt}


if __name__ == "__main__":
    run()
