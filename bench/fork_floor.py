"""The fork server's floor: the bare fork() + _exit + waitpid of a warm interpreter that has
imported the SDK and the bench's task module, in C processes at once (as the worker's C fork
servers do), no protocol, no supervisor. Prints forks per second, all processes together.

    python3 bench/fork_floor.py C N        # N forks in each of C processes
"""

import gc
import os
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "sdk-python"))
sys.path.insert(0, os.path.join(here, "tasks"))
import stem_sdk  # noqa: E402,F401  (warm: what a fork server has imported)
import noop  # noqa: E402,F401


def forks(n: int) -> None:
    gc.freeze()
    for _ in range(n):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)


def main() -> None:
    c, n = int(sys.argv[1]), int(sys.argv[2])
    go_r, go_w = os.pipe()
    kids = []
    for _ in range(c):
        pid = os.fork()
        if pid == 0:
            os.close(go_w)
            os.read(go_r, 1)
            forks(n)
            os._exit(0)
        kids.append(pid)
    os.close(go_r)
    start = time.perf_counter()
    os.write(go_w, b"g" * c)
    for pid in kids:
        os.waitpid(pid, 0)
    print("%.0f" % (c * n / (time.perf_counter() - start)))


if __name__ == "__main__":
    main()
