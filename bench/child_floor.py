"""The floor under Stem's warm modes: drives one no-op child directly over the JSON-lines
protocol (no broker, no supervisor) and prints tasks/s for one slot, one task at a time.

usage: child_floor.py ISOLATION N CMD...   (ISOLATION: pool or forkserver; CMD defaults to
this interpreter on tasks/noop.py, or node on tasks/noop.js when CMD is "node")"""

import json
import os
import subprocess
import sys
import time


def main():
    isolation, n, cmd = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    if not cmd:
        cmd = [sys.executable, "tasks/noop.py"]
    elif cmd == ["node"]:
        cmd = ["node", "tasks/noop.js"]
    env = {"PATH": os.environ.get("PATH", ""), "STEM_PROTOCOL": "1", "STEM_ISOLATION": isolation,
           "STEM_SOFT_SIGNAL": "SIGUSR2" if "node" in os.path.basename(cmd[0]) else "SIGUSR1"}
    child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                             cwd=os.path.dirname(os.path.abspath(__file__)), bufsize=0)
    out = child.stdout
    hello = json.loads(out.readline())
    assert hello.get("type") == "hello", hello
    t0 = time.perf_counter()
    for i in range(n):
        msg = {"type": "task", "id": "t%d" % i, "name": "noop", "args": [i], "kwargs": {},
               "queue": "bench", "attempt": 1, "retries_left": 0, "headers": {}}
        child.stdin.write((json.dumps(msg) + "\n").encode())
        while True:
            reply = json.loads(out.readline())
            if reply.get("type") in ("result", "error"):
                break
        if reply["type"] != "result":
            raise SystemExit("task failed: %r" % reply)
    t1 = time.perf_counter()
    child.stdin.write(b'{"type":"shutdown"}\n')
    child.stdin.close()
    child.wait(timeout=10)
    print("%.0f" % (n / (t1 - t0)))


if __name__ == "__main__":
    main()
