"""The floor under Stem's warm modes: drives one no-op child directly over the JSON-lines
protocol (no broker, no supervisor) and prints tasks/s for one slot, one task at a time.

usage: child_floor.py [--depth K] [--cpu] ISOLATION N CMD...
  ISOLATION: pool or forkserver; CMD defaults to this interpreter on tasks/noop.py, or to
  CMD on tasks/noop.js when CMD is a node binary alone ("node").
  --depth K  keep K task lines in flight (written together, topped up as answers come, one
             write per top-up) instead of one at a time.
  --cpu      print "TASKS/S US_WALL_PER_TASK US_CHILD_CPU_PER_TASK" instead of TASKS/S alone
             (the child's user+system CPU over the run, every thread, from /proc)."""

import json
import os
import subprocess
import sys
import time


def task_line(i):
    msg = {"type": "task", "id": "t%d" % i, "name": "noop", "args": [i], "kwargs": {},
           "queue": "bench", "attempt": 1, "retries_left": 0, "headers": {}}
    return (json.dumps(msg) + "\n").encode()


def child_cpu_ns(pid):
    """CPU the process has used, every thread, in ns (schedstat), else from stat's ticks."""
    total = 0
    try:
        for tid in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                total += int(f.read().split()[0])
        return total
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * 10**9 // os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0


class Replies:
    """The child's stdout read in chunks, counted in answers (`result`/`error` lines)."""

    def __init__(self, fd):
        self.fd = fd
        self.tail = b""

    def hello(self):
        while b"\n" not in self.tail:
            self.read()
        line, self.tail = self.tail.split(b"\n", 1)
        return json.loads(line)

    def read(self):
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:
            raise SystemExit("the child closed stdout")
        self.tail += chunk

    def answers(self):
        """Reads once; the number of whole answers that came (a failed task ends the run)."""
        self.read()
        lines = self.tail.split(b"\n")
        self.tail = lines.pop()
        done = 0
        for line in lines:
            if b'"type":"result"' in line or b'"type": "result"' in line:
                done += 1
            elif b'"type":"error"' in line or b'"type": "error"' in line:
                raise SystemExit("task failed: %r" % line[:300])
        return done


def main():
    argv = sys.argv[1:]
    depth, cpu = 1, False
    while argv and argv[0].startswith("--"):
        flag = argv.pop(0)
        if flag == "--depth":
            depth = int(argv.pop(0))
        elif flag == "--cpu":
            cpu = True
        else:
            raise SystemExit("child_floor.py: unknown flag %s" % flag)
    isolation, n, cmd = argv[0], int(argv[1]), argv[2:]
    if not cmd:
        cmd = [sys.executable, "tasks/noop.py"]
    elif len(cmd) == 1 and os.path.basename(cmd[0]).startswith("node"):
        cmd = [cmd[0], "tasks/noop.js"]
    env = {"PATH": os.environ.get("PATH", ""), "STEM_PROTOCOL": "1", "STEM_ISOLATION": isolation,
           "STEM_SOFT_SIGNAL": "SIGUSR2" if "node" in os.path.basename(cmd[0]) else "SIGUSR1"}
    child = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                             cwd=os.path.dirname(os.path.abspath(__file__)), bufsize=0)
    lines = [task_line(i) for i in range(n)]
    replies = Replies(child.stdout.fileno())
    hello = replies.hello()
    assert hello.get("type") == "hello", hello
    stdin = child.stdin.fileno()
    cpu0 = child_cpu_ns(child.pid)
    t0 = time.perf_counter()
    sent = min(depth, n)
    os.write(stdin, b"".join(lines[:sent]))
    done = 0
    while done < n:
        got = replies.answers()
        done += got
        if got and sent < n:
            more = min(got, n - sent)
            os.write(stdin, b"".join(lines[sent:sent + more]))
            sent += more
    t1 = time.perf_counter()
    cpu1 = child_cpu_ns(child.pid)
    os.write(stdin, b'{"type":"shutdown"}\n')
    child.stdin.close()
    child.wait(timeout=10)
    if cpu:
        print("%.0f %.1f %.1f" % (n / (t1 - t0), (t1 - t0) * 1e6 / n, (cpu1 - cpu0) / 1e3 / n))
    else:
        print("%.0f" % (n / (t1 - t0)))


if __name__ == "__main__":
    main()
