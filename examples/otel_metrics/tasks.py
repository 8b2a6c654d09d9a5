"""The example's tasks: a quick one, a slower one, and one that fails now and then."""

import random
import time

from stem_sdk import run, task


@task
def add(a, b):
    return a + b


@task
def resize(size):
    time.sleep(random.uniform(0.01, 0.05))
    return {"resized": size}


@task
def flaky(n):
    if n % 10 == 0:
        raise ValueError("every tenth one fails")
    return n


if __name__ == "__main__":
    run()
