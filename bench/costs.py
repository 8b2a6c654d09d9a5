"""The cost per task by stage, from folded perf stacks (inferno-collapse-perf output:
`comm;frame;...;leaf COUNT`, root first).

    python3 bench/costs.py folded.txt N [SERVER_NS]

SERVER_NS: the broker server's CPU time in ns over the run (measured outside perf).

Each sample is put under its process (the supervisor, the task children, the broker's server,
the rest) and, for the supervisor, under the stage of the frame nearest the leaf that names one
(a malloc inside the commit is the commit's). The event is `cpu-clock`, so a stack's count is
the nanoseconds of CPU it took; per task = / N."""

import re
import sys
from collections import Counter

STAGES = [
    ("pipe write (to children)", re.compile(r"pipe_write|ChildStdin|AsyncWriteExt|write_all")),
    ("pipe read (from children)", re.compile(r"pipe_read|LineReader|exec::lines|ChildStdout")),
    ("commit", re.compile(r"commit")),
    ("fetch", re.compile(r"fetch|blocking::")),
    ("broker client I/O", re.compile(r"redis::|tokio_postgres|postgres_protocol|rusqlite|sqlite3")),
    ("dispatch", re.compile(r"dispatcher::")),
    ("execution + session", re.compile(r"execution::|exec::")),
    ("observer (events, counters)", re.compile(r"observe::")),
    ("JSON (serde)", re.compile(r"serde")),
    ("malloc/free", re.compile(r"malloc|free|cfree|realloc|_int_")),
    ("tokio scheduling, wake-ups", re.compile(r"tokio::|futex|epoll|schedule|mio::")),
]


def process_of(comm):
    if comm.startswith("python") or comm.startswith("node"):
        return "task children"
    if comm.startswith("redis"):
        return "redis-server"
    if comm.startswith("postgres") or comm.startswith("postmaster"):
        return "postgres"
    if comm.startswith("stem") or comm.startswith("tokio") or comm.startswith("stem-"):
        return "supervisor"
    if comm.startswith("swapper"):
        return "idle"
    return "other"


def main():
    path, n = sys.argv[1], int(sys.argv[2])
    server_ns = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    procs, stages, others = Counter(), Counter(), Counter()
    kernel_super = 0
    for line in open(path, encoding="utf-8", errors="replace"):
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not count.isdigit():
            continue
        count = int(count)
        frames = stack.split(";")
        proc = process_of(frames[0])
        procs[proc] += count
        if proc == "other":
            others[frames[0]] += count
        if proc != "supervisor":
            continue
        if frames[-1].endswith("_[k]") or "[kernel" in frames[-1]:
            kernel_super += count
        stage = "other (spread thin)"
        for frame in reversed(frames[1:]):
            hit = next((name for name, rx in STAGES if rx.search(frame)), None)
            if hit:
                stage = hit
                break
        stages[stage] += count
    if server_ns:
        procs["broker server (from /proc)"] += server_ns
    busy = sum(v for k, v in procs.items() if k != "idle")
    if not busy:
        print("no samples")
        return

    def us(samples):
        return samples / 1e3 / n

    print("\nCPU per task by process (all CPUs, idle excluded)")
    print("  %-34s %7s %10s" % ("process", "share", "us/task"))
    for k, v in procs.most_common():
        if k != "idle":
            print("  %-34s %6.1f%% %10.1f" % (k, 100.0 * v / busy, us(v)))
    print("  (other: %s)" % ", ".join("%s %.1f" % (k, us(v)) for k, v in others.most_common(6)))
    sup = procs["supervisor"]
    if sup:
        print("\nSupervisor CPU per task by stage (kernel time %.0f%% of it)" % (100.0 * kernel_super / sup))
        print("  %-34s %7s %10s" % ("stage", "share", "us/task"))
        for k, v in stages.most_common():
            print("  %-34s %6.1f%% %10.1f" % (k, 100.0 * v / sup, us(v)))


if __name__ == "__main__":
    main()
