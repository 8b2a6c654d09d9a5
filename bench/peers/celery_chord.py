"""Celery beside `bench/canvas.sh`: a chord of N no-op members with a no-op body (or, with
`plain`, N separate no-ops) on the Redis at $REDIS_URL, every key under its own prefix so
nothing else on that Redis is touched (no flush). Submits, starts a prefork worker of C
processes, waits for the body's result (or the last result), stops the worker and prints one
line: `celery chord: submit X/s, drain Y/s (N=..., worker start included)`.

usage: celery_chord.py chord|plain   (env: N, C, REDIS_URL, PREFIX)"""

import os
import subprocess
import sys
import time

from celery import Celery, chord

N = int(os.environ.get("N", "10000"))
C = os.environ.get("C", "2")
URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
PREFIX = os.environ.get("PREFIX", "stembench_celery_%d:" % os.getpid())
QUEUE = PREFIX.rstrip(":")

app = Celery("canvasbench", broker=URL, backend=URL)
app.conf.broker_transport_options = {"global_keyprefix": PREFIX}
app.conf.result_backend_transport_options = {"global_keyprefix": PREFIX}
app.conf.task_default_queue = QUEUE
app.conf.worker_prefetch_multiplier = 4


@app.task(name="noop")
def noop(*args):
    return args[0] if args else None


def main(mode):
    t0 = time.time()
    if mode == "chord":
        result = chord(noop.s(i) for i in range(N))(noop.s())
        last = lambda: result.ready()  # noqa: E731
    else:
        results = [noop.delay(i) for i in range(N)]
        last = lambda: all(r.ready() for r in results[-50:]) and all(r.ready() for r in results)  # noqa: E731
    t1 = time.time()
    env = dict(os.environ, PREFIX=PREFIX, N=str(N))
    here = os.path.dirname(os.path.abspath(__file__))
    worker = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "celery"), "-A", "celery_chord", "worker",
         "-c", C, "--pool", "prefork", "-Q", QUEUE, "-l", "warning"],
        cwd=here, env=env, stdout=subprocess.DEVNULL, stderr=open("/tmp/stem-canvas-celery.log", "w"),
    )
    try:
        deadline = time.time() + 900
        while not last():
            if time.time() > deadline:
                sys.exit("celery %s: no result after 900 s" % mode)
            time.sleep(0.05)
        t2 = time.time()
        if mode == "chord":
            body = result.get(timeout=10)
            assert len(body) == N and body[:3] == [0, 1, 2], body[:3]
    finally:
        worker.terminate()
        worker.wait()
    print("celery %s c=%s: submit %.0f/s, drain %.0f/s (N=%d, worker start included)"
          % (mode, C, N / (t1 - t0), (N + (mode == "chord")) / (t2 - t1), N))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "chord")
