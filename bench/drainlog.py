"""Reads one burst worker's log (STEM_LOG=info,stem::observe::log=debug: one line per outcome) and its start and exit times (epoch seconds),
and prints tab-separated: drain tasks/s (worker start to the last task recorded), wall
tasks/s (worker start to exit), tasks succeeded, tasks failed, seconds from the last task to
the exit.

usage: drainlog.py LOG T0 T1 N"""

import re
import sys
from datetime import datetime

ANSI = re.compile(r"\x1b\[[0-9;]*m")
STAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)Z")


def epoch(stamp):
    if "." in stamp:
        head, frac = stamp.split(".")
        stamp = head + "." + frac[:6]
        fmt = "%Y-%m-%dT%H:%M:%S.%f"
    else:
        fmt = "%Y-%m-%dT%H:%M:%S"
    return datetime.strptime(stamp + "+0000", fmt + "%z").timestamp()


def main():
    log, t0, t1, n = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
    ok = failed = 0
    last = None
    with open(log, errors="replace") as f:
        for line in f:
            line = ANSI.sub("", line)
            words = line.split()
            if len(words) < 3 or words[1] not in ("DEBUG", "INFO", "WARN", "ERROR"):
                continue
            kind = words[2].rstrip(":")
            if kind not in ("succeeded", "failed"):
                continue
            m = STAMP.match(line)
            if m:
                last = epoch(m.group(1))
            if kind == "succeeded":
                ok += 1
            else:
                failed += 1
    end = last if last is not None else t1
    drain = n / max(end - t0, 1e-9)
    wall = n / max(t1 - t0, 1e-9)
    print("%.0f\t%.0f\t%d\t%d\t%.2f" % (drain, wall, ok, failed, t1 - end))


if __name__ == "__main__":
    main()
